//! Rules, tasks, playbooks, the outbox, the engagement cadence, surveys and the job table, on
//! both backends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use kizuna_domain::account::AccountDraft;
use kizuna_domain::automation::{Cadence, TaskOutcome, TaskStatus};
use kizuna_domain::contact::{ContactDraft, ContactRole};
use kizuna_domain::ids::AccountId;
use kizuna_domain::survey::SurveyResponseDraft;
use kizuna_domain::touchpoint::{TouchpointDraft, TouchpointKind};
use kizuna_store::automation::{TaskFilter, TaskPatch};
use kizuna_store::testing::{self, TestDb};
use kizuna_store::{Actor, AutomationContext, Store};

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

async fn user(store: &Store, email: &str, role: &str) -> i64 {
    testing::execute(
        store,
        &format!(
            "INSERT INTO users (email, name, role, locale, active, created_at, updated_at) \
             VALUES ('{email}', '{email}', '{role}', 'en', TRUE, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
        ),
    )
    .await
    .unwrap();
    let users = store.list_users().await.unwrap();
    users
        .into_iter()
        .find(|u| u.email.as_str() == email)
        .unwrap()
        .id
        .0
}

async fn account(store: &Store, name: &str, owner: i64) -> i64 {
    let a = store
        .create_account(
            AccountDraft {
                name: Some(name.into()),
                external_id: Some(format!("ext-{name}")),
                lifecycle_stage: Some(kizuna_domain::account::LifecycleStage::Adoption),
                ..Default::default()
            },
            &ACTOR,
        )
        .await
        .unwrap();
    testing::execute(
        store,
        &format!(
            "UPDATE accounts SET owner_id = {owner} WHERE id = {}",
            a.id.0
        ),
    )
    .await
    .unwrap();
    a.id.0
}

/// Sets what the health engine would have computed: a band and indicators. Anything not given
/// is a healthy value.
async fn facts(store: &Store, id: i64, band: &str, over: &[(&str, f64)]) {
    let mut v = vec![
        ("usage_trend", 5.0),
        ("seat_utilization", 0.5),
        ("champion_active", 1.0),
        ("days_to_renewal", 200.0),
        ("nps_latest", 9.0),
    ];
    for (k, x) in over {
        v.retain(|(n, _)| n != k);
        v.push((k, *x));
    }
    let cols: Vec<&str> = v.iter().map(|(k, _)| *k).collect();
    let vals: Vec<String> = v.iter().map(|(_, x)| x.to_string()).collect();
    let score = match band {
        "red" => 30,
        "yellow" => 55,
        _ => 85,
    };
    testing::execute(
        store,
        &format!(
            "DELETE FROM account_indicators WHERE account_id = {id}; \
             INSERT INTO account_indicators (account_id, day, {}) VALUES ({id}, '2026-11-24', {}); \
             UPDATE accounts SET health_band = '{band}', health_score = {score} WHERE id = {id}",
            cols.join(", "),
            vals.join(", ")
        ),
    )
    .await
    .unwrap();
}

/// An NPS answer given `days_ago`.
async fn nps_answer(store: &Store, account: i64, score: i64, days_ago: i64) {
    store
        .create_survey_response(
            Some(AccountId(account)),
            SurveyResponseDraft {
                survey: Some("nps".into()),
                score: Some(score),
                responded_at: Some(Utc::now() - Duration::days(days_ago)),
                ..Default::default()
            },
            &ACTOR,
        )
        .await
        .unwrap();
}

async fn fired(store: &Store) -> BTreeSet<(String, String)> {
    store
        .rule_firings(None, None, 500, 0)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|f| (f.rule_key, f.account_name))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn default_rules_fire_on_their_data_and_not_otherwise() {
    on_each_backend(|store| async move {
        let today = Utc::now().date_naive();
        let ctx = AutomationContext::default();
        store.seed_automation_defaults().await.unwrap();
        store.seed_automation_defaults().await.unwrap();
        assert_eq!(store.list_rules().await.unwrap().len(), 8, "seeded once");
        let csm = user(&store, "csm@example.com", "csm").await;
        user(&store, "lead@example.com", "manager").await;

        let healthy = account(&store, "healthy", csm).await;
        facts(&store, healthy, "green", &[]).await;
        let drop = account(&store, "usage-drop", csm).await;
        facts(&store, drop, "green", &[("usage_trend", -45.0)]).await;
        let small_drop = account(&store, "small-drop", csm).await;
        facts(&store, small_drop, "green", &[("usage_trend", -39.0)]).await;
        let quiet = account(&store, "champion-quiet", csm).await;
        facts(&store, quiet, "green", &[("champion_active", 0.0)]).await;
        let full = account(&store, "seats-full", csm).await;
        facts(&store, full, "green", &[("seat_utilization", 0.95)]).await;
        let risky = account(&store, "renewal-risk", csm).await;
        facts(&store, risky, "yellow", &[("days_to_renewal", 60.0)]).await;
        let safe = account(&store, "renewal-green", csm).await;
        facts(&store, safe, "green", &[("days_to_renewal", 60.0)]).await;
        let far = account(&store, "renewal-far", csm).await;
        facts(&store, far, "yellow", &[("days_to_renewal", 120.0)]).await;

        let run = store.run_daily_rules(today, &ctx).await.unwrap();
        assert_eq!(
            run.rules, 4,
            "four of the defaults are daily or renewal rules"
        );
        assert_eq!(
            fired(&store).await,
            pairs(&[
                ("usage_drop", "usage-drop"),
                ("seats_nearly_full", "seats-full"),
                ("renewal_at_risk", "renewal-risk"),
                ("renewal_playbook", "renewal-risk"),
                ("renewal_playbook", "renewal-green"),
                ("renewal_playbook", "renewal-far"),
            ])
        );
        assert_eq!(run.firings, 6);
        assert_eq!(
            run.effects.tasks_created, 3,
            "one each (playbook steps run when advanced)"
        );
        // The renewal rule started its playbooks; steps run when advanced. (The champion rule is
        // a change rule: `tests/champions.rs`.)
        assert_eq!(run.effects.playbooks_started, 3);

        // Running again changes nothing: each occurrence fires once.
        let again = store.run_daily_rules(today, &ctx).await.unwrap();
        assert_eq!((again.matches, again.firings), (6, 0));

        // The task carries its reason and the values that matched.
        let tasks = store
            .list_tasks(
                &TaskFilter {
                    account_id: Some(drop),
                    ..Default::default()
                },
                today,
            )
            .await
            .unwrap();
        assert_eq!(tasks.total, 1);
        let t = &tasks.items[0];
        assert_eq!(t.owner_id, Some(csm));
        assert_eq!(t.reason.as_str(), "engagement");
        assert_eq!(t.evidence["values"]["usage_trend"], -45.0);
        assert_eq!(t.due_on, Some(today + Duration::days(3)));

        // Change-triggered rules: the band turns red (the database queues the change).
        testing::execute(
            &store,
            &format!(
                "UPDATE accounts SET health_band = 'red', health_score = 30 WHERE id = {healthy}"
            ),
        )
        .await
        .unwrap();
        // A promoter answer does not fire; a detractor's does.
        nps_answer(&store, small_drop, 10, 0).await;
        facts(
            &store,
            full,
            "green",
            &[("seat_utilization", 0.95), ("nps_latest", 3.0)],
        )
        .await;
        nps_answer(&store, full, 3, 0).await;
        // An old answer arriving now (an import of last quarter's survey) is history, not news.
        facts(
            &store,
            safe,
            "green",
            &[("days_to_renewal", 60.0), ("nps_latest", 2.0)],
        )
        .await;
        nps_answer(&store, safe, 2, 60).await;
        let changes = store.run_change_rules(today, &ctx, 1000).await.unwrap();
        assert_eq!(changes.firings, 2, "{changes:?}");
        let all = fired(&store).await;
        assert!(all.contains(&("health_red".into(), "healthy".into())));
        assert!(all.contains(&("nps_detractor".into(), "seats-full".into())));
        assert!(!all
            .iter()
            .any(|(r, a)| r == "nps_detractor" && a == "small-drop"));
        // The queue was consumed: a second pass finds nothing.
        assert_eq!(
            store
                .run_change_rules(today, &ctx, 1000)
                .await
                .unwrap()
                .firings,
            0
        );

        // health_red started the risk escalation playbook; advancing runs its due steps, once.
        let runs = store
            .playbook_runs(Some(healthy), None, Some("active"))
            .await
            .unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].playbook_key, "risk_escalation");
        let adv = store.advance_playbooks(today, &ctx).await.unwrap();
        assert!(adv.tasks_created >= 2, "{adv:?}");
        assert_eq!(
            store
                .advance_playbooks(today, &ctx)
                .await
                .unwrap()
                .tasks_created,
            0
        );
        let later = store
            .advance_playbooks(today + Duration::days(2), &ctx)
            .await
            .unwrap();
        assert_eq!(later.tasks_created, 1, "the manager's step on day 2");
        let manager_tasks = store
            .list_tasks(
                &TaskFilter {
                    account_id: Some(healthy),
                    ..Default::default()
                },
                today,
            )
            .await
            .unwrap();
        assert!(manager_tasks
            .items
            .iter()
            .any(|t| t.owner_name.as_deref() == Some("lead@example.com")));

        // Closing the rule's task lets the rule raise a new one on a later occurrence.
        let id = tasks.items[0].id;
        let e = store
            .update_task(
                id,
                TaskPatch {
                    status: Some(TaskStatus::Closed),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await;
        assert!(e.is_err(), "closing needs an outcome");
        let closed = store
            .update_task(
                id,
                TaskPatch {
                    status: Some(TaskStatus::Closed),
                    outcome: Some(TaskOutcome::Resolved),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
        assert!(closed.closed_at.is_some());
        let tomorrow = store
            .run_daily_rules(today + Duration::days(1), &ctx)
            .await
            .unwrap();
        // Daily rules fire again on a new day; renewal rules fire again only because the test's
        // facts keep the renewal 60 days away (a new renewal date), and their playbooks run already.
        assert_eq!(tomorrow.firings, 6);
        assert_eq!(tomorrow.effects.playbooks_already_running, 3);
        assert_eq!(
            tomorrow.effects.tasks_created, 1,
            "only the closed one comes back"
        );
        assert_eq!(tomorrow.effects.tasks_already_open, 2);
    })
    .await;
}

#[tokio::test]
async fn bad_rules_are_refused_with_the_field() {
    on_each_backend(|store| async move {
        let spec: kizuna_domain::automation::RuleSpec = serde_json::from_value(serde_json::json!({
            "key": "k1", "name": "n", "trigger": {"kind": "daily"}, "condition": "usage_trend < ",
            "actions": [{"kind": "call_webhook", "webhook": "x"}]
        }))
        .unwrap();
        match store.create_rule(spec, &ACTOR).await {
            Err(kizuna_store::StoreError::Invalid(v)) => {
                assert_eq!(v.first().field, "condition");
                assert!(v.first().message.contains("column 14"), "{v}");
            }
            other => panic!("{other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn emails_go_to_recipients_once_and_respect_unsubscribes() {
    on_each_backend(|store| async move {
        let today = Utc::now().date_naive();
        let ctx = AutomationContext {
            base_url: "https://cs.example.com".into(),
            ..Default::default()
        };
        store.seed_automation_defaults().await.unwrap();
        let csm = user(&store, "owner@example.com", "csm").await;
        let a = account(&store, "Mail Co", csm).await;
        for (name, email, champion) in [
            ("Aki", "aki@mail.example", true),
            ("Ben", "ben@mail.example", false),
        ] {
            store
                .create_contact(
                    Some(AccountId(a)),
                    ContactDraft {
                        name: Some(name.into()),
                        email: Some(email.into()),
                        roles: Some(if champion {
                            vec![ContactRole::Champion]
                        } else {
                            vec![]
                        }),
                        ..Default::default()
                    },
                    &ACTOR,
                )
                .await
                .unwrap();
        }
        store.unsubscribe("BEN@mail.example").await.unwrap();
        // The onboarding playbook's day-0 step mails every contact.
        let pb = store.playbook_by_key("onboarding").await.unwrap();
        store.start_playbook(pb.id, a, today, &ACTOR).await.unwrap();
        let dup = store.start_playbook(pb.id, a, today, &ACTOR).await;
        assert!(matches!(
            dup,
            Err(kizuna_store::StoreError::Conflict { .. })
        ));
        let c = store.advance_playbooks(today, &ctx).await.unwrap();
        assert_eq!((c.emails_queued, c.emails_suppressed), (1, 1));
        let log = store.list_emails(&Default::default()).await.unwrap();
        assert_eq!(log.total, 2);
        let aki = log
            .items
            .iter()
            .find(|e| e.to_address == "aki@mail.example")
            .unwrap();
        assert_eq!(aki.status, "queued");
        assert_eq!(aki.subject, "Mail Co 様、ようこそ", "Japanese by default");
        assert!(
            aki.body.contains("https://cs.example.com/u/"),
            "{}",
            aki.body
        );
        assert_eq!(
            log.items
                .iter()
                .find(|e| e.to_address == "ben@mail.example")
                .unwrap()
                .status,
            "suppressed"
        );

        // A claimed e-mail is not claimed twice; a transient failure is retried later; a
        // permanent one is given up.
        let claimed = store.claim_emails(10, 60).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(store.claim_emails(10, 60).await.unwrap().is_empty());
        store
            .record_email(claimed[0].id, Err(("451 try later".into(), false)))
            .await
            .unwrap();
        assert!(
            store.claim_emails(10, 60).await.unwrap().is_empty(),
            "back-off"
        );
        let e = store.list_emails(&Default::default()).await.unwrap();
        let e = e.items.iter().find(|e| e.id == claimed[0].id).unwrap();
        assert_eq!((e.status.as_str(), e.attempts), ("queued", 1));
        assert_eq!(e.last_error.as_deref(), Some("451 try later"));
        store
            .record_email(claimed[0].id, Err(("550 no such user".into(), true)))
            .await
            .unwrap();
        let failed = store
            .list_emails(&kizuna_store::automation::EmailFilter {
                status: Some("failed".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(failed.total, 1);
        store.retry_email(claimed[0].id).await.unwrap();
        assert_eq!(store.claim_emails(10, 60).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn cadence_raises_overdue_engagements_and_closes_them_when_done() {
    on_each_backend(|store| async move {
        let today = Utc::now().date_naive();
        let csm = user(&store, "c@example.com", "csm").await;
        let a = account(&store, "Cadence Co", csm).await;
        testing::execute(&store, &format!(
            "UPDATE accounts SET coverage_tier = 'high_touch', created_at = '2025-01-01T00:00:00Z' WHERE id = {a}")).await.unwrap();
        store.set_cadence(&Cadence::default(), &ACTOR).await.unwrap();
        let c = store.run_cadence(today).await.unwrap();
        assert_eq!(c.tasks_created, 2, "QBR and meeting both overdue");
        assert_eq!(store.run_cadence(today).await.unwrap().tasks_created, 0);
        let cov = store.engagement_coverage(today).await.unwrap();
        let mine = cov.iter().find(|r| r.owner_id == Some(csm)).unwrap();
        assert_eq!((mine.accounts, mine.covered, mine.overdue), (1, 0, 2));
        // A meeting is logged: its task closes, the QBR one stays.
        store
            .create_touchpoint(Some(AccountId(a)), TouchpointDraft {
                kind: Some(TouchpointKind::Meeting),
                subject: Some("Monthly sync".into()),
                occurred_at: Some(Utc::now() - Duration::hours(1)),
                duration_minutes: Some(45),
                ..Default::default()
            }, &ACTOR)
            .await
            .unwrap();
        store.run_cadence(today).await.unwrap();
        let open = store
            .list_tasks(&TaskFilter { account_id: Some(a), ..Default::default() }, today)
            .await
            .unwrap();
        assert_eq!(open.total, 1);
        assert!(open.items[0].title.contains("QBR"));
        let cov = store.engagement_coverage(today).await.unwrap();
        let mine = cov.iter().find(|r| r.owner_id == Some(csm)).unwrap();
        assert_eq!((mine.overdue, mine.touchpoints_90d, mine.minutes_90d), (1, 1, 45));
    })
    .await;
}

#[tokio::test]
async fn survey_answers_are_stored_once_and_feed_nps() {
    on_each_backend(|store| async move {
        let today = Utc::now().date_naive();
        let ctx = AutomationContext::default();
        store.seed_automation_defaults().await.unwrap();
        let csm = user(&store, "s@example.com", "csm").await;
        let a = account(&store, "Survey Co", csm).await;
        for (n, e) in [("A", "a@s.example"), ("B", "b@s.example"), ("C", "")] {
            store
                .create_contact(
                    Some(AccountId(a)),
                    ContactDraft {
                        name: Some(n.into()),
                        email: (!e.is_empty()).then(|| e.to_string()),
                        traits: (n == "B").then(|| {
                            serde_json::json!({"locale": "en-US"})
                                .as_object()
                                .unwrap()
                                .clone()
                        }),
                        ..Default::default()
                    },
                    &ACTOR,
                )
                .await
                .unwrap();
        }
        let sel = kizuna_store::automation::NpsSelection {
            campaign: Some("q4".into()),
            ..Default::default()
        };
        let sent = store.send_nps(&sel, &ctx, &ACTOR).await.unwrap();
        assert_eq!(
            sent.emails_queued, 2,
            "contacts without an address are skipped"
        );
        assert_eq!(
            store
                .send_nps(&sel, &ctx, &ACTOR)
                .await
                .unwrap()
                .emails_queued,
            0,
            "once per campaign"
        );
        let log = store.list_emails(&Default::default()).await.unwrap();
        let b = log
            .items
            .iter()
            .find(|e| e.to_address == "b@s.example")
            .unwrap();
        assert_eq!(b.locale, "en");
        assert!(b.body.contains("/s/"), "{}", b.body);
        // Answer the invitations: the first answer counts, a second does not.
        let mut ids = Vec::new();
        for i in 1..=5 {
            if store.survey_invitation(i).await.is_ok() {
                ids.push(i);
            }
        }
        assert_eq!(ids.len(), 2);
        assert!(store
            .answer_survey(ids[0], 10, Some("great".into()))
            .await
            .unwrap());
        assert!(!store.answer_survey(ids[0], 0, None).await.unwrap());
        assert!(store.answer_survey(ids[1], 11, None).await.is_err());
        assert!(store.answer_survey(ids[1], 4, None).await.unwrap());
        let inv = store.survey_invitation(ids[0]).await.unwrap();
        assert_eq!(inv.score, Some(10));
        let s = store.nps_summary(today).await.unwrap();
        assert_eq!(
            (
                s.overall.responses,
                s.overall.promoters,
                s.overall.detractors
            ),
            (2, 1, 1)
        );
        assert_eq!(s.overall.nps, Some(0.0));
        assert_eq!(s.campaigns[0].invited, 2);
        assert_eq!(s.campaigns[0].answered, 2);
        // The detractor answer is queued for change-triggered rules.
        let queued = store.run_change_rules(today, &ctx, 100).await.unwrap();
        assert_eq!(queued.accounts_checked, 1);
    })
    .await;
}

#[tokio::test]
async fn a_due_job_is_claimed_by_one_instance() {
    on_each_backend(|store| async move {
        let now = kizuna_store::now();
        store
            .ensure_job("demo.job", now - Duration::seconds(1))
            .await
            .unwrap();
        let a = store.claim_job("demo.job", "a", 60).await.unwrap();
        let b = store.claim_job("demo.job", "b", 60).await.unwrap();
        assert!(a.is_some());
        assert!(b.is_none(), "held by a");
        // Only the holder can finish it.
        store
            .finish_job("demo.job", "b", a.unwrap(), now, now, Ok("x".into()))
            .await
            .unwrap();
        assert_eq!(
            store
                .job_history(Some("demo.job"), false, 10)
                .await
                .unwrap()
                .len(),
            0
        );
        store
            .finish_job(
                "demo.job",
                "a",
                a.unwrap(),
                now,
                now + Duration::hours(1),
                Err("boom".into()),
            )
            .await
            .unwrap();
        let jobs = store.jobs().await.unwrap();
        let j = jobs.iter().find(|j| j.name == "demo.job").unwrap();
        assert_eq!((j.runs, j.failures), (1, 1));
        assert_eq!(j.last_error.as_deref(), Some("boom"));
        assert!(
            store
                .claim_job("demo.job", "b", 60)
                .await
                .unwrap()
                .is_none(),
            "not due"
        );
        // A holder that dies leaves a lease that runs out.
        store.make_job_due("demo.job").await.unwrap();
        assert!(store.claim_job("demo.job", "a", 0).await.unwrap().is_some());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(
            store
                .claim_job("demo.job", "b", 60)
                .await
                .unwrap()
                .is_some(),
            "lease expired"
        );
        assert_eq!(store.job_history(None, true, 10).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn stage_changes_start_playbooks_and_usage_events_trigger_rules() {
    on_each_backend(|store| async move {
        let today = Utc::now().date_naive();
        let ctx = AutomationContext::default();
        store.seed_automation_defaults().await.unwrap();
        let csm = user(&store, "e@example.com", "csm").await;
        let a = account(&store, "stage-co", csm).await;
        let b = account(&store, "quiet-co", csm).await;
        store
            .create_rule(
                serde_json::from_value(serde_json::json!({
                    "key": "exports_mean_reach", "name": "Exports: widen coverage",
                    "trigger": {"kind": "event", "event": "report_exported"},
                    "condition": "coverage_tier != 'high_touch'",
                    "actions": [{"kind": "set_field", "field": "coverage_tier", "value": "high_touch"}]
                }))
                .unwrap(),
                &ACTOR,
            )
            .await
            .unwrap();
        // The first pass sets the event rule's watermark; nothing happened yet.
        assert_eq!(store.run_change_rules(today, &ctx, 100).await.unwrap().firings, 0);
        testing::execute(&store, &format!("UPDATE accounts SET lifecycle_stage = 'onboarding' WHERE id = {a}"))
            .await
            .unwrap();
        let at = Utc::now();
        store
            .record_usage(&[kizuna_domain::usage::NewUsageEvent {
                message_id: "m-1".into(),
                account_external_id: Some("ext-stage-co".into()),
                user_id: Some("u-1".into()),
                anonymous_id: None,
                feature: "report_exported".into(),
                occurred_at: at,
                received_at: at,
                properties: None,
            }])
            .await
            .unwrap();
        let run = store.run_change_rules(today, &ctx, 100).await.unwrap();
        assert_eq!(run.firings, 2, "{run:?}");
        assert_eq!(run.effects.fields_set, 1);
        let runs = store.playbook_runs(Some(a), None, Some("active")).await.unwrap();
        assert_eq!(runs.iter().map(|r| r.playbook_key.as_str()).collect::<Vec<_>>(), ["onboarding"]);
        assert!(store.playbook_runs(Some(b), None, None).await.unwrap().is_empty());
        let tier = store.account(AccountId(a)).await.unwrap().coverage_tier;
        assert_eq!(tier.as_str(), "high_touch");
        assert_eq!(store.account(AccountId(b)).await.unwrap().coverage_tier.as_str(), "tech_touch");
        // The same day's event does not fire twice.
        assert_eq!(store.run_change_rules(today, &ctx, 100).await.unwrap().firings, 0);
    })
    .await;
}

/// Usage by one person of an account, `days_ago`.
async fn used(store: &Store, account_ext: &str, user: &str, n: usize, days_ago: i64) {
    let at = Utc::now() - Duration::days(days_ago);
    let events: Vec<kizuna_domain::usage::NewUsageEvent> = (0..n)
        .map(|i| kizuna_domain::usage::NewUsageEvent {
            message_id: format!("{account_ext}-{user}-{days_ago}-{i}"),
            account_external_id: Some(account_ext.into()),
            user_id: Some(user.into()),
            anonymous_id: None,
            feature: "reports".into(),
            occurred_at: at,
            received_at: at,
            properties: None,
        })
        .collect();
    store.record_usage(&events).await.unwrap();
}

#[tokio::test]
async fn champions_are_scored_and_one_leaving_starts_the_playbook() {
    on_each_backend(|store| async move {
        let today = Utc::now().date_naive();
        let ctx = AutomationContext::default();
        store.seed_automation_defaults().await.unwrap();
        let csm = user(&store, "csm@example.com", "csm").await;
        let a = account(&store, "champ-co", csm).await;
        let contact = |ext: &str, roles: Vec<ContactRole>| ContactDraft {
            external_id: Some(ext.into()),
            name: Some(ext.into()),
            roles: Some(roles),
            ..Default::default()
        };
        let hana = store
            .create_contact(
                Some(AccountId(a)),
                contact("hana", vec![ContactRole::Champion]),
                &ACTOR,
            )
            .await
            .unwrap();
        let ken = store
            .create_contact(
                Some(AccountId(a)),
                contact("ken", vec![ContactRole::Admin]),
                &ACTOR,
            )
            .await
            .unwrap();
        used(&store, "ext-champ-co", "hana", 20, 2).await;
        used(&store, "ext-champ-co", "ken", 40, 1).await;

        // Hana: usage 20/40, role 1, no touchpoints, active → 100 × (0.2 + 0.3 + 0 + 0.15) = 65.
        // Ken: usage 1, role 0.6 → 100 × (0.4 + 0.18 + 0.15) = 73. Ken scores higher, but Hana is
        // the tagged champion and active, so nobody is suggested.
        let scores = store.account_champions(AccountId(a), today).await.unwrap();
        assert_eq!(
            scores
                .iter()
                .map(|c| (c.contact_id, c.score, c.tagged, c.suggested))
                .collect::<Vec<_>>(),
            vec![
                (ken.id.0, 73.0, false, false),
                (hana.id.0, 65.0, true, false)
            ]
        );

        // The first pass records the champions and raises nothing; a second the same day neither.
        let first = store.run_champion_pass(today).await.unwrap();
        assert_eq!((first.accounts, first.champions, first.changes), (1, 1, 0));
        assert_eq!(store.run_champion_pass(today).await.unwrap().changes, 0);

        // Hana leaves: the next pass queues the change, Ken is suggested, and the change rule
        // raises a task and starts the champion playbook.
        store
            .update_contact(
                hana.id,
                ContactDraft {
                    left_at: Some(Utc::now() - Duration::hours(1)),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
        let after = store.run_champion_pass(today).await.unwrap();
        assert_eq!((after.changes, after.left), (1, 1), "{after:?}");
        let scores = store.account_champions(AccountId(a), today).await.unwrap();
        assert!(scores[0].suggested && scores[0].contact_id == ken.id.0);
        let changes = store.run_change_rules(today, &ctx, 1000).await.unwrap();
        assert_eq!(changes.firings, 1, "{changes:?}");
        assert_eq!(
            fired(&store).await,
            pairs(&[("champion_quiet_or_left", "champ-co")])
        );
        assert_eq!(changes.effects.tasks_created, 1);
        assert_eq!(changes.effects.playbooks_started, 1);
        // Read again: the departure is not news twice.
        assert_eq!(store.run_champion_pass(today).await.unwrap().changes, 0);
        assert_eq!(
            store
                .run_change_rules(today, &ctx, 1000)
                .await
                .unwrap()
                .firings,
            0
        );
    })
    .await;
}
