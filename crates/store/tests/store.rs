//! The store's behaviour, checked on SQLite and on PostgreSQL with the same test code.

// Test helpers may panic: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use kizuna_domain::account::{AccountDraft, AccountSort, CoverageTier, LifecycleStage, NewAccount};
use kizuna_domain::contact::{ContactDraft, ContactRole};
use kizuna_domain::ids::AccountId;
use kizuna_domain::revenue::MovementKind;
use kizuna_domain::subscription::{SubscriptionDraft, SubscriptionStatus};
use kizuna_domain::survey::SurveyResponseDraft;
use kizuna_domain::ticket::TicketDraft;
use kizuna_domain::token::TokenScope;
use kizuna_domain::usage::NewUsageEvent;
use kizuna_store::testing::{self, TestDb};
use kizuna_store::{AccountFilter, Actor, Store, StoreError, UsageQuery};

const ACTOR: Actor = Actor::System("test");

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn account(name: &str, external_id: Option<&str>) -> AccountDraft {
    AccountDraft {
        name: Some(name.into()),
        external_id: external_id.map(Into::into),
        ..Default::default()
    }
}

/// Runs `check` on every backend reachable here.
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

#[tokio::test]
async fn accounts_are_created_listed_filtered_and_soft_deleted() {
    on_each_backend(|store| async move {
        let a = store
            .create_account(account("Acme 株式会社", Some("crm-1")), &ACTOR)
            .await
            .unwrap();
        assert_eq!(a.name, "Acme 株式会社");
        assert_eq!(a.lifecycle_stage, LifecycleStage::Onboarding);
        for (i, tier) in [
            CoverageTier::HighTouch,
            CoverageTier::MidTouch,
            CoverageTier::TechTouch,
        ]
        .iter()
        .enumerate()
        {
            let mut draft = account(&format!("Beta {i}"), None);
            draft.coverage_tier = Some(*tier);
            draft.domain = Some(format!("https://www.beta{i}.co.jp/"));
            store.create_account(draft, &ACTOR).await.unwrap();
        }

        let dup = store
            .create_account(account("Other", Some("crm-1")), &ACTOR)
            .await
            .unwrap_err();
        assert!(
            matches!(&dup, StoreError::Conflict { field, .. } if field == "external_id"),
            "{dup:?}"
        );

        let all = store
            .list_accounts(&AccountFilter::default())
            .await
            .unwrap();
        assert_eq!(all.total, 4);
        assert_eq!(all.items[0].name, "Acme 株式会社");

        let high = store
            .list_accounts(&AccountFilter {
                coverage_tier: Some(CoverageTier::HighTouch),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            high.items
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>(),
            ["Beta 0"]
        );

        let by_domain = store
            .list_accounts(&AccountFilter {
                q: Some("BETA2.co".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(by_domain.items.len(), 1);
        assert_eq!(by_domain.items[0].domain.as_deref(), Some("beta2.co.jp"));

        let wildcard = store
            .list_accounts(&AccountFilter {
                q: Some("%".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(wildcard.total, 0, "a % in the search is a literal");

        let page = store
            .list_accounts(&AccountFilter {
                sort: Some((AccountSort::Name, true)),
                limit: Some(2),
                offset: Some(1),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            page.items
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>(),
            ["Beta 1", "Beta 0"]
        );
        assert_eq!(page.next_offset, Some(3));

        store.delete_account(a.id, &ACTOR).await.unwrap();
        assert!(matches!(
            store.account(a.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            store
                .list_accounts(&AccountFilter::default())
                .await
                .unwrap()
                .total,
            3
        );
        assert!(matches!(
            store.delete_account(a.id, &ACTOR).await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn updates_merge_validate_and_record_lifecycle_changes() {
    on_each_backend(|store| async move {
        let a = store
            .create_account(account("Gamma", None), &ACTOR)
            .await
            .unwrap();
        let patch = AccountDraft {
            lifecycle_stage: Some(LifecycleStage::Adoption),
            stage_reason: Some("go-live done".into()),
            industry: Some("製造".into()),
            ..Default::default()
        };
        let b = store.update_account(a.id, patch, &ACTOR).await.unwrap();
        assert_eq!(b.name, "Gamma", "fields the patch does not carry stay");
        assert_eq!(b.industry.as_deref(), Some("製造"));
        let history = store.lifecycle_history(a.id).await.unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].from_stage, Some(LifecycleStage::Onboarding));
        assert_eq!(history[1].to_stage, LifecycleStage::Adoption);
        assert_eq!(history[1].reason.as_deref(), Some("go-live done"));

        let bad = store
            .update_account(
                a.id,
                AccountDraft {
                    owner_id: Some(kizuna_domain::ids::UserId(999)),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&bad, StoreError::Invalid(v) if v.first().field == "owner_id"),
            "{bad:?}"
        );
        let unchanged = store.account(a.id).await.unwrap();
        assert_eq!(unchanged.owner_id, None, "a refused update changes nothing");
    })
    .await;
}

fn term(start: &str, end: &str, mrr: f64, status: SubscriptionStatus) -> SubscriptionDraft {
    SubscriptionDraft {
        mrr: Some(mrr),
        seats: Some(10),
        start_date: Some(d(start)),
        end_date: Some(d(end)),
        status: Some(status),
        ..Default::default()
    }
}

#[tokio::test]
async fn subscriptions_derive_movements_and_account_revenue() {
    on_each_backend(|store| async move {
        let a = store
            .create_account(account("Delta", None), &ACTOR)
            .await
            .unwrap();
        let id = Some(a.id);
        let first = store
            .create_subscription(
                id,
                term(
                    "2025-01-01",
                    "2025-12-31",
                    100000.0,
                    SubscriptionStatus::Active,
                ),
                &ACTOR,
            )
            .await
            .unwrap();
        // Mid-term upsell, effective on a given day.
        store
            .update_subscription_on(
                first.id,
                SubscriptionDraft {
                    mrr: Some(120000.0),
                    effective_date: Some(d("2025-07-01")),
                    ..Default::default()
                },
                &ACTOR,
                d("2025-07-01"),
            )
            .await
            .unwrap();
        // Renewal at a higher price.
        store
            .update_subscription(
                first.id,
                SubscriptionDraft {
                    status: Some(SubscriptionStatus::Renewed),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
        let mut renewal = term(
            "2026-01-01",
            "2026-12-31",
            150000.0,
            SubscriptionStatus::Active,
        );
        renewal.renews_id = Some(first.id);
        store
            .create_subscription(id, renewal, &ACTOR)
            .await
            .unwrap();

        let moves = store.list_revenue_movements(a.id).await.unwrap();
        let kinds: Vec<(MovementKind, NaiveDate, f64)> = moves
            .iter()
            .map(|m| (m.kind, m.effective_on, m.mrr_delta))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (MovementKind::New, d("2025-01-01"), 100000.0),
                (MovementKind::Expansion, d("2025-07-01"), 20000.0),
                (MovementKind::Expansion, d("2026-01-01"), 30000.0),
            ]
        );
        let a = store.account(a.id).await.unwrap();
        assert_eq!(a.mrr, 150000.0);
        assert_eq!(a.arr, 1_800_000.0);
        assert_eq!(a.renewal_date, Some(d("2026-12-31")));

        let usd = SubscriptionDraft {
            currency: Some("USD".into()),
            ..term("2026-01-01", "2026-12-31", 10.0, SubscriptionStatus::Active)
        };
        let err = store
            .create_subscription(id, usd, &ACTOR)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(v) if v.first().field == "currency"),
            "{err:?}"
        );
        let err = store
            .create_subscription(
                id,
                term("2026-01-01", "2025-01-01", 1.0, SubscriptionStatus::Active),
                &ACTOR,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(v) if v.first().field == "end_date"),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn churned_account_has_a_churn_movement_and_no_revenue() {
    on_each_backend(|store| async move {
        let a = store
            .create_account(account("Epsilon", None), &ACTOR)
            .await
            .unwrap();
        store
            .create_subscription(
                Some(a.id),
                term(
                    "2024-01-01",
                    "2024-12-31",
                    50000.0,
                    SubscriptionStatus::Churned,
                ),
                &ACTOR,
            )
            .await
            .unwrap();
        let a = store.account(a.id).await.unwrap();
        assert_eq!(a.mrr, 0.0);
        assert_eq!(a.churned_on, Some(d("2025-01-01")));
        assert_eq!(a.renewal_date, None);
        let kinds: Vec<MovementKind> = store
            .list_revenue_movements(a.id)
            .await
            .unwrap()
            .iter()
            .map(|m| m.kind)
            .collect();
        assert_eq!(kinds, vec![MovementKind::New, MovementKind::Churn]);
    })
    .await;
}

#[tokio::test]
async fn timeline_records_check_their_account_and_contact() {
    on_each_backend(|store| async move {
        let a = store
            .create_account(account("Zeta", None), &ACTOR)
            .await
            .unwrap();
        let b = store
            .create_account(account("Eta", None), &ACTOR)
            .await
            .unwrap();
        let c = store
            .create_contact(
                Some(a.id),
                ContactDraft {
                    name: Some("山田 太郎".into()),
                    email: Some("taro@zeta.jp".into()),
                    roles: Some(vec![ContactRole::Champion]),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
        assert!(c.is_champion());

        let t = store
            .create_ticket(
                Some(a.id),
                TicketDraft {
                    subject: Some("CSV が読めない".into()),
                    contact_id: Some(c.id),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
        assert_eq!(t.contact_id, Some(c.id));
        let err = store
            .create_ticket(
                Some(b.id),
                TicketDraft {
                    subject: Some("x".into()),
                    contact_id: Some(c.id),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(v) if v.first().field == "contact_id"),
            "{err:?}"
        );

        let err = store
            .create_survey_response(
                Some(a.id),
                SurveyResponseDraft {
                    score: Some(11),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(v) if v.first().field == "score"),
            "{err:?}"
        );
        let r = store
            .create_survey_response(
                Some(a.id),
                SurveyResponseDraft {
                    score: Some(9),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
        assert_eq!(r.category, kizuna_domain::survey::NpsCategory::Promoter);

        let missing = store
            .create_ticket(
                Some(AccountId(9999)),
                TicketDraft {
                    subject: Some("x".into()),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await;
        assert!(matches!(missing, Err(StoreError::NotFound(_))));
        assert_eq!(store.list_tickets(a.id, None, None).await.unwrap().total, 1);
    })
    .await;
}

#[tokio::test]
async fn tokens_authenticate_until_revoked() {
    on_each_backend(|store| async move {
        let issued = store
            .issue_token("ci", TokenScope::Write, &ACTOR)
            .await
            .unwrap();
        assert!(issued.secret.starts_with("kz_"));
        assert!(issued.secret.starts_with(&issued.token.prefix));
        let found = store
            .authenticate_token(&issued.secret)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.scope, TokenScope::Write);
        assert!(store
            .authenticate_token("kz_wrong")
            .await
            .unwrap()
            .is_none());
        store.revoke_token(issued.token.id, &ACTOR).await.unwrap();
        assert!(store
            .authenticate_token(&issued.secret)
            .await
            .unwrap()
            .is_none());
    })
    .await;
}

fn event(
    message_id: &str,
    group: Option<&str>,
    user: &str,
    feature: &str,
    at: DateTime<Utc>,
) -> NewUsageEvent {
    NewUsageEvent {
        message_id: message_id.into(),
        account_external_id: group.map(Into::into),
        user_id: Some(user.into()),
        anonymous_id: None,
        feature: feature.into(),
        occurred_at: at,
        received_at: at,
        properties: None,
    }
}

#[tokio::test]
async fn usage_rollups_equal_the_raw_events_and_retries_count_once() {
    on_each_backend(|store| async move {
        let a = store
            .create_account(account("Theta", Some("g-1")), &ACTOR)
            .await
            .unwrap();
        let day1 = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        let day2 = day1 + Duration::days(1);
        let batch = vec![
            event("m1", Some("g-1"), "u1", "report", day1),
            event("m2", Some("g-1"), "u1", "report", day1 + Duration::hours(1)),
            event("m3", Some("g-1"), "u2", "report", day1),
            event("m4", Some("g-1"), "u2", "export", day1),
            event("m5", Some("g-1"), "u1", "export", day2),
        ];
        let out = store.record_usage(&batch).await.unwrap();
        assert_eq!((out.stored, out.duplicates, out.unattributed), (5, 0, 0));
        // A retry of the same messages and one late event for day 1.
        let mut retry = batch.clone();
        retry.push(event(
            "m6",
            Some("g-1"),
            "u3",
            "export",
            day1 + Duration::hours(5),
        ));
        let out = store.record_usage(&retry).await.unwrap();
        assert_eq!((out.stored, out.duplicates), (1, 5));

        let usage = store
            .account_usage(
                a.id,
                &UsageQuery {
                    from: d("2026-03-01"),
                    to: d("2026-03-02"),
                    feature: None,
                },
            )
            .await
            .unwrap();
        let features: Vec<(String, String, i64, i64)> = usage
            .features
            .iter()
            .map(|f| (f.day.to_string(), f.feature.clone(), f.events, f.users))
            .collect();
        assert_eq!(
            features,
            vec![
                ("2026-03-01".into(), "export".into(), 2, 2),
                ("2026-03-01".into(), "report".into(), 3, 2),
                ("2026-03-02".into(), "export".into(), 1, 1),
            ]
        );
        let days: Vec<(i64, i64)> = usage
            .days
            .iter()
            .map(|d| (d.events, d.active_users))
            .collect();
        assert_eq!(days, vec![(5, 3), (1, 1)]);
        assert_eq!(store.usage_event_count().await.unwrap(), 6);
    })
    .await;
}

#[tokio::test]
async fn usage_of_unknown_accounts_is_kept_and_rolled_up_when_they_appear() {
    on_each_backend(|store| async move {
        let at = Utc.with_ymd_and_hms(2026, 4, 1, 12, 0, 0).unwrap();
        let out = store
            .record_usage(&[
                event("x1", Some("later"), "u1", "login", at),
                event("x2", None, "person-9", "login", at),
            ])
            .await
            .unwrap();
        assert_eq!((out.stored, out.unattributed), (2, 2));

        let a = store
            .create_account(account("Later Inc", Some("later")), &ACTOR)
            .await
            .unwrap();
        store
            .create_contact(
                Some(a.id),
                ContactDraft {
                    external_id: Some("person-9".into()),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
        let usage = store
            .account_usage(
                a.id,
                &UsageQuery {
                    from: d("2026-04-01"),
                    to: d("2026-04-01"),
                    feature: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(usage.days.len(), 1);
        assert_eq!((usage.days[0].events, usage.days[0].active_users), (2, 2));

        // Creating many accounts at once goes through the same path.
        let many: Vec<NewAccount> = (0..3)
            .map(|i| {
                NewAccount::parse(account(&format!("Bulk {i}"), Some(&format!("b{i}")))).unwrap()
            })
            .collect();
        assert_eq!(store.create_accounts(many, &ACTOR).await.unwrap().len(), 3);
    })
    .await;
}
