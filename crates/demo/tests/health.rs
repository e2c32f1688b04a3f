//! Does the shipped scorecard see churn coming on the demo data? For every renewal decided in the
//! window, the account is scored as it stood 90 days before the renewal date (from the daily
//! rollups and the records dated before then, nothing later), and the bands are compared.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use chrono::{Duration, NaiveDate};
use kizuna_demo::{load, DemoOptions};
use kizuna_domain::health::HealthBand;
use kizuna_domain::indicator::AdoptionSettings;
use kizuna_domain::subscription::SubscriptionStatus;
use kizuna_store::{testing, AccountFilter, UsageSource};

fn today() -> NaiveDate {
    "2026-11-24".parse().unwrap()
}

fn quiet(_: &str, _: usize, _: usize) {}

#[tokio::test]
async fn default_scorecard_flags_churn_ninety_days_ahead() {
    let options = DemoOptions {
        accounts: 300,
        ..DemoOptions::new(today())
    };
    let db = testing::sqlite().await;
    load(&db.store, &options, &quiet).await.unwrap();
    let store = &db.store;
    let adoption = AdoptionSettings::default();

    let mut decisions = Vec::new();
    let mut offset = 0;
    loop {
        let page = store
            .list_accounts(&AccountFilter {
                limit: Some(500),
                offset: Some(offset),
                ..Default::default()
            })
            .await
            .unwrap();
        for acc in &page.items {
            for s in store.list_subscriptions(acc.id).await.unwrap() {
                // Decided in the window, with usage history 90 days before the renewal.
                let decided = s.end_date < today() && s.end_date >= today() - Duration::days(300);
                if decided && s.status != SubscriptionStatus::Active {
                    decisions.push((acc.id, s.end_date, s.status == SubscriptionStatus::Churned));
                }
            }
        }
        match page.next_offset {
            Some(n) => offset = n,
            None => break,
        }
    }
    // (churned?, band) → count
    let mut counts = std::collections::BTreeMap::new();
    let mut scores: (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    for (account, renewal, churned) in &decisions {
        let lead = *renewal - Duration::days(90);
        let Some(e) = store
            .explain_account_on(*account, lead, UsageSource::Rollups, &adoption)
            .await
            .unwrap()
        else {
            continue;
        };
        let (Some(score), Some(band)) = (e.health.score, e.health.band) else {
            continue;
        };
        *counts.entry((*churned, band)).or_insert(0usize) += 1;
        if *churned {
            scores.0.push(score);
        } else {
            scores.1.push(score);
        }
    }
    let n = |churned: bool, band: HealthBand| counts.get(&(churned, band)).copied().unwrap_or(0);
    let churned = scores.0.len();
    let renewed = scores.1.len();
    let churned_flagged = n(true, HealthBand::Red) + n(true, HealthBand::Yellow);
    let renewed_green = n(false, HealthBand::Green);
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    eprintln!(
        "renewals scored 90 days ahead: churned {churned} (red {}, yellow {}, green {}; mean score {:.1}), \
         renewed {renewed} (red {}, yellow {}, green {}; mean score {:.1})",
        n(true, HealthBand::Red),
        n(true, HealthBand::Yellow),
        n(true, HealthBand::Green),
        mean(&scores.0),
        n(false, HealthBand::Red),
        n(false, HealthBand::Yellow),
        n(false, HealthBand::Green),
        mean(&scores.1),
    );
    assert!(churned >= 10, "enough churns to judge: {churned}");
    assert!(
        churned_flagged * 10 >= churned * 6,
        "most accounts that churned were red or yellow 90 days before: {churned_flagged} of {churned}"
    );
    assert!(
        renewed_green * 2 > renewed,
        "most renewing accounts were green: {renewed_green} of {renewed}"
    );
    db.cleanup().await;
}
