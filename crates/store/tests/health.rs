//! Health recompute on both backends: indicators from real rows, snapshots, the change queue,
//! manual scores and scorecard management.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use chrono::{Duration, Utc};
use kizuna_domain::account::AccountDraft;
use kizuna_domain::contact::{ContactDraft, ContactRole};
use kizuna_domain::indicator::AdoptionSettings;
use kizuna_domain::scorecard::{default_scorecard, ManualScore, Scorecard};
use kizuna_domain::subscription::{SubscriptionDraft, SubscriptionStatus};
use kizuna_domain::survey::SurveyResponseDraft;
use kizuna_domain::ticket::{TicketDraft, TicketSeverity};
use kizuna_domain::usage::NewUsageEvent;
use kizuna_store::testing::{self, TestDb};
use kizuna_store::{Actor, Store, StoreError, UsageSource};

const ACTOR: Actor = Actor::System("test");

async fn on_each_backend<F, Fut>(check: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in testing::all().await {
        let TestDb { store, .. } = &db;
        eprintln!("backend: {}", store.backend());
        check(store.clone()).await;
        db.cleanup().await;
    }
}

fn event(id: &str, group: &str, user: &str, feature: &str, days_ago: i64) -> NewUsageEvent {
    let at = Utc::now() - Duration::days(days_ago);
    NewUsageEvent {
        message_id: id.into(),
        account_external_id: Some(group.into()),
        user_id: Some(user.into()),
        anonymous_id: None,
        feature: feature.into(),
        occurred_at: at,
        received_at: at,
        properties: None,
    }
}

#[tokio::test]
async fn recompute_scores_explains_and_follows_changes() {
    on_each_backend(|store| async move {
        let today = Utc::now().date_naive();
        let adoption = AdoptionSettings::default();
        let a = store
            .create_account(
                AccountDraft {
                    name: Some("Kappa".into()),
                    external_id: Some("g-kappa".into()),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
        store
            .create_subscription(
                Some(a.id),
                SubscriptionDraft {
                    mrr: Some(1000.0),
                    seats: Some(4),
                    start_date: Some(today - Duration::days(200)),
                    end_date: Some(today + Duration::days(165)),
                    status: Some(SubscriptionStatus::Active),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
        store
            .create_contact(
                Some(a.id),
                ContactDraft {
                    external_id: Some("u1".into()),
                    email: Some("u1@kappa.jp".into()),
                    roles: Some(vec![ContactRole::Champion]),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
        // u1 and u2 active in the last 30 days, u3 only before; 6 events now vs 2 before.
        let mut events = Vec::new();
        for (i, (user, feature, ago)) in [
            ("u1", "Report Created", 1),
            ("u1", "Report Created", 2),
            ("u1", "Dashboard Viewed", 3),
            ("u2", "Dashboard Viewed", 5),
            ("u2", "Dashboard Viewed", 6),
            ("u2", "Search", 10),
            ("u3", "Dashboard Viewed", 40),
            ("u3", "Search", 45),
        ]
        .into_iter()
        .enumerate()
        {
            events.push(event(&format!("m{i}"), "g-kappa", user, feature, ago));
        }
        store.record_usage(&events).await.unwrap();
        store
            .create_ticket(
                Some(a.id),
                TicketDraft {
                    subject: Some("遅い".into()),
                    severity: Some(TicketSeverity::High),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
        store
            .create_survey_response(
                Some(a.id),
                SurveyResponseDraft {
                    score: Some(9),
                    survey: Some("nps".into()),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();

        // Today's figures are the same whether read from the latest-use tables or the rollups.
        let latest = store
            .indicators_on(a.id, today, UsageSource::Latest, &adoption)
            .await
            .unwrap()
            .unwrap();
        let rollups = store
            .indicators_on(a.id, today, UsageSource::Rollups, &adoption)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest, rollups);
        assert_eq!(latest.active_users, Some(2.0));
        assert_eq!(latest.seat_utilization, Some(0.5));
        assert_eq!(latest.usage_trend, Some(200.0));
        assert_eq!(latest.days_since_activity, Some(1.0));
        assert_eq!(latest.depth, Some(3.0));
        // No key features marked: breadth counts all three features, all used lately.
        assert_eq!(latest.breadth, Some(1.0));
        assert_eq!(latest.open_tickets, Some(3.0));
        assert_eq!(latest.nps_latest, Some(9.0));
        assert_eq!(latest.champion_active, Some(1.0));
        assert_eq!(latest.days_to_renewal, Some(165.0));

        // The writes above queued the account.
        assert!(store.score_queue_len().await.unwrap() >= 1);
        let run = store.score_all(today, &adoption).await.unwrap();
        assert_eq!((run.accounts, run.scored), (1, 1));
        assert_eq!(store.score_queue_len().await.unwrap(), 0);
        let snap = store.snapshot_on(a.id, today).await.unwrap().unwrap();
        let score = snap.score.unwrap();
        let acc = store.account(a.id).await.unwrap();
        assert_eq!(acc.health_score, Some(score));
        assert_eq!(acc.health_band, snap.band);
        let card = Scorecard::parse(default_scorecard()).unwrap();
        assert_eq!(snap.band, Some(card.band(score)));
        // A preview with the same scorecard moves nothing; one whose red band reaches 99 moves
        // this account to red (unless it is red already).
        let same = store.preview_scorecard(&card, today).await.unwrap();
        assert_eq!((same.applies, same.moved), (1, 0), "{same:?}");
        let mut strict = default_scorecard();
        strict.bands = vec![
            kizuna_domain::scorecard::BandRange {
                band: kizuna_domain::health::HealthBand::Red,
                min: 0,
                max: 99,
            },
            kizuna_domain::scorecard::BandRange {
                band: kizuna_domain::health::HealthBand::Green,
                min: 100,
                max: 100,
            },
        ];
        let strict = store
            .preview_scorecard(&Scorecard::parse(strict).unwrap(), today)
            .await
            .unwrap();
        if snap.band != Some(kizuna_domain::health::HealthBand::Red) {
            assert_eq!(
                (strict.moved, strict.worse, strict.better),
                (1, 1, 0),
                "{strict:?}"
            );
            assert_eq!(strict.transitions[0].to, "red");
        }
        // Contributions add up to the score.
        let sum: f64 = snap.measures.iter().filter_map(|m| m.contribution).sum();
        assert!((sum - score).abs() < 0.1, "{sum} vs {score}");

        // A manual score queues the account; draining the queue recomputes it.
        store
            .set_manual_score(
                a.id,
                &ManualScore {
                    measure: "csm_sentiment".into(),
                    score: 0.0,
                    expires_on: Some(today + Duration::days(30)),
                },
                Some("sponsor left"),
                &ACTOR,
            )
            .await
            .unwrap();
        assert_eq!(store.score_queue_len().await.unwrap(), 1);
        assert_eq!(store.drain_score_queue(100, &adoption).await.unwrap(), 1);
        let after = store.snapshot_on(a.id, today).await.unwrap().unwrap();
        assert!(after.score.unwrap() < score, "{after:?}");
        let csm = after
            .measures
            .iter()
            .find(|m| m.key == "csm_sentiment")
            .unwrap();
        assert_eq!(csm.score, Some(0.0));

        // A past day reads the rollups: 40 days back only u3 had been active.
        let past = today - Duration::days(40);
        let run = store.score_all(past, &adoption).await.unwrap();
        assert_eq!(run.accounts, 1);
        let old = store.snapshot_on(a.id, past).await.unwrap().unwrap();
        assert_eq!(old.day, past);
        let history = store.health_history(a.id, past).await.unwrap();
        assert_eq!(history.len(), 2);
        // Today's current score was not touched by the backfill.
        assert_eq!(store.account(a.id).await.unwrap().health_score, after.score);
    })
    .await;
}

#[tokio::test]
async fn scorecards_keep_one_default() {
    on_each_backend(|store| async move {
        store.ensure_default_scorecard().await.unwrap();
        store.ensure_default_scorecard().await.unwrap();
        let cards = store.list_scorecards().await.unwrap();
        assert_eq!(cards.len(), 1);
        let first = &cards[0];
        assert!(first.definition.is_default);

        let mut second = default_scorecard();
        second.name = "High touch".into();
        second.is_default = true;
        let second = store
            .create_scorecard(Scorecard::parse(second).unwrap(), &ACTOR)
            .await
            .unwrap();
        let cards = store.list_scorecards().await.unwrap();
        assert_eq!(cards.iter().filter(|c| c.definition.is_default).count(), 1);
        assert_eq!(cards[0].id, second.id);

        // The default cannot be deleted, nor simply switched off.
        let err = store.delete_scorecard(second.id, &ACTOR).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        let mut off = second.definition.clone();
        off.is_default = false;
        let err = store
            .update_scorecard(second.id, Scorecard::parse(off).unwrap(), &ACTOR)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        store.delete_scorecard(first.id, &ACTOR).await.unwrap();
        // A duplicate name is a conflict.
        let mut dup = default_scorecard();
        dup.name = "High touch".into();
        dup.is_default = false;
        let err = store
            .create_scorecard(Scorecard::parse(dup).unwrap(), &ACTOR)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    })
    .await;
}
