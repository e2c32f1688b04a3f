//! `kizuna bench score`: a full health recompute over a synthetic account base, and the recompute
//! of one account after one new event.
//!
//! The data is synthesised in SQL (accounts, one subscription each, 90 days of account-day usage
//! rollups, and the latest-use rows a recompute reads for users and features), because writing
//! millions of rows through the API would take far longer than the recompute being measured.

use std::time::Instant;

use chrono::{Duration, NaiveDate, Utc};
use kizuna_domain::ids::AccountId;
use kizuna_domain::indicator::AdoptionSettings;
use kizuna_domain::usage::NewUsageEvent;
use kizuna_store::testing;
use kizuna_store::Backend;
use serde_json::{json, Value};

use crate::{peak_rss_mb, Target};

#[derive(Debug, Clone)]
pub struct ScoreOptions {
    pub accounts: usize,
    pub days: usize,
    pub features: usize,
    /// Users per account in the latest-use table.
    pub users: usize,
    /// Single-account recomputes to time.
    pub singles: usize,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            accounts: 100_000,
            days: 90,
            features: 20,
            users: 10,
            singles: 200,
        }
    }
}

pub(crate) fn synthesis(backend: Backend, o: &ScoreOptions, today: NaiveDate) -> Vec<String> {
    let n = o.accounts;
    let d = o.days;
    let f = o.features;
    let u = o.users;
    let start = today - Duration::days(d as i64 - 1);
    let now = Utc::now().to_rfc3339();
    match backend {
        Backend::Sqlite => vec![
            format!(
                "WITH RECURSIVE a(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM a WHERE i < {n}) \
                 INSERT INTO accounts (id, name, name_lower, coverage_tier, lifecycle_stage, currency, seats, \
                 renewal_date, created_at, updated_at) SELECT i, 'Bench ' || i, 'bench ' || i, \
                 CASE i % 3 WHEN 0 THEN 'high_touch' WHEN 1 THEN 'mid_touch' ELSE 'tech_touch' END, 'adoption', 'JPY', 20, \
                 date('{today}', '+' || (i % 365) || ' days'), '{now}', '{now}' FROM a"
            ),
            format!(
                "INSERT INTO subscriptions (account_id, product, mrr_minor, currency, seats, start_date, end_date, status, \
                 created_at, updated_at) SELECT id, 'Kizuna', 100000, 'JPY', 20, date('{today}', '-200 days'), \
                 renewal_date, 'active', '{now}', '{now}' FROM accounts"
            ),
            format!(
                "WITH RECURSIVE x(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM x WHERE j < {f}) \
                 INSERT INTO features (key, is_key, weight, first_seen_at) SELECT 'feature ' || j, j <= {f} / 2, 1, '{now}' FROM x"
            ),
            format!(
                "WITH RECURSIVE a(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM a WHERE i < {n}), \
                 x(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM x WHERE j < {d} - 1) \
                 INSERT INTO usage_account_daily (account_id, day, events, active_users) \
                 SELECT i, date('{start}', '+' || j || ' days'), (i * 7 + j * 3) % 60 + 1, (i + j) % 10 + 1 FROM a, x"
            ),
            format!(
                "WITH RECURSIVE a(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM a WHERE i < {n}), \
                 x(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM x WHERE k < {u}) \
                 INSERT INTO usage_user_last (account_id, user_key, last_day) \
                 SELECT i, 'u' || k, date('{today}', '-' || ((i + k * 5) % 45) || ' days') FROM a, x"
            ),
            format!(
                "WITH RECURSIVE a(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM a WHERE i < {n}) \
                 INSERT INTO usage_feature_last (account_id, feature_id, last_day) \
                 SELECT i, f.id, date('{today}', '-' || ((i * 3 + f.id) % 45) || ' days') FROM a, features f"
            ),
            "DELETE FROM score_queue".into(),
            "ANALYZE".into(),
        ],
        Backend::Postgres => vec![
            "ALTER TABLE usage_account_daily DISABLE TRIGGER USER".into(),
            "ALTER TABLE accounts DISABLE TRIGGER USER".into(),
            format!(
                "INSERT INTO accounts (id, name, name_lower, coverage_tier, lifecycle_stage, currency, seats, \
                 renewal_date, created_at, updated_at) SELECT i, 'Bench ' || i, 'bench ' || i, \
                 CASE i % 3 WHEN 0 THEN 'high_touch' WHEN 1 THEN 'mid_touch' ELSE 'tech_touch' END, 'adoption', 'JPY', 20, \
                 DATE '{today}' + (i % 365)::int, now(), now() FROM generate_series(1, {n}) i"
            ),
            "SELECT setval('accounts_id_seq', (SELECT MAX(id) FROM accounts))".into(),
            format!(
                "INSERT INTO subscriptions (account_id, product, mrr_minor, currency, seats, start_date, end_date, status, \
                 created_at, updated_at) SELECT id, 'Kizuna', 100000, 'JPY', 20, DATE '{today}' - 200, \
                 renewal_date, 'active', now(), now() FROM accounts"
            ),
            format!(
                "INSERT INTO features (key, is_key, weight, first_seen_at) SELECT 'feature ' || j, j <= {f} / 2, 1, now() \
                 FROM generate_series(1, {f}) j"
            ),
            format!(
                "INSERT INTO usage_account_daily (account_id, day, events, active_users) \
                 SELECT i, DATE '{start}' + j, (i * 7 + j * 3) % 60 + 1, (i + j) % 10 + 1 \
                 FROM generate_series(1, {n}) i, generate_series(0, {d} - 1) j"
            ),
            format!(
                "INSERT INTO usage_user_last (account_id, user_key, last_day) \
                 SELECT i, 'u' || k, DATE '{today}' - ((i + k * 5) % 45)::int FROM generate_series(1, {n}) i, generate_series(1, {u}) k"
            ),
            format!(
                "INSERT INTO usage_feature_last (account_id, feature_id, last_day) \
                 SELECT i, f.id, DATE '{today}' - ((i * 3 + f.id) % 45)::int FROM generate_series(1, {n}) i, features f"
            ),
            "ALTER TABLE usage_account_daily ENABLE TRIGGER USER".into(),
            "ALTER TABLE accounts ENABLE TRIGGER USER".into(),
            "DELETE FROM score_queue".into(),
            "ANALYZE".into(),
        ],
    }
}

pub async fn run(target: &Target, o: &ScoreOptions) -> anyhow::Result<Value> {
    let db = target.scratch().await?;
    let store = &db.store;
    let today = Utc::now().date_naive();
    let started = Instant::now();
    for sql in synthesis(store.backend(), o, today) {
        testing::execute(store, &sql).await?;
    }
    let load_seconds = started.elapsed().as_secs_f64();
    let rollup_rows = (o.accounts * (o.days + o.users + o.features)) as u64;
    let adoption = AdoptionSettings::default();
    store.ensure_default_scorecard().await?;
    testing::execute(store, "DELETE FROM score_queue").await?;

    let rss_after_load = peak_rss_mb();
    // Reset the peak so `peak_rss_mb` is the recompute's own (Linux: clear_refs 5 resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let t = Instant::now();
    let run = store.score_all(today, &adoption).await?;
    let seconds = t.elapsed().as_secs_f64();
    // A second full pass: the snapshots of today exist and are overwritten.
    let t = Instant::now();
    store.score_all(today, &adoption).await?;
    let second_seconds = t.elapsed().as_secs_f64();

    // One new event for an account, then its recompute.
    let mut singles = Vec::with_capacity(o.singles);
    for k in 0..o.singles {
        let id = (k * 7919 % o.accounts + 1) as i64;
        let at = Utc::now();
        store
            .record_usage(&[NewUsageEvent {
                message_id: format!("bench-single-{k}"),
                account_external_id: None,
                user_id: None,
                anonymous_id: Some(format!("anon-{k}")),
                feature: "feature 1".into(),
                occurred_at: at,
                received_at: at,
                properties: None,
            }])
            .await?;
        let t = Instant::now();
        store.score_account(AccountId(id), &adoption).await?;
        singles.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    singles.sort_by(f64::total_cmp);
    let pct = |p: f64| singles[((singles.len() as f64 * p) as usize).min(singles.len() - 1)];
    let result = json!({
        "benchmark": "score",
        "backend": target.name(),
        "accounts": run.accounts,
        "scored": run.scored,
        "rollup_rows": rollup_rows,
        "days": o.days,
        "features": o.features,
        "seconds": round(seconds),
        "accounts_per_s": round(run.accounts as f64 / seconds),
        "second_pass_seconds": round(second_seconds),
        "single_account_ms_p50": round(pct(0.5)),
        "single_account_ms_p99": round(pct(0.99)),
        "load_seconds": round(load_seconds),
        "peak_rss_mb": round(peak_rss_mb()),
        "peak_rss_mb_during_load": round(rss_after_load),
    });
    db.cleanup().await;
    Ok(result)
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
