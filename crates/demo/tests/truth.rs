//! The demo data hides a known story (docs/demo-data.md). These tests check that the story is in
//! the data as the product stores it, and that the same seed gives the same data.

// Test helpers may panic: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, NaiveDate};
use kizuna_demo::{load, DemoOptions};
use kizuna_domain::account::LifecycleStage;
use kizuna_domain::revenue::MovementKind;
use kizuna_domain::subscription::SubscriptionStatus;
use kizuna_store::{testing, AccountFilter, Store, UsageQuery};

fn today() -> NaiveDate {
    "2026-11-24".parse().unwrap()
}

fn quiet(_: &str, _: usize, _: usize) {}

async fn all_accounts(store: &Store) -> Vec<kizuna_domain::account::Account> {
    let mut out = Vec::new();
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
        out.extend(page.items);
        match page.next_offset {
            Some(n) => offset = n,
            None => return out,
        }
    }
}

#[tokio::test]
async fn same_seed_same_data_and_a_realistic_portfolio() {
    let options = DemoOptions {
        accounts: 500,
        usage: false,
        ..DemoOptions::new(today())
    };
    let a = testing::sqlite().await;
    let b = testing::sqlite().await;
    let sa = load(&a.store, &options, &quiet).await.unwrap();
    let sb = load(&b.store, &options, &quiet).await.unwrap();
    assert_eq!(sa, sb);
    let accounts_a = all_accounts(&a.store).await;
    let accounts_b = all_accounts(&b.store).await;
    let key = |acc: &kizuna_domain::account::Account| {
        (
            acc.name.clone(),
            acc.mrr,
            acc.renewal_date,
            acc.lifecycle_stage,
        )
    };
    assert_eq!(
        accounts_a.iter().map(key).collect::<Vec<_>>(),
        accounts_b.iter().map(key).collect::<Vec<_>>()
    );

    // Every lifecycle stage, Japanese and English names, owned and unowned accounts.
    let stages: BTreeSet<LifecycleStage> = accounts_a.iter().map(|a| a.lifecycle_stage).collect();
    assert_eq!(stages.len(), LifecycleStage::ALL.len(), "{stages:?}");
    assert!(accounts_a.iter().any(|a| a.name.contains("株式会社")));
    assert!(accounts_a.iter().any(|a| a.name.is_ascii()));
    assert!(accounts_a.iter().any(|a| a.owner_id.is_none()));
    assert_eq!(a.store.list_users().await.unwrap().len(), 8);

    // Logo churn of about 10-15 % a year: churns in the 400 days over the accounts paying before.
    let churned = accounts_a.iter().filter(|a| a.churned_on.is_some()).count() as f64;
    let rate = churned / accounts_a.len() as f64 * 365.0 / 400.0;
    assert!((0.08..=0.18).contains(&rate), "annual logo churn {rate:.3}");
    // Renewals to come and expansions in the past.
    assert!(
        accounts_a
            .iter()
            .filter(|a| a.renewal_date.is_some_and(|d| d > today()))
            .count()
            > 300
    );
    let mut kinds = BTreeSet::new();
    for acc in accounts_a.iter().take(200) {
        kinds.extend(
            a.store
                .list_revenue_movements(acc.id)
                .await
                .unwrap()
                .iter()
                .map(|m| m.kind),
        );
    }
    for k in [
        MovementKind::New,
        MovementKind::Expansion,
        MovementKind::Contraction,
        MovementKind::Churn,
    ] {
        assert!(kinds.contains(&k), "{k} among {kinds:?}");
    }
    a.cleanup().await;
    b.cleanup().await;
}

/// Per outcome: active users per seat, tickets, NPS answers, each as they stood 90 days before.
type Measures = (Vec<f64>, Vec<f64>, Vec<f64>);

/// Averages of a measure over two groups of accounts.
fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

#[tokio::test]
async fn accounts_that_left_drifted_away_before_their_renewal() {
    let options = DemoOptions {
        accounts: 160,
        ..DemoOptions::new(today())
    };
    let db = testing::sqlite().await;
    let summary = load(&db.store, &options, &quiet).await.unwrap();
    assert!(summary.usage_events > 50_000, "{summary:?}");
    let store = &db.store;

    // Renewal decisions in the window: (account, renewal day, churned?), seen 90 days before.
    let mut decisions = Vec::new();
    for acc in all_accounts(store).await {
        for s in store.list_subscriptions(acc.id).await.unwrap() {
            let decided = s.end_date < today() && s.end_date >= today() - Duration::days(400);
            if decided
                && s.status != SubscriptionStatus::Active
                && s.start_date < s.end_date - Duration::days(200)
            {
                decisions.push((
                    acc.id,
                    s.end_date,
                    s.status == SubscriptionStatus::Churned,
                    s.seats,
                ));
            }
        }
    }
    let churns = decisions.iter().filter(|d| d.2).count();
    assert!(churns >= 8, "enough churns to compare: {churns}");

    let mut by_outcome: HashMap<bool, Measures> = HashMap::new();
    for (account, renewal, churned, seats) in &decisions {
        let lead = *renewal - Duration::days(90);
        let usage = store
            .account_usage(
                *account,
                &UsageQuery {
                    from: lead - Duration::days(30),
                    to: lead,
                    feature: None,
                },
            )
            .await
            .unwrap();
        let active: f64 = usage
            .days
            .iter()
            .map(|d| d.active_users as f64)
            .sum::<f64>()
            / 30.0
            / (*seats).max(1) as f64;
        let tickets = store
            .list_tickets(*account, Some(500), None)
            .await
            .unwrap()
            .items;
        let recent_tickets = tickets
            .iter()
            .filter(|t| {
                t.opened_at.date_naive() <= lead
                    && t.opened_at.date_naive() > lead - Duration::days(90)
            })
            .count() as f64;
        let entry = by_outcome.entry(*churned).or_default();
        entry.0.push(active);
        entry.1.push(recent_tickets);
        for r in store
            .list_survey_responses(*account, Some(500), None)
            .await
            .unwrap()
            .items
        {
            let day = r.responded_at.date_naive();
            if day <= lead && day > lead - Duration::days(180) {
                entry.2.push(f64::from(r.score.value()));
            }
        }
    }
    let (left, stayed) = (&by_outcome[&true], &by_outcome[&false]);
    assert!(
        mean(&left.0) < 0.8 * mean(&stayed.0),
        "active users per seat: left {} stayed {}",
        mean(&left.0),
        mean(&stayed.0)
    );
    assert!(
        mean(&left.1) > mean(&stayed.1),
        "tickets: left {} stayed {}",
        mean(&left.1),
        mean(&stayed.1)
    );
    assert!(
        mean(&left.2) < mean(&stayed.2),
        "NPS: left {} stayed {}",
        mean(&left.2),
        mean(&stayed.2)
    );
    // Noise: no single measure separates the groups completely.
    let max_left = left.0.iter().cloned().fold(0.0, f64::max);
    let min_stayed = stayed.0.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        max_left > min_stayed,
        "usage alone must not give the outcome away"
    );
    db.cleanup().await;
}
