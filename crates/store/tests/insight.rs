//! Insight reads on both backends: the dashboard's facts against the hand-computed portfolio of
//! `kizuna_domain::insight::dashboard`'s tests, renewals and their outcomes, CSM calls, indicators
//! frozen at a lead time (nothing after it counts), churn models and weight suggestions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use kizuna_domain::account::{AccountDraft, ContractValueTier, CoverageTier};
use kizuna_domain::health::HealthBand;
use kizuna_domain::ids::{AccountId, SubscriptionId};
use kizuna_domain::indicator::AdoptionSettings;
use kizuna_domain::insight::dashboard::{Figures, Period};
use kizuna_domain::insight::drivers::suggest_weights;
use kizuna_domain::insight::model::{self, Sample};
use kizuna_domain::insight::renewals::{RenewalCall, RenewalOutcome};
use kizuna_domain::subscription::{SubscriptionDraft, SubscriptionStatus};
use kizuna_domain::ticket::{TicketDraft, TicketSeverity};
use kizuna_domain::touchpoint::{TouchpointDraft, TouchpointKind};
use kizuna_domain::usage::NewUsageEvent;
use kizuna_domain::user::{NewUser, Role, UserDraft};
use kizuna_store::testing::{self, TestDb};
use kizuna_store::{Actor, DashboardScope, InsightSettings, Store, StoreError};

const ACTOR: Actor = Actor::System("test");

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn noon(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(12, 0, 0).unwrap())
}

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

async fn account(store: &Store, name: &str, external_id: Option<&str>) -> AccountId {
    store
        .create_account(
            AccountDraft {
                name: Some(name.into()),
                external_id: external_id.map(Into::into),
                ..Default::default()
            },
            &ACTOR,
        )
        .await
        .unwrap()
        .id
}

async fn sub(store: &Store, a: AccountId, t: SubscriptionDraft) -> SubscriptionId {
    store
        .create_subscription(Some(a), t, &ACTOR)
        .await
        .unwrap()
        .id
}

async fn price_change(store: &Store, s: SubscriptionId, mrr: f64, on: &str) {
    store
        .update_subscription_on(
            s,
            SubscriptionDraft {
                mrr: Some(mrr),
                effective_date: Some(d(on)),
                ..Default::default()
            },
            &ACTOR,
            d(on),
        )
        .await
        .unwrap();
}

async fn touch(store: &Store, a: AccountId, on: &str) {
    store
        .create_touchpoint(
            Some(a),
            TouchpointDraft {
                kind: Some(TouchpointKind::Call),
                subject: Some("check-in".into()),
                occurred_at: Some(noon(d(on))),
                ..Default::default()
            },
            &ACTOR,
        )
        .await
        .unwrap();
}

async fn snapshot(store: &Store, a: AccountId, day: &str, score: f64, band: &str) {
    testing::execute(
        store,
        &format!(
            "INSERT INTO health_snapshots (account_id, day, scorecard_id, score, band, measures, computed_at) \
             VALUES ({}, '{day}', 1, {score}, '{band}', '[]', '2026-04-01T00:00:00Z')",
            a.0
        ),
    )
    .await
    .unwrap();
}

/// The six accounts of the domain's hand-computed quarter, built from subscriptions.
#[tokio::test]
async fn dashboard_facts_give_the_hand_computed_quarter() {
    on_each_backend(|store| async move {
        use SubscriptionStatus::*;
        let a = account(&store, "A", None).await;
        let s = sub(&store, a, term("2025-06-01", "2026-05-31", 100.0, Active)).await;
        price_change(&store, s, 150.0, "2026-02-01").await;
        let b = account(&store, "B", None).await;
        let s = sub(&store, b, term("2025-01-01", "2026-12-31", 200.0, Active)).await;
        price_change(&store, s, 120.0, "2026-01-15").await;
        let c = account(&store, "C", None).await;
        sub(&store, c, term("2025-03-01", "2026-02-28", 300.0, Churned)).await;
        let dd = account(&store, "D", None).await;
        sub(&store, dd, term("2026-02-10", "2027-02-09", 50.0, Active)).await;
        let e = account(&store, "E", None).await;
        sub(&store, e, term("2025-05-01", "2025-09-30", 100.0, Churned)).await;
        sub(&store, e, term("2026-03-10", "2027-03-09", 80.0, Active)).await;
        let f = account(&store, "F", None).await;
        sub(&store, f, term("2025-02-01", "2026-01-19", 400.0, Churned)).await;
        sub(&store, f, term("2026-02-20", "2027-02-19", 100.0, Active)).await;
        for (x, on) in [
            (a, "2026-01-05"),
            (c, "2026-02-01"),
            (dd, "2026-03-31"),
            (e, "2026-04-01"),
            (b, "2025-12-31"),
        ] {
            touch(&store, x, on).await;
        }
        // Health at the quarter's end comes from its last snapshot day, not an earlier one.
        for (x, score, band) in [
            (a, 80.0, "green"),
            (b, 55.0, "yellow"),
            (c, 20.0, "red"),
            (dd, 90.0, "green"),
            (f, 30.0, "red"),
        ] {
            snapshot(&store, x, "2026-03-31", score, band).await;
            snapshot(&store, x, "2026-03-01", 10.0, "red").await;
        }
        let q1 = Period {
            from: d("2026-01-01"),
            to: d("2026-03-31"),
        };
        let (accounts, health_day) = store
            .dashboard_accounts(q1, Default::default())
            .await
            .unwrap();
        assert_eq!(health_day, Some(d("2026-03-31")));
        assert_eq!(accounts.len(), 6);
        let facts: Vec<_> = accounts.iter().map(|x| &x.facts).collect();
        let fig = Figures::compute(&facts, q1, Some(100.0));
        let r = &fig.retention;
        assert_eq!((r.accounts_at_start, r.churned_accounts), (4, 1));
        assert_eq!(
            (
                r.start_mrr,
                r.expansion_mrr,
                r.contraction_mrr,
                r.churned_mrr
            ),
            (1000.0, 150.0, 80.0, 700.0)
        );
        assert_eq!((r.grr, r.nrr), (Some(0.22), Some(0.37)));
        assert_eq!((r.new_mrr, r.end_mrr), (130.0, 500.0));
        assert!((fig.health.portfolio_score.unwrap() - 313_200.0 / 5_040.0).abs() < 1e-9);
        assert_eq!(
            (fig.health.green.accounts, fig.health.unscored.accounts),
            (2, 1)
        );
        // Engaged in the quarter: A, D (C's touchpoint counts but C is gone; E's is in April).
        assert_eq!((fig.live_accounts, fig.engaged_accounts), (5, 2));

        // The band trend takes each month's last snapshot day.
        let trend = store.band_trend(q1, Default::default()).await.unwrap();
        assert_eq!(trend.len(), 1, "{trend:?}");
        assert_eq!(
            (trend[0].day, trend[0].red, trend[0].green),
            (d("2026-03-31"), 2, 2)
        );

        // A scope reads only its accounts, in SQL: the same accounts, facts and band counts as
        // filtering the whole portfolio. A and C are enterprise, D is enterprise and high touch.
        testing::execute(
            &store,
            &format!(
                "UPDATE accounts SET contract_value_tier = 'enterprise' WHERE id IN ({}, {}, {})",
                a.0, c.0, dd.0
            ),
        )
        .await
        .unwrap();
        testing::execute(
            &store,
            &format!(
                "UPDATE accounts SET coverage_tier = 'high_touch' WHERE id = {}",
                dd.0
            ),
        )
        .await
        .unwrap();
        let (all, _) = store
            .dashboard_accounts(q1, Default::default())
            .await
            .unwrap();
        let enterprise = DashboardScope {
            segment: Some(ContractValueTier::Enterprise),
            ..Default::default()
        };
        let (scoped, day) = store.dashboard_accounts(q1, enterprise).await.unwrap();
        assert_eq!(day, Some(d("2026-03-31")));
        let ids: Vec<_> = scoped.iter().map(|x| x.id).collect();
        assert_eq!(ids, [a.0, c.0, dd.0]);
        let expected: Vec<_> = all
            .iter()
            .filter(|x| x.segment == Some(ContractValueTier::Enterprise))
            .cloned()
            .collect();
        assert_eq!(scoped, expected);
        // Touchpoints are scoped too: A and D engaged, C's touchpoint counts but C is gone.
        let facts: Vec<_> = scoped.iter().map(|x| &x.facts).collect();
        let fig = Figures::compute(&facts, q1, None);
        assert_eq!((fig.live_accounts, fig.engaged_accounts), (2, 2));
        assert_eq!(fig.retention.start_mrr, 400.0);
        let both = DashboardScope {
            segment: Some(ContractValueTier::Enterprise),
            tier: Some(CoverageTier::HighTouch),
            owner_id: None,
        };
        let (scoped, _) = store.dashboard_accounts(q1, both).await.unwrap();
        assert_eq!(scoped.iter().map(|x| x.id).collect::<Vec<_>>(), [dd.0]);
        let nobody = DashboardScope {
            owner_id: Some(999_999),
            ..Default::default()
        };
        assert!(store
            .dashboard_accounts(q1, nobody)
            .await
            .unwrap()
            .0
            .is_empty());
        // Band counts of the scope: A green, C red, D green on 2026-03-31.
        let trend = store.band_trend(q1, enterprise).await.unwrap();
        assert_eq!(
            (trend[0].day, trend[0].red, trend[0].yellow, trend[0].green),
            (d("2026-03-31"), 1, 0, 2)
        );
        let trend = store.band_trend(q1, nobody).await.unwrap();
        assert_eq!((trend[0].red, trend[0].green), (0, 0));

        // Computed ahead: every standard period, for the whole book and each segment, coverage
        // tier and CSM that has accounts, with the same figures as computing it on request.
        let csm = store
            .create_user(
                NewUser::parse(UserDraft {
                    email: Some("csm@example.com".into()),
                    name: Some("CSM".into()),
                    role: Some(Role::Csm),
                    ..Default::default()
                })
                .unwrap(),
                None,
                &ACTOR,
            )
            .await
            .unwrap();
        testing::execute(
            &store,
            &format!(
                "UPDATE accounts SET owner_id = {} WHERE id IN ({}, {})",
                csm.id.0, b.0, dd.0
            ),
        )
        .await
        .unwrap();
        let end = d("2026-03-31");
        let kept = store.precompute_dashboards(end).await.unwrap();
        let periods = kizuna_store::standard_periods(end);
        assert_eq!(periods.len(), 5);
        assert!(periods.iter().any(|(_, p)| *p == q1), "{periods:?}");
        let mut scopes = vec![
            DashboardScope::default(),
            enterprise,
            DashboardScope {
                owner_id: Some(csm.id.0),
                ..Default::default()
            },
        ];
        for t in CoverageTier::ALL {
            scopes.push(DashboardScope {
                tier: Some(*t),
                ..Default::default()
            });
        }
        let mut found = 0;
        for (_, period) in &periods {
            for scope in &scopes {
                let Some(text) = store.dashboard_ahead(*period, *scope).await.unwrap() else {
                    assert!(
                        scope.tier.is_some(),
                        "{period:?} {scope:?} not computed ahead"
                    );
                    continue;
                };
                found += 1;
                let mut ahead: kizuna_store::Dashboard = serde_json::from_str(&text).unwrap();
                let mut now = store.dashboard(*period, *scope).await.unwrap();
                assert!(!now.definitions.is_empty());
                ahead.computed_at = now.computed_at;
                now.definitions.clear();
                assert_eq!(ahead, now, "{period:?} {scope:?}");
            }
            // A scope without accounts is not kept.
            assert!(store
                .dashboard_ahead(*period, nobody)
                .await
                .unwrap()
                .is_none());
        }
        // Per period: the whole book, enterprise, the CSM and the two coverage tiers in use.
        assert_eq!((found, kept), (5 * 5, 5 * 5));
        let ahead: kizuna_store::Dashboard = serde_json::from_str(
            &store
                .dashboard_ahead(q1, enterprise)
                .await
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            (
                ahead.overall.live_accounts,
                ahead.overall.retention.start_mrr
            ),
            (2, 400.0)
        );
        assert_eq!(
            (ahead.health_trend[0].red, ahead.health_trend[0].green),
            (1, 2)
        );
        let ahead = store
            .dashboard_or_compute(
                q1,
                DashboardScope {
                    owner_id: Some(csm.id.0),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        // B (yellow) and D (green) on 2026-03-31.
        assert_eq!(
            (ahead.health_trend[0].yellow, ahead.health_trend[0].green),
            (1, 1)
        );

        // Any other period or combination of scopes, from the book read by the same job: the
        // figures of computing it from the database.
        let book = store.held_book().expect("the job holds the book it read");
        assert_eq!(book.accounts(), 6);
        let custom = [
            q1,
            Period {
                from: d("2026-02-10"),
                to: d("2026-03-20"),
            },
            Period {
                from: d("2025-11-15"),
                to: d("2026-04-30"),
            },
            Period {
                from: d("2026-03-01"),
                to: Utc::now().date_naive(),
            },
        ];
        let combined = [
            DashboardScope::default(),
            DashboardScope {
                owner_id: Some(csm.id.0),
                ..enterprise
            },
            DashboardScope {
                tier: Some(CoverageTier::ALL[0]),
                ..enterprise
            },
            nobody,
        ];
        for period in custom {
            for scope in combined {
                let mut from_book = store
                    .dashboard_from_book(&book, period, scope)
                    .await
                    .unwrap();
                assert_eq!(from_book.computed_at, book.read_at);
                let now = store.dashboard(period, scope).await.unwrap();
                from_book.computed_at = now.computed_at;
                assert_eq!(from_book, now, "{period:?} {scope:?}");
            }
        }
        // The book is of the moment it was read: a later movement shows once it is read again.
        let before = store
            .dashboard_from_book(&book, custom[1], DashboardScope::default())
            .await
            .unwrap();
        let g = account(&store, "G", None).await;
        sub(
            &store,
            g,
            term("2026-03-05", "2027-03-04", 70.0, SubscriptionStatus::Active),
        )
        .await;
        let stale = store
            .dashboard_from_book(&book, custom[1], DashboardScope::default())
            .await
            .unwrap();
        assert_eq!(stale.overall, before.overall);
        let book = store.refresh_book(end).await.unwrap();
        let mut again = store
            .dashboard_from_book(&book, custom[1], DashboardScope::default())
            .await
            .unwrap();
        assert_ne!(again.overall, before.overall);
        let now = store
            .dashboard(custom[1], DashboardScope::default())
            .await
            .unwrap();
        again.computed_at = now.computed_at;
        assert_eq!(again, now);
        // The read kept a copy: an instance holding no book (restarted, or one that did not run
        // the job) loads it and computes the same dashboards.
        let kept = store
            .kept_book()
            .await
            .unwrap()
            .expect("the read kept a copy");
        assert_eq!((kept.read_at, kept.accounts()), (book.read_at, 7));
        for period in custom {
            for scope in combined {
                let from_kept = store
                    .dashboard_from_book(&kept, period, scope)
                    .await
                    .unwrap();
                let from_held = store
                    .dashboard_from_book(&book, period, scope)
                    .await
                    .unwrap();
                assert_eq!(from_kept, from_held, "{period:?} {scope:?}");
            }
        }
        // A copy in another form (another version wrote it) is not used: the dashboard is then
        // computed.
        store
            .put_precomputed("book", "{\"old\": true}")
            .await
            .unwrap();
        assert!(store.kept_book().await.unwrap().is_none());

        // Settings: a negative cost is refused; a cost is kept.
        let bad = store
            .set_insight_settings(
                &InsightSettings {
                    cs_team_monthly_cost: Some(-1.0),
                },
                &ACTOR,
            )
            .await
            .unwrap_err();
        assert!(matches!(bad, StoreError::Invalid(_)), "{bad:?}");
        store
            .set_insight_settings(
                &InsightSettings {
                    cs_team_monthly_cost: Some(2_000_000.0),
                },
                &ACTOR,
            )
            .await
            .unwrap();
        assert_eq!(
            store.insight_settings().await.unwrap().cs_team_monthly_cost,
            Some(2_000_000.0)
        );
    })
    .await;
}

#[tokio::test]
async fn renewals_outcomes_and_calls() {
    on_each_backend(|store| async move {
        use SubscriptionStatus::*;
        let today = Utc::now().date_naive();
        // Expanded (renews_id set), contracted (the next term starts the day after), flat, churned.
        let g = account(&store, "G", None).await;
        let s = sub(&store, g, term("2025-01-01", "2025-12-31", 100.0, Renewed)).await;
        // Terms still running end well past the 90-day window below, whatever today is.
        let far = (today + Duration::days(400)).to_string();
        let mut next = term("2026-01-01", &far, 130.0, Active);
        next.renews_id = Some(s);
        sub(&store, g, next).await;
        let h = account(&store, "H", None).await;
        sub(&store, h, term("2025-02-01", "2026-01-31", 200.0, Renewed)).await;
        let open = sub(
            &store,
            h,
            term(
                "2026-02-01",
                &(today + Duration::days(40)).to_string(),
                150.0,
                Active,
            ),
        )
        .await;
        let i = account(&store, "I", None).await;
        sub(&store, i, term("2025-03-01", "2026-02-28", 300.0, Renewed)).await;
        sub(&store, i, term("2026-03-01", &far, 300.0, Active)).await;
        let j = account(&store, "J", None).await;
        let lost = sub(&store, j, term("2025-04-01", "2026-03-31", 400.0, Churned)).await;

        let decided = store
            .decided_renewals(d("2025-06-01"), d("2026-06-30"))
            .await
            .unwrap();
        let outcomes: Vec<(&str, RenewalOutcome, Option<f64>)> = decided
            .iter()
            .map(|r| (r.account_name.as_str(), r.outcome, r.next_mrr))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                ("G", RenewalOutcome::Expanded, Some(130.0)),
                ("H", RenewalOutcome::Contracted, Some(150.0)),
                ("I", RenewalOutcome::Renewed, Some(300.0)),
                ("J", RenewalOutcome::Churned, None),
            ]
        );

        // Open renewals in the next 90 days: H's term; the CSM calls it at risk.
        let upcoming = store
            .open_renewals(today, today + Duration::days(90), None)
            .await
            .unwrap();
        assert_eq!(upcoming.len(), 1);
        assert_eq!(
            (upcoming[0].subscription_id, upcoming[0].arr),
            (open.0, 1800.0)
        );
        assert_eq!(upcoming[0].call, None);
        store
            .set_renewal_call(
                open.0,
                Some(RenewalCall::AtRisk),
                Some("budget review"),
                &ACTOR,
            )
            .await
            .unwrap();
        let upcoming = store
            .open_renewals(today, today + Duration::days(90), None)
            .await
            .unwrap();
        assert_eq!(upcoming[0].call, Some(RenewalCall::AtRisk));
        assert_eq!(upcoming[0].call_note.as_deref(), Some("budget review"));
        // A decided renewal takes no call; an unknown one is not found; clearing works.
        let err = store
            .set_renewal_call(lost.0, Some(RenewalCall::Commit), None, &ACTOR)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(v) if v.first().field == "call"),
            "{err:?}"
        );
        let err = store
            .set_renewal_call(999_999, Some(RenewalCall::Commit), None, &ACTOR)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
        store
            .set_renewal_call(open.0, None, None, &ACTOR)
            .await
            .unwrap();
        assert_eq!(
            store
                .open_renewals(today, today + Duration::days(90), None)
                .await
                .unwrap()[0]
                .call,
            None
        );
    })
    .await;
}

fn event(id: usize, group: &str, user: &str, at: DateTime<Utc>) -> NewUsageEvent {
    NewUsageEvent {
        message_id: format!("m{id}"),
        account_external_id: Some(group.into()),
        user_id: Some(user.into()),
        anonymous_id: None,
        feature: "Report Created".into(),
        occurred_at: at,
        received_at: at,
        properties: None,
    }
}

#[tokio::test]
async fn lead_time_features_see_nothing_after_the_lead_day() {
    on_each_backend(|store| async move {
        let adoption = AdoptionSettings::default();
        let today = Utc::now().date_naive();
        let renewal = today - Duration::days(20);
        let as_of = renewal - Duration::days(90);
        let k = account(&store, "K", Some("g-k")).await;
        sub(
            &store,
            k,
            term(
                &(renewal - Duration::days(364)).to_string(),
                &renewal.to_string(),
                500.0,
                SubscriptionStatus::Churned,
            ),
        )
        .await;
        // Before the lead day: 6 events by one user. After it: 50 events by three users.
        let mut events = Vec::new();
        for n in 0..6 {
            events.push(event(n, "g-k", "u1", noon(as_of - Duration::days(5))));
        }
        for n in 0..50 {
            events.push(event(
                100 + n,
                "g-k",
                ["u1", "u2", "u3"][n % 3],
                noon(as_of + Duration::days(10)),
            ));
        }
        store.record_usage(&events).await.unwrap();
        // One urgent ticket open on the lead day; one opened after it.
        for (days, severity) in [(-3, TicketSeverity::Urgent), (5, TicketSeverity::High)] {
            store
                .create_ticket(
                    Some(k),
                    TicketDraft {
                        subject: Some("遅い".into()),
                        severity: Some(severity),
                        opened_at: Some(noon(as_of + Duration::days(days))),
                        ..Default::default()
                    },
                    &ACTOR,
                )
                .await
                .unwrap();
        }
        let window = (renewal - Duration::days(30), renewal + Duration::days(1));
        let rows = store
            .renewal_features(window.0, window.1, 90, &adoption, true, false)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(
            (r.as_of, r.renewal.outcome),
            (as_of, RenewalOutcome::Churned)
        );
        let ind = r.indicators.as_ref().expect("indicators on the lead day");
        assert_eq!(ind.active_users, Some(1.0));
        assert_eq!(ind.depth, Some(6.0));
        assert_eq!(ind.days_since_activity, Some(5.0));
        assert_eq!(
            ind.open_tickets,
            Some(5.0),
            "only the urgent ticket was open"
        );
        assert!(r.score.is_some() && r.band.is_some());
        // Kept: a read without filling returns the same; another lead time has nothing kept.
        let kept = store
            .renewal_features(window.0, window.1, 90, &adoption, false, false)
            .await
            .unwrap();
        assert_eq!(kept, rows);
        assert!(store
            .renewal_features(window.0, window.1, 60, &adoption, false, false)
            .await
            .unwrap()
            .is_empty());
        let err = store
            .renewal_features(window.0, window.1, 0, &adoption, true, false)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));
    })
    .await;
}

#[tokio::test]
async fn churn_models_and_weight_suggestions_are_kept() {
    on_each_backend(|store| async move {
        let names = vec!["signal".to_string()];
        let samples: Vec<Sample> = (0..60)
            .map(|i| Sample {
                renewal_date: d("2025-01-01") + Duration::days(i),
                values: vec![Some((i % 10) as f64)],
                churned: i % 10 < 3,
            })
            .collect();
        let fitted = model::train(&names, &samples).unwrap();
        let window = Period {
            from: d("2025-01-01"),
            to: d("2025-12-31"),
        };
        assert_eq!(store.churn_model(None).await.unwrap(), None);
        let saved = store
            .save_churn_model(&fitted, 90, window, &ACTOR)
            .await
            .unwrap();
        let saved2 = store
            .save_churn_model(&fitted, 60, window, &ACTOR)
            .await
            .unwrap();
        // JSON keeps the figures (to the last bit or two of a float).
        assert_eq!(
            (saved.model.renewals, saved.model.churned),
            (fitted.renewals, fitted.churned)
        );
        assert!(
            (saved.model.coefficients.weights[0] - fitted.coefficients.weights[0]).abs() < 1e-12
        );
        assert_eq!(saved.model.validation.auc, fitted.validation.auc);
        let latest = store.churn_model(None).await.unwrap().unwrap();
        assert_eq!((latest.id, latest.lead_days), (saved2.id, 60));
        assert_eq!(
            store
                .churn_model(Some(saved.id))
                .await
                .unwrap()
                .unwrap()
                .lead_days,
            90
        );

        store.ensure_default_scorecard().await.unwrap();
        let card = store.list_scorecards().await.unwrap().remove(0);
        let mut driver = kizuna_domain::insight::drivers::driver(
            "depth",
            &[true, true, false, false]
                .iter()
                .enumerate()
                .map(|(i, c)| kizuna_domain::insight::drivers::Observation {
                    churned: *c,
                    values: [("depth".to_string(), i as f64)].into(),
                    score: None,
                })
                .collect::<Vec<_>>(),
        )
        .unwrap();
        driver.reliable = true;
        let (def, changes) = suggest_weights(&card.definition, &[driver]);
        let basis = serde_json::json!({"lead_days": 90});
        let s = store
            .create_weight_suggestion(card.id, &basis, &def, &changes, &ACTOR)
            .await
            .unwrap();
        assert_eq!(s.accepted_at, None);
        let accepted = store.accept_weight_suggestion(s.id, &ACTOR).await.unwrap();
        let depth = accepted.definition.groups[0]
            .measures
            .iter()
            .find(|m| m.key == "depth")
            .unwrap();
        // Churned accounts had the lower depth: AUC 0, separation 1 → weight 10.
        assert_eq!(depth.weight, 10.0);
        assert!(store
            .weight_suggestion(s.id)
            .await
            .unwrap()
            .accepted_at
            .is_some());
        let again = store
            .accept_weight_suggestion(s.id, &ACTOR)
            .await
            .unwrap_err();
        assert!(matches!(again, StoreError::Conflict { .. }), "{again:?}");
        assert!(matches!(
            store.weight_suggestion(9_999).await.unwrap_err(),
            StoreError::NotFound(_)
        ));
        let _ = HealthBand::Red;
    })
    .await;
}

/// What a renewal map says, for comparing a map cut from the held renewals with one computed.
type MapView = (
    usize,
    Vec<(i64, Option<RenewalCall>, Option<String>, Option<f64>)>,
    Vec<kizuna_domain::insight::renewals::MonthForecast>,
);

fn view(map: kizuna_store::RenewalMapData) -> MapView {
    (
        map.total,
        map.page
            .into_iter()
            .map(|r| {
                (
                    r.renewal.subscription_id,
                    r.renewal.call,
                    r.renewal.call_note,
                    r.risk.map(|x| x.0),
                )
            })
            .collect(),
        map.forecast,
    )
}

#[tokio::test]
async fn held_renewals_cut_the_maps_the_database_gives() {
    on_each_backend(|store| async move {
        use SubscriptionStatus::*;
        let today = Utc::now().date_naive();
        let day = |n: i64| (today + Duration::days(n)).to_string();
        let mut subs = Vec::new();
        // Open renewals from an overdue one to one 23 months out, and one decided.
        for (i, (end, mrr)) in [
            (-30, 100.0),
            (10, 200.0),
            (40, 150.0),
            (100, 300.0),
            (200, 50.0),
            (400, 80.0),
            (690, 120.0),
        ]
        .into_iter()
        .enumerate()
        {
            let a = account(&store, &format!("R{i}"), None).await;
            subs.push(sub(&store, a, term("2025-01-01", &day(end), mrr, Active)).await);
        }
        let gone = account(&store, "Gone", None).await;
        sub(&store, gone, term("2025-01-01", &day(-20), 90.0, Churned)).await;
        store
            .set_renewal_call(
                subs[1].0,
                Some(RenewalCall::Commit),
                Some("PO signed"),
                &ACTOR,
            )
            .await
            .unwrap();
        let adoption = AdoptionSettings::default();
        let held = store.refresh_renewals(&adoption).await.unwrap();
        assert_eq!(held.renewals(), 7);
        let windows =
            [3, 12, 24].map(|m| (today - Duration::days(90), today + chrono::Months::new(m)));
        let check = |label: &'static str| {
            let store = store.clone();
            let held = held.clone();
            async move {
                for (from, to) in windows {
                    for (limit, offset) in [(500, 0), (2, 0), (2, 1), (3, 4)] {
                        let cut = store
                            .renewal_map_from_held(&held, from, to, limit, offset)
                            .await
                            .unwrap()
                            .expect("inside the held window");
                        let computed = store
                            .renewal_map(from, to, &adoption, limit, offset)
                            .await
                            .unwrap();
                        assert_eq!(
                            view(cut),
                            view(computed),
                            "{label}: {from}..{to} {limit}/{offset}"
                        );
                    }
                }
            }
        };
        check("as read").await;
        // Calls changed after the read are the current ones: cleared, set, and a note changed.
        store
            .set_renewal_call(subs[1].0, None, None, &ACTOR)
            .await
            .unwrap();
        store
            .set_renewal_call(
                subs[3].0,
                Some(RenewalCall::Lost),
                Some("moved to a rival"),
                &ACTOR,
            )
            .await
            .unwrap();
        store
            .set_renewal_call(subs[2].0, Some(RenewalCall::AtRisk), None, &ACTOR)
            .await
            .unwrap();
        check("calls changed").await;
        // The read kept a copy: an instance holding none loads it and cuts the same maps.
        let kept = store
            .kept_renewals()
            .await
            .unwrap()
            .expect("the read kept a copy");
        assert_eq!((kept.read_at, kept.renewals()), (held.read_at, 7));
        for (from, to) in windows {
            let a = store
                .renewal_map_from_held(&kept, from, to, 3, 1)
                .await
                .unwrap()
                .unwrap();
            let b = store
                .renewal_map_from_held(&held, from, to, 3, 1)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(view(a), view(b), "{from}..{to}");
        }
        let lost = store
            .renewal_map_from_held(&held, windows[1].0, windows[1].1, 500, 0)
            .await
            .unwrap()
            .unwrap();
        let row = lost
            .page
            .iter()
            .find(|r| r.renewal.subscription_id == subs[3].0)
            .unwrap();
        assert_eq!(row.risk.map(|x| x.0), Some(1.0));
        // A window reaching past the held one, or a model trained since, is not cut from it.
        assert!(store
            .renewal_map_from_held(&held, today - Duration::days(91), windows[0].1, 10, 0)
            .await
            .unwrap()
            .is_none());
        let samples: Vec<Sample> = (0..60)
            .map(|i| Sample {
                renewal_date: d("2025-01-01") + Duration::days(i),
                values: vec![Some((i % 10) as f64)],
                churned: i % 10 < 3,
            })
            .collect();
        let fitted = model::train(&["signal".to_string()], &samples).unwrap();
        let window = Period {
            from: d("2025-01-01"),
            to: d("2025-12-31"),
        };
        store
            .save_churn_model(&fitted, 90, window, &ACTOR)
            .await
            .unwrap();
        assert!(store
            .renewal_map_from_held(&held, windows[1].0, windows[1].1, 10, 0)
            .await
            .unwrap()
            .is_none());
        // Read again, it holds the model's rating and cuts the same map as computing it.
        let held = store.refresh_renewals(&adoption).await.unwrap();
        let (from, to) = windows[2];
        let cut = store
            .renewal_map_from_held(&held, from, to, 500, 0)
            .await
            .unwrap()
            .unwrap();
        assert!(cut.model.is_some());
        let kept = store.kept_renewals().await.unwrap().unwrap();
        let from_kept = store
            .renewal_map_from_held(&kept, from, to, 500, 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            from_kept.model.as_ref().map(|m| m.id),
            cut.model.as_ref().map(|m| m.id)
        );
        assert_eq!(view(from_kept), view(cut.clone()));
        let computed = store
            .renewal_map(from, to, &adoption, 500, 0)
            .await
            .unwrap();
        assert_eq!(view(cut), view(computed));
    })
    .await;
}
