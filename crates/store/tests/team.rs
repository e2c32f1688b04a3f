//! Team reads and writes on both backends: the shipped framework written once, assessments with
//! their history and the standings against the ladder, the checks that name the field, the
//! workload's task counts, and the incentive calculator's actuals and payouts against a
//! hand-computed quarter.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use kizuna_domain::account::AccountDraft;
use kizuna_domain::automation::Reason;
use kizuna_domain::ids::{AccountId, UserId};
use kizuna_domain::insight::dashboard::Period;
use kizuna_domain::subscription::{SubscriptionDraft, SubscriptionStatus};
use kizuna_domain::survey::SurveyResponseDraft;
use kizuna_domain::team::competency::{CareerLevelDraft, ScaleLevel};
use kizuna_domain::team::incentive::{PlanDraft, TargetDraft};
use kizuna_domain::user::{NewUser, Role, UserDraft};
use kizuna_store::automation::TaskDraft;
use kizuna_store::testing::{self, TestDb};
use kizuna_store::{Actor, AssessmentDraft, AssessmentFilter, Store, StoreError};

const ACTOR: Actor = Actor::System("test");

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn noon(day: &str) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d(day).and_hms_opt(12, 0, 0).unwrap())
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-6, "{a} != {b}");
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

async fn user(store: &Store, name: &str, role: Role) -> i64 {
    let new = NewUser::parse(UserDraft {
        email: Some(format!("{}@example.com", name.to_lowercase())),
        name: Some(name.into()),
        role: Some(role),
        ..Default::default()
    })
    .unwrap();
    store.create_user(new, None, &ACTOR).await.unwrap().id.0
}

async fn account(store: &Store, name: &str, owner: Option<i64>) -> AccountId {
    store
        .create_account(
            AccountDraft {
                name: Some(name.into()),
                owner_id: owner.map(UserId),
                ..Default::default()
            },
            &ACTOR,
        )
        .await
        .unwrap()
        .id
}

async fn term(
    store: &Store,
    a: AccountId,
    start: &str,
    end: &str,
    mrr: f64,
    status: SubscriptionStatus,
) -> kizuna_domain::ids::SubscriptionId {
    store
        .create_subscription(
            Some(a),
            SubscriptionDraft {
                mrr: Some(mrr),
                seats: Some(10),
                start_date: Some(d(start)),
                end_date: Some(d(end)),
                status: Some(status),
                ..Default::default()
            },
            &ACTOR,
        )
        .await
        .unwrap()
        .id
}

async fn nps(store: &Store, a: AccountId, score: i64, on: &str) {
    store
        .create_survey_response(
            Some(a),
            SurveyResponseDraft {
                score: Some(score),
                responded_at: Some(noon(on)),
                ..Default::default()
            },
            &ACTOR,
        )
        .await
        .unwrap();
}

fn invalid_field(e: StoreError) -> String {
    match e {
        StoreError::Invalid(v) => v.errors[0].field.clone(),
        other => panic!("not a validation error: {other:?}"),
    }
}

#[tokio::test]
async fn framework_assessments_and_standings() {
    on_each_backend(|store| async move {
        let aoi = user(&store, "Aoi", Role::Csm).await;
        user(&store, "Admin", Role::Admin).await;
        store.ensure_team_framework().await.unwrap();
        store.ensure_team_framework().await.unwrap();
        let m = store.competency_matrix().await.unwrap();
        assert_eq!(m.scale.len(), 4);
        assert_eq!(m.skills.len(), 10);
        assert_eq!(m.ladder.len(), 4);
        assert_eq!(m.skills[0].key, "relationship");
        assert_eq!(m.skills[0].levels.len(), 4);
        // Only CSMs and managers are members; the admin is not.
        assert_eq!(m.members.len(), 1);
        let csm_level = m.ladder.iter().find(|l| l.key == "csm").unwrap().clone();
        assert_eq!(csm_level.expectations["relationship"], 3);
        assert_eq!(csm_level.expectations["commercial"], 2);
        store
            .set_member_career(aoi, Some(csm_level.id), &ACTOR)
            .await
            .unwrap();

        let today = d("2026-11-24");
        for (key, level, on) in [
            ("relationship", 2, "2026-01-10"),
            ("relationship", 3, "2026-06-01"),
            // Recorded later but dated earlier: history, not the current level.
            ("relationship", 1, "2026-03-01"),
            ("product_depth", 3, "2026-06-01"),
            ("commercial", 1, "2026-06-02"),
        ] {
            store
                .record_assessment(
                    AssessmentDraft {
                        user_id: Some(aoi),
                        skill_key: Some(key.into()),
                        level: Some(level),
                        assessed_on: Some(d(on)),
                        note: Some("1:1".into()),
                        ..Default::default()
                    },
                    today,
                    &ACTOR,
                )
                .await
                .unwrap();
        }
        let m = store.competency_matrix().await.unwrap();
        let me = m.member(aoi).unwrap();
        assert_eq!(me.career_level_id, Some(csm_level.id));
        let senior = m.ladder.iter().find(|l| l.key == "senior").unwrap();
        assert_eq!(me.next_career_level_id, Some(senior.id));
        let standing = |k: &str| me.standings.iter().find(|s| s.skill == k).unwrap();
        assert_eq!(standing("relationship").current, Some(3));
        assert_eq!(standing("relationship").gap, 0);
        assert_eq!(standing("commercial").current, Some(1));
        assert_eq!(
            (standing("commercial").gap, standing("commercial").next_gap),
            (1, 2)
        );
        // Never assessed counts as 0: onboarding expects 3 at CSM.
        assert_eq!(standing("onboarding").current, None);
        assert_eq!(standing("onboarding").gap, 3);
        // Ten skills, two meet the CSM level (relationship 3, product depth 3).
        assert_eq!(me.gaps, 8);
        assert_eq!((me.readiness.required, me.readiness.met), (10, 2));
        close(me.readiness.share.unwrap(), 0.2);
        assert_eq!(me.last_assessed_on, Some(d("2026-06-02")));

        // History of one skill, newest first.
        let rel = m.skills.iter().find(|s| s.key == "relationship").unwrap();
        let page = store
            .assessments(
                AssessmentFilter {
                    user_id: Some(aoi),
                    skill_id: Some(rel.id),
                },
                Some(2),
                None,
            )
            .await
            .unwrap();
        assert_eq!(page.total, 3);
        assert_eq!(
            page.items.iter().map(|a| a.level).collect::<Vec<_>>(),
            vec![3, 1]
        );
        assert_eq!(page.next_offset, Some(2));
        assert_eq!(page.items[0].note.as_deref(), Some("1:1"));

        // Bad input names the field.
        let bad = |draft: AssessmentDraft| {
            let store = store.clone();
            async move { store.record_assessment(draft, today, &ACTOR).await }
        };
        let e = bad(AssessmentDraft {
            user_id: Some(aoi),
            skill_key: Some("relationship".into()),
            level: Some(5),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(invalid_field(e), "level");
        let e = bad(AssessmentDraft {
            user_id: Some(aoi),
            skill_key: Some("juggling".into()),
            level: Some(2),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(invalid_field(e), "skill_key");
        let e = bad(AssessmentDraft {
            user_id: Some(aoi),
            skill_id: Some(rel.id),
            level: Some(2),
            assessed_on: Some(d("2026-12-01")),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(invalid_field(e), "assessed_on");
        let e = bad(AssessmentDraft {
            user_id: Some(99_999),
            skill_id: Some(rel.id),
            level: Some(2),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(invalid_field(e), "user_id");

        // The scale cannot lose a level still in use.
        let three: Vec<ScaleLevel> = m.scale[..3].to_vec();
        let e = store
            .set_competency_scale(&three, &ACTOR)
            .await
            .unwrap_err();
        assert_eq!(invalid_field(e), "levels");
        // Renaming keeps four levels.
        let mut renamed = m.scale.clone();
        renamed[3].name_en = "Master".into();
        store.set_competency_scale(&renamed, &ACTOR).await.unwrap();
        assert_eq!(store.competency_scale().await.unwrap()[3].name_en, "Master");

        // A career level must name skills of the framework; one in use cannot be deleted.
        let e = store
            .create_career_level(
                CareerLevelDraft {
                    key: Some("lead".into()),
                    name_ja: Some("リード".into()),
                    name_en: Some("Lead".into()),
                    rank: Some(5),
                    expectations: Some([("nope".to_string(), 2)].into_iter().collect()),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_field(e), "expectations.nope");
        let e = store
            .delete_career_level(csm_level.id, &ACTOR)
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}");
        // Changing expectations changes the gaps.
        store
            .update_career_level(
                csm_level.id,
                CareerLevelDraft {
                    expectations: Some([("commercial".to_string(), 1)].into_iter().collect()),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
        let m = store.competency_matrix().await.unwrap();
        assert_eq!(m.member(aoi).unwrap().gaps, 0);

        // A deleted skill takes its assessments along and is not written again.
        store.delete_skill(rel.id, &ACTOR).await.unwrap();
        store.ensure_team_framework().await.unwrap();
        let m = store.competency_matrix().await.unwrap();
        assert_eq!(m.skills.len(), 9);
        let left = store
            .assessments(
                AssessmentFilter {
                    user_id: Some(aoi),
                    skill_id: None,
                },
                None,
                None,
            )
            .await
            .unwrap();
        assert_eq!(left.total, 2);
    })
    .await;
}

#[tokio::test]
async fn workload_counts_open_and_overdue_tasks() {
    on_each_backend(|store| async move {
        let aoi = user(&store, "Aoi", Role::Csm).await;
        let ben = user(&store, "Ben", Role::Csm).await;
        let mine = account(&store, "Mine", Some(aoi)).await;
        let pooled = account(&store, "Pooled", None).await;
        let today = d("2026-11-24");
        let task = |account: AccountId, owner: Option<i64>, due: &str| {
            let store = store.clone();
            let due = d(due);
            async move {
                store
                    .create_task(
                        TaskDraft {
                            account_id: account.0,
                            kind: None,
                            priority: None,
                            title: "follow up".into(),
                            reason: Reason::Engagement,
                            owner_id: owner,
                            due_on: Some(due),
                        },
                        &ACTOR,
                    )
                    .await
                    .unwrap()
            }
        };
        // Aoi: overdue, due later, unassigned on her account (counts for her), and one closed.
        task(mine, Some(aoi), "2026-11-20").await;
        task(mine, Some(aoi), "2026-12-01").await;
        task(mine, None, "2026-11-01").await;
        let closed = task(mine, Some(aoi), "2026-10-01").await;
        testing::execute(
            &store,
            &format!(
                "UPDATE tasks SET status = 'closed' WHERE id = {}",
                closed.id
            ),
        )
        .await
        .unwrap();
        // Ben is assigned a task on the unowned account; the unowned book has one of its own.
        task(pooled, Some(ben), "2026-11-23").await;
        task(pooled, None, "2026-12-24").await;
        let books = store.team_workload(today).await.unwrap();
        let of = |o: Option<i64>| books.iter().find(|b| b.owner_id == o).unwrap();
        assert_eq!(
            (of(Some(aoi)).open_tasks, of(Some(aoi)).overdue_tasks),
            (3, 2)
        );
        assert_eq!(
            (of(Some(ben)).open_tasks, of(Some(ben)).overdue_tasks),
            (1, 1)
        );
        assert_eq!((of(None).open_tasks, of(None).overdue_tasks), (1, 0));
        assert_eq!(of(None).accounts, 1);
    })
    .await;
}

#[tokio::test]
async fn incentive_actuals_and_payouts_for_a_hand_computed_quarter() {
    use SubscriptionStatus::*;
    on_each_backend(|store| async move {
        let aoi = user(&store, "Aoi", Role::Csm).await;
        let ben = user(&store, "Ben", Role::Csm).await;
        // X renews on 2026-04-30 from 1,000 to 1,200 MRR (200 expansion inside Q2).
        let x = account(&store, "X", Some(aoi)).await;
        term(&store, x, "2025-05-01", "2026-04-30", 1000.0, Renewed).await;
        term(&store, x, "2026-05-01", "2027-04-30", 1200.0, Active).await;
        // Y renews flat on 2026-05-31.
        let y = account(&store, "Y", Some(aoi)).await;
        term(&store, y, "2025-06-01", "2026-05-31", 500.0, Renewed).await;
        term(&store, y, "2026-06-01", "2027-05-31", 500.0, Active).await;
        // Z contracts from 300 to 250 on 2026-05-15.
        let z = account(&store, "Z", Some(aoi)).await;
        let zs = term(&store, z, "2026-01-01", "2026-12-31", 300.0, Active).await;
        store
            .update_subscription_on(
                zs,
                SubscriptionDraft {
                    mrr: Some(250.0),
                    effective_date: Some(d("2026-05-15")),
                    ..Default::default()
                },
                &ACTOR,
                d("2026-05-15"),
            )
            .await
            .unwrap();
        let w = account(&store, "W", Some(ben)).await;
        term(&store, w, "2026-01-01", "2026-12-31", 100.0, Active).await;
        // NPS in Q2 for Aoi: 10, 9, 7, 3 → (2 − 1) / 4 = 25; in Q1: 10, 10 → 100 (it fell).
        for (a, s, on) in [
            (x, 10, "2026-04-10"),
            (y, 9, "2026-05-10"),
            (z, 7, "2026-06-10"),
            (z, 3, "2026-06-30"),
            (x, 10, "2026-02-01"),
            (y, 10, "2026-03-31"),
            (w, 9, "2026-05-05"),
            // Outside both quarters.
            (w, 0, "2026-07-01"),
        ] {
            nps(&store, a, s, on).await;
        }
        let q2 = Period {
            from: d("2026-04-01"),
            to: d("2026-06-30"),
        };
        let actuals = store.incentive_actuals(q2).await.unwrap();
        let a = actuals[&aoi];
        assert_eq!(a.renewals, 2);
        close(a.renewing_arr, 18_000.0);
        close(a.renewed_arr, 18_000.0);
        close(a.expansion_mrr, 200.0);
        close(a.contraction_mrr, 50.0);
        close(a.churned_mrr, 0.0);
        close(a.nnmrr(), 150.0);
        assert_eq!(a.nps_responses, 4);
        close(a.nps.unwrap(), 25.0);
        close(a.previous_nps.unwrap(), 100.0);
        let b = actuals[&ben];
        assert_eq!((b.renewals, b.nps_responses), (0, 1));
        close(b.nps.unwrap(), 100.0);
        assert_eq!(b.previous_nps, None);

        // Plan: 100,000 at target; 0.5 / 0.3 / 0.2; gate NPS 30; ×0.8 when NPS falls.
        let plan = store
            .create_incentive_plan(
                PlanDraft {
                    name: Some("FY26 Q2".into()),
                    period_from: Some(q2.from),
                    period_to: Some(q2.to),
                    target_bonus: Some(100_000.0),
                    nps_gate: Some(30.0),
                    nps_fall_multiplier: Some(0.8),
                    nps_target: Some(40.0),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
        assert_eq!(plan.renewal_rate_target, 0.9);
        store
            .set_incentive_target(
                plan.id,
                aoi,
                TargetDraft {
                    nnmrr: Some(100.0),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
        let e = store
            .set_incentive_target(
                plan.id,
                aoi,
                TargetDraft {
                    nps: Some(0.0),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_field(e), "nps");
        let report = store.incentive_report(plan.id, None).await.unwrap();
        assert_eq!(report.period, q2);
        let row = |u: i64| report.rows.iter().find(|r| r.user_id == u).unwrap();
        let p = &row(aoi).payout;
        // Renewal 1.0 / 0.9 → 50,000 × 1.111 = 55,555.56; expansion gated (NPS 25 < 30);
        // NPS 25 / 40 = 0.625 → 20,000 × 0.625 = 12,500; fell from 100: × 0.8.
        close(p.components[0].payout, 50_000.0 / 0.9);
        assert!(p.components[1].gated);
        close(p.components[1].attainment.unwrap(), 1.5);
        close(p.components[2].payout, 12_500.0);
        close(p.total, (50_000.0 / 0.9 + 12_500.0) * 0.8);
        // Ben: only NPS has data (no renewal, no expansion target): all the weight, capped 1.5.
        let p = &row(ben).payout;
        close(p.components[2].effective_weight, 1.0);
        close(p.total, 150_000.0);
        close(
            report.total_payout,
            (50_000.0 / 0.9 + 12_500.0) * 0.8 + 150_000.0,
        );

        // Computed ahead (the scheduler's precompute), the actuals and the report are the same.
        let today = d("2026-11-24");
        let kept = store.precompute_team(today).await.unwrap();
        assert_eq!(kept, 2, "the plan's actuals and the workload");
        // What the store reads next is the kept copy.
        let newer_than = chrono::Utc::now() - chrono::Duration::minutes(1);
        assert!(store
            .precomputed(
                &format!("incentive_actuals|{}|{}", q2.from, q2.to),
                newer_than
            )
            .await
            .unwrap()
            .is_some());
        assert_eq!(store.incentive_actuals(q2).await.unwrap(), actuals);
        assert_eq!(store.incentive_report(plan.id, None).await.unwrap(), report);
        assert_eq!(
            store.team_workload_ahead(today).await.unwrap(),
            store.team_workload(today).await.unwrap()
        );

        // Plans page, and the one in force on a day.
        let page = store.list_incentive_plans(None, None).await.unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(
            store
                .incentive_plan_for(d("2026-05-01"))
                .await
                .unwrap()
                .unwrap()
                .id,
            plan.id
        );
        let e = store
            .update_incentive_plan(
                plan.id,
                PlanDraft {
                    name: Some("x".into()),
                    period_from: Some(q2.to),
                    period_to: Some(q2.from),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_field(e), "period_to");
        store.delete_incentive_plan(plan.id, &ACTOR).await.unwrap();
        assert!(matches!(
            store.incentive_plan(plan.id).await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}
