//! `kizuna bench rules`: the daily pass over ten rules on a synthetic account base — the first
//! pass (conditions, firings and their tasks written) and a second pass the same day (conditions
//! only: every match fired already), with time and peak memory.
//!
//! The accounts, usage rollups and latest-use rows come from the score benchmark's synthesis;
//! one health recompute then fills the indicators the rules read.

use std::time::Instant;

use chrono::Utc;
use kizuna_domain::automation::RuleSpec;
use kizuna_domain::indicator::AdoptionSettings;
use kizuna_store::{testing, Actor, AutomationContext};
use serde_json::{json, Value};

use crate::score::{synthesis, ScoreOptions};
use crate::{peak_rss_mb, Target};

/// Five rules beside the five daily defaults, over the indicators and account fields.
fn extra_rules() -> Vec<RuleSpec> {
    let task = |title: &str, reason: &str| json!({"kind": "create_task", "title": title, "reason": reason});
    let specs = [
        (
            "low_adoption",
            "adoption_index < 20.0 && lifecycle_stage == 'adoption'",
            task("Low adoption", "training"),
        ),
        (
            "inactive_14d",
            "days_since_activity > 14.0",
            task("No activity for two weeks", "engagement"),
        ),
        (
            "ticket_load",
            "open_tickets >= 5.0",
            task("Many open tickets", "support"),
        ),
        (
            "high_touch_yellow",
            "coverage_tier == 'high_touch' && health_band == 'yellow'",
            task("High-touch account is yellow", "engagement"),
        ),
        (
            "few_users",
            "active_users < 3.0 && seats >= 10",
            task("Few active users for the seats", "onboarding"),
        ),
    ];
    specs
        .into_iter()
        .map(|(key, condition, action)| {
            serde_json::from_value(json!({
                "key": key, "name": key, "trigger": {"kind": "daily"}, "condition": condition, "actions": [action]
            }))
            .unwrap_or_else(|e| unreachable!("bench rule {key}: {e}"))
        })
        .collect()
}

pub async fn run(target: &Target, accounts: usize) -> anyhow::Result<Value> {
    let db = target.scratch().await?;
    let store = &db.store;
    let today = Utc::now().date_naive();
    let options = ScoreOptions {
        accounts,
        ..Default::default()
    };
    for sql in synthesis(store.backend(), &options, today) {
        testing::execute(store, &sql).await?;
    }
    store.ensure_default_scorecard().await?;
    store.score_all(today, &AdoptionSettings::default()).await?;
    store.seed_automation_defaults().await?;
    let actor = Actor::System("bench");
    for r in extra_rules() {
        store.create_rule(r, &actor).await?;
    }
    let rules = store.list_rules().await?;
    let daily = rules.iter().filter(|r| r.spec.trigger.is_daily()).count();
    let ctx = AutomationContext::default();

    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = peak_rss_mb();
    let t = Instant::now();
    let first = store.run_daily_rules(today, &ctx).await?;
    let first_seconds = t.elapsed().as_secs_f64();
    let first_rss = peak_rss_mb();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let t = Instant::now();
    let second = store.run_daily_rules(today, &ctx).await?;
    let second_seconds = t.elapsed().as_secs_f64();
    let result = json!({
        "benchmark": "rules",
        "backend": target.name(),
        "accounts": first.accounts_checked,
        "rules": daily,
        "first_pass_seconds": round(first_seconds),
        "first_pass_matches": first.matches,
        "first_pass_firings": first.firings,
        "first_pass_tasks": first.effects.tasks_created,
        "first_pass_peak_rss_mb": round(first_rss),
        "first_pass_read_seconds": round(first.read_seconds),
        "first_pass_evaluate_seconds": round(first.evaluate_seconds),
        "first_pass_write_seconds": round(first.write_seconds),
        "rss_before_mb": round(rss_before),
        "second_pass_seconds": round(second_seconds),
        "second_pass_matches": second.matches,
        "second_pass_firings": second.firings,
        "second_pass_read_seconds": round(second.read_seconds),
        "second_pass_evaluate_seconds": round(second.evaluate_seconds),
        "second_pass_write_seconds": round(second.write_seconds),
        "second_pass_peak_rss_mb": round(peak_rss_mb()),
        "not_evaluable": first.not_evaluable,
    });
    db.cleanup().await;
    Ok(result)
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
