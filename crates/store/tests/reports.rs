//! The report builder on both backends, against a small portfolio whose sums and counts per
//! group are worked out by hand below: row views with filters, sort and paging, grouped views
//! with date buckets and mixed currencies, the CSV export read in pages, the shipped reports and
//! saved reports with their visibility.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use futures::TryStreamExt;
use kizuna_domain::account::{AccountDraft, ContractValueTier};
use kizuna_domain::automation::{Reason, TaskPriority};
use kizuna_domain::contact::ContactDraft;
use kizuna_domain::ids::{AccountId, UserId};
use kizuna_domain::insight::report::{Cell, ReportDefinition, ReportDraft, ReportResult};
use kizuna_domain::subscription::{SubscriptionDraft, SubscriptionStatus};
use kizuna_domain::touchpoint::{TouchpointDraft, TouchpointKind};
use kizuna_domain::user::{NewUser, Role, UserDraft};
use kizuna_store::automation::TaskDraft;
use kizuna_store::testing::{self, TestDb};
use kizuna_store::{Actor, ReportInput, ReportReader, Store, StoreError};
use serde_json::json;

const ACTOR: Actor = Actor::System("test");

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn noon(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(12, 0, 0).unwrap())
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
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

async fn user(store: &Store, name: &str, role: Role) -> UserId {
    store
        .create_user(
            NewUser::parse(UserDraft {
                email: Some(format!("{}@example.com", name.to_lowercase())),
                name: Some(name.into()),
                role: Some(role),
                ..Default::default()
            })
            .unwrap(),
            None,
            &ACTOR,
        )
        .await
        .unwrap()
        .id
}

struct Fixture {
    aiko: UserId,
    ben: UserId,
    alpha: AccountId,
    bravo: AccountId,
    charlie: AccountId,
}

async fn account(
    store: &Store,
    name: &str,
    segment: ContractValueTier,
    owner: Option<UserId>,
    currency: &str,
    mrr: Option<f64>,
    band: Option<(&str, f64)>,
) -> AccountId {
    let id = store
        .create_account(
            AccountDraft {
                name: Some(name.into()),
                contract_value_tier: Some(segment),
                owner_id: owner,
                currency: Some(currency.into()),
                ..Default::default()
            },
            &ACTOR,
        )
        .await
        .unwrap()
        .id;
    if let Some(mrr) = mrr {
        store
            .create_subscription(
                Some(id),
                SubscriptionDraft {
                    product: Some("Kizuna Cloud".into()),
                    mrr: Some(mrr),
                    currency: Some(currency.into()),
                    seats: Some(10),
                    start_date: Some(today() - Duration::days(200)),
                    end_date: Some(today() + Duration::days(100)),
                    status: Some(SubscriptionStatus::Active),
                    ..Default::default()
                },
                &ACTOR,
            )
            .await
            .unwrap();
    }
    if let Some((band, score)) = band {
        testing::execute(
            store,
            &format!(
                "UPDATE accounts SET health_band = '{band}', health_score = {score} WHERE id = {}",
                id.0
            ),
        )
        .await
        .unwrap();
    }
    id
}

async fn touch(store: &Store, a: AccountId, on: &str, kind: TouchpointKind, minutes: i64) {
    store
        .create_touchpoint(
            Some(a),
            TouchpointDraft {
                kind: Some(kind),
                subject: Some("check-in".into()),
                occurred_at: Some(noon(d(on))),
                duration_minutes: Some(minutes),
                ..Default::default()
            },
            &ACTOR,
        )
        .await
        .unwrap();
}

async fn task(store: &Store, a: AccountId, owner: UserId, priority: TaskPriority) -> i64 {
    store
        .create_task(
            TaskDraft {
                account_id: a.0,
                kind: None,
                priority: Some(priority),
                title: "Follow up".into(),
                reason: Reason::Engagement,
                owner_id: Some(owner.0),
                due_on: None,
            },
            &ACTOR,
        )
        .await
        .unwrap()
        .id
}

/// The portfolio (amounts in major units; ARR = 12 × MRR):
///
/// | account  | segment    | owner | currency | ARR       | band   |
/// |----------|------------|-------|----------|-----------|--------|
/// | Alpha    | enterprise | Aiko  | JPY      | 1,200,000 | green  |
/// | Bravo    | enterprise | Ben   | JPY      |   600,000 | red    |
/// | Charlie  | smb        | Aiko  | JPY      |   120,000 | green  |
/// | Delta    | smb        | —     | USD      |     1,194 | yellow |
/// | Echo     | mid_market | Ben   | JPY      |         0 | —      |
/// | Foxtrot  | enterprise | Ben   | JPY      | (deleted, never reported)   |
async fn fixture(store: &Store) -> Fixture {
    let aiko = user(store, "Aiko", Role::Csm).await;
    let ben = user(store, "Ben", Role::Csm).await;
    use ContractValueTier::*;
    let alpha = account(
        store,
        "Alpha",
        Enterprise,
        Some(aiko),
        "JPY",
        Some(100_000.0),
        Some(("green", 80.0)),
    )
    .await;
    let bravo = account(
        store,
        "Bravo",
        Enterprise,
        Some(ben),
        "JPY",
        Some(50_000.0),
        Some(("red", 30.0)),
    )
    .await;
    let charlie = account(
        store,
        "Charlie",
        Smb,
        Some(aiko),
        "JPY",
        Some(10_000.0),
        Some(("green", 75.0)),
    )
    .await;
    account(
        store,
        "Delta",
        Smb,
        None,
        "USD",
        Some(99.5),
        Some(("yellow", 55.0)),
    )
    .await;
    account(store, "Echo", MidMarket, Some(ben), "JPY", None, None).await;
    let foxtrot = account(
        store,
        "Foxtrot",
        Enterprise,
        Some(ben),
        "JPY",
        Some(70_000.0),
        Some(("red", 10.0)),
    )
    .await;

    touch(store, alpha, "2026-01-10", TouchpointKind::Call, 30).await;
    touch(store, alpha, "2026-02-20", TouchpointKind::Meeting, 60).await;
    touch(store, alpha, "2026-03-05", TouchpointKind::Call, 15).await;
    touch(store, bravo, "2026-01-25", TouchpointKind::Call, 45).await;
    touch(store, charlie, "2025-12-31", TouchpointKind::Qbr, 90).await;
    touch(store, foxtrot, "2026-01-12", TouchpointKind::Call, 500).await;
    store.delete_account(foxtrot, &ACTOR).await.unwrap();

    task(store, alpha, aiko, TaskPriority::High).await;
    task(store, alpha, aiko, TaskPriority::Medium).await;
    task(store, bravo, ben, TaskPriority::High).await;
    let done = task(store, bravo, ben, TaskPriority::Low).await;
    testing::execute(
        store,
        &format!("UPDATE tasks SET status = 'closed' WHERE id = {done}"),
    )
    .await
    .unwrap();

    store
        .create_contact(
            Some(alpha),
            ContactDraft {
                name: Some("Hana Sato".into()),
                email: Some("hana@alpha.example".into()),
                ..Default::default()
            },
            &ACTOR,
        )
        .await
        .unwrap();
    Fixture {
        aiko,
        ben,
        alpha,
        bravo,
        charlie,
    }
}

fn def(v: serde_json::Value) -> ReportDefinition {
    let draft: ReportDraft = serde_json::from_value(v).unwrap();
    ReportDefinition::parse(&draft).unwrap()
}

async fn run(store: &Store, v: serde_json::Value) -> ReportResult {
    store.run_report(&def(v), today(), 0, None).await.unwrap()
}

fn t(s: &str) -> Cell {
    Cell::Text(s.into())
}

fn n(v: f64) -> Cell {
    Cell::Number(v)
}

fn table(r: &ReportResult) -> Vec<Vec<Cell>> {
    r.rows.iter().map(|r| r.cells.clone()).collect()
}

fn currencies(r: &ReportResult) -> Vec<Option<&str>> {
    r.rows.iter().map(|r| r.currency.as_deref()).collect()
}

#[tokio::test]
async fn row_view_filters_sorts_and_pages() {
    on_each_backend(|store| async move {
        let _ = fixture(&store).await;
        let big = json!({
            "subject": "accounts",
            "columns": ["name", "owner", "arr", "segment"],
            "filters": [{"field": "arr", "op": "ge", "value": 100000}],
            "sort": [{"field": "arr", "desc": true}]
        });
        let r = run(&store, big.clone()).await;
        assert!(!r.grouped);
        assert_eq!(r.total, 3);
        assert_eq!(
            table(&r),
            vec![
                vec![t("Alpha"), t("Aiko"), n(1_200_000.0), t("enterprise")],
                vec![t("Bravo"), t("Ben"), n(600_000.0), t("enterprise")],
                vec![t("Charlie"), t("Aiko"), n(120_000.0), t("smb")],
            ]
        );
        assert_eq!(currencies(&r), [Some("JPY"); 3]);

        // Pages of two: the second starts where the first ended.
        let first = store.run_report(&def(big.clone()), today(), 0, Some(2)).await.unwrap();
        assert_eq!(first.rows.len(), 2);
        assert_eq!(first.next_offset, Some(2));
        let second = store.run_report(&def(big), today(), 2, Some(2)).await.unwrap();
        assert_eq!(table(&second), vec![vec![t("Charlie"), t("Aiko"), n(120_000.0), t("smb")]]);
        assert_eq!(second.next_offset, None);

        let names = |r: &ReportResult| -> Vec<String> {
            r.rows.iter().map(|row| row.cells[0].plain()).collect()
        };
        let with = |filter: serde_json::Value| {
            json!({"subject": "accounts", "columns": ["name"], "filters": [filter]})
        };
        // Case does not matter to `contains`; the deleted Foxtrot never shows.
        assert_eq!(names(&run(&store, with(json!({"field": "name", "op": "contains", "value": "HA"}))).await), ["Alpha", "Charlie"]);
        assert_eq!(names(&run(&store, with(json!({"field": "owner", "op": "is_empty"}))).await), ["Delta"]);
        assert_eq!(names(&run(&store, with(json!({"field": "health_band", "op": "is_empty"}))).await), ["Echo"]);
        assert_eq!(names(&run(&store, with(json!({"field": "segment", "op": "in", "value": ["smb", "mid_market"]}))).await), ["Charlie", "Delta", "Echo"]);
        assert_eq!(names(&run(&store, with(json!({"field": "segment", "op": "ne", "value": "enterprise"}))).await), ["Charlie", "Delta", "Echo"]);
        assert_eq!(names(&run(&store, with(json!({"field": "health_score", "op": "between", "value": [50, 79]}))).await), ["Charlie", "Delta"]);
        assert_eq!(names(&run(&store, with(json!({"field": "health_score", "op": "lt", "value": 55}))).await), ["Bravo"]);
        assert_eq!(names(&run(&store, with(json!({"field": "health_score", "op": "le", "value": 55}))).await), ["Bravo", "Delta"]);
        assert_eq!(names(&run(&store, with(json!({"field": "owner", "op": "eq", "value": "Ben"}))).await), ["Bravo", "Echo"]);
        // A renewal in 100 days: inside the next 120, outside the next 90.
        assert_eq!(names(&run(&store, with(json!({"field": "renewal_date", "op": "between", "value": ["today", "today+120"]}))).await), ["Alpha", "Bravo", "Charlie", "Delta"]);
        assert_eq!(run(&store, with(json!({"field": "renewal_date", "op": "le", "value": "today+90"}))).await.total, 0);
        // A text that looks like SQL is only ever a value.
        assert_eq!(run(&store, with(json!({"field": "name", "op": "contains", "value": "%' OR 1=1 --"}))).await.total, 0);
        assert_eq!(run(&store, with(json!({"field": "name", "op": "contains", "value": "%"}))).await.total, 0);
    })
    .await;
}

#[tokio::test]
async fn grouped_sums_and_counts_match_the_hand_computed_portfolio() {
    on_each_backend(|store| async move {
        let f = fixture(&store).await;
        let r = run(&store, json!({
            "subject": "accounts",
            "group_by": [{"field": "segment"}],
            "aggregates": [{"fn": "sum", "field": "arr"}, {"fn": "count"}, {"fn": "avg", "field": "health_score"}]
        }))
        .await;
        assert!(r.grouped);
        assert_eq!(
            table(&r),
            vec![
                vec![t("enterprise"), n(1_800_000.0), n(2.0), n(55.0)],
                vec![t("mid_market"), n(0.0), n(1.0), Cell::Null],
                vec![t("smb"), n(121_194.0), n(2.0), n(65.0)],
            ]
        );
        // Yen and dollars in one group: the sum has no single currency.
        assert_eq!(currencies(&r), [Some("JPY"), Some("JPY"), None]);

        let r = run(&store, json!({
            "subject": "accounts",
            "group_by": [{"field": "segment"}, {"field": "health_band"}],
            "aggregates": [{"fn": "sum", "field": "arr"}],
            "sort": [{"field": "sum_arr", "desc": true}]
        }))
        .await;
        assert_eq!(
            table(&r),
            vec![
                vec![t("enterprise"), t("green"), n(1_200_000.0)],
                vec![t("enterprise"), t("red"), n(600_000.0)],
                vec![t("smb"), t("green"), n(120_000.0)],
                vec![t("smb"), t("yellow"), n(1_194.0)],
                vec![t("mid_market"), Cell::Null, n(0.0)],
            ]
        );

        // By owner (the name joined after grouping by the owner's id), filtered: Aiko's Alpha;
        // Ben's Bravo and Echo (no score). Charlie and Delta are SMB; Foxtrot is deleted.
        let r = run(&store, json!({
            "subject": "accounts",
            "filters": [{"field": "segment", "op": "ne", "value": "smb"}],
            "group_by": [{"field": "owner"}],
            "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "arr"}, {"fn": "max", "field": "health_score"},
                           {"fn": "avg", "field": "health_score"}, {"fn": "min", "field": "mrr"}]
        }))
        .await;
        assert_eq!(
            table(&r),
            vec![
                vec![t("Aiko"), n(1.0), n(1_200_000.0), n(80.0), n(80.0), n(100_000.0)],
                vec![t("Ben"), n(2.0), n(600_000.0), n(30.0), n(30.0), n(0.0)],
            ]
        );
        assert_eq!(currencies(&r), [Some("JPY"), Some("JPY")]);

        // Aggregates without a grouping: one total row.
        let r = run(&store, json!({
            "subject": "accounts",
            "filters": [{"field": "segment", "op": "eq", "value": "enterprise"}],
            "aggregates": [{"fn": "count"}, {"fn": "min", "field": "arr"}, {"fn": "max", "field": "arr"}]
        }))
        .await;
        assert_eq!(table(&r), vec![vec![n(2.0), n(600_000.0), n(1_200_000.0)]]);

        // Subscriptions by the account's owner: Aiko 1,200,000 + 120,000; Ben 600,000; the
        // unowned Delta's 99.50 dollars a month.
        let r = run(&store, json!({
            "subject": "subscriptions",
            "group_by": [{"field": "account_owner"}],
            "aggregates": [{"fn": "sum", "field": "arr"}, {"fn": "sum", "field": "mrr"}]
        }))
        .await;
        assert_eq!(
            table(&r),
            vec![
                vec![t("Aiko"), n(1_320_000.0), n(110_000.0)],
                vec![t("Ben"), n(600_000.0), n(50_000.0)],
                vec![Cell::Null, n(1_194.0), n(99.5)],
            ]
        );
        assert_eq!(currencies(&r), [Some("JPY"), Some("JPY"), Some("USD")]);

        // Open tasks by owner and priority.
        let r = run(&store, json!({
            "subject": "tasks",
            "filters": [{"field": "status", "op": "ne", "value": "closed"}],
            "group_by": [{"field": "owner"}]
        }))
        .await;
        assert_eq!(table(&r), vec![vec![t("Aiko"), n(2.0)], vec![t("Ben"), n(1.0)]]);

        // Contacts carry their account's fields.
        let r = run(&store, json!({
            "subject": "contacts",
            "columns": ["name", "account_name", "account_segment", "account_health_band", "account_arr"]
        }))
        .await;
        assert_eq!(
            table(&r),
            vec![vec![t("Hana Sato"), t("Alpha"), t("enterprise"), t("green"), n(1_200_000.0)]]
        );
        let _ = (f.aiko, f.ben, f.alpha, f.bravo, f.charlie);
    })
    .await;
}

#[tokio::test]
async fn dates_group_by_day_month_quarter_and_year() {
    on_each_backend(|store| async move {
        let _ = fixture(&store).await;
        let by = |bucket: &str| {
            json!({
                "subject": "touchpoints",
                "group_by": [{"field": "occurred_on", "bucket": bucket}],
                "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "duration_minutes"}]
            })
        };
        assert_eq!(
            table(&run(&store, by("month")).await),
            vec![
                vec![t("2025-12"), n(1.0), n(90.0)],
                vec![t("2026-01"), n(2.0), n(75.0)],
                vec![t("2026-02"), n(1.0), n(60.0)],
                vec![t("2026-03"), n(1.0), n(15.0)],
            ]
        );
        assert_eq!(
            table(&run(&store, by("quarter")).await),
            vec![vec![t("2025-Q4"), n(1.0), n(90.0)], vec![t("2026-Q1"), n(4.0), n(150.0)]]
        );
        assert_eq!(
            table(&run(&store, by("year")).await),
            vec![vec![t("2025"), n(1.0), n(90.0)], vec![t("2026"), n(4.0), n(150.0)]]
        );
        assert_eq!(run(&store, by("day")).await.rows[1].cells[0], t("2026-01-10"));

        let r = run(&store, json!({
            "subject": "touchpoints",
            "group_by": [{"field": "occurred_on"}, {"field": "kind"}],
            "filters": [{"field": "occurred_on", "op": "between", "value": ["2026-01-01", "2026-02-28"]}]
        }))
        .await;
        assert_eq!(
            table(&r),
            vec![
                vec![t("2026-01"), t("call"), n(2.0)],
                vec![t("2026-02"), t("meeting"), n(1.0)],
            ]
        );
        let r = run(&store, json!({
            "subject": "touchpoints",
            "columns": ["occurred_on", "account_name", "duration_minutes"],
            "filters": [{"field": "occurred_on", "op": "lt", "value": "2026-01-20"}]
        }))
        .await;
        assert_eq!(
            table(&r),
            vec![
                vec![t("2025-12-31"), t("Charlie"), n(90.0)],
                vec![t("2026-01-10"), t("Alpha"), n(30.0)],
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn csv_export_has_a_bom_a_translated_header_and_every_row_once() {
    on_each_backend(|store| async move {
        let _ = fixture(&store).await;
        let report = def(json!({
            "subject": "accounts",
            "columns": ["name", "arr", "segment"]
        }));
        // Pages of two rows: three reads for five accounts.
        let chunks: Vec<Vec<u8>> = store
            .report_csv_in_pages(report.clone(), today(), true, 2)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(chunks.len(), 3);
        let bytes = chunks.concat();
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert_eq!(
            text,
            "名前,ARR,セグメント,通貨\r\n\
             Alpha,1200000,enterprise,JPY\r\n\
             Bravo,600000,enterprise,JPY\r\n\
             Charlie,120000,smb,JPY\r\n\
             Delta,1194,smb,USD\r\n\
             Echo,0,mid_market,JPY\r\n"
        );
        let english: Vec<Vec<u8>> = store
            .report_csv(
                def(json!({"subject": "accounts", "group_by": [{"field": "segment"}]})),
                today(),
                false,
            )
            .try_collect()
            .await
            .unwrap();
        let text = String::from_utf8(english.concat()[3..].to_vec()).unwrap();
        assert_eq!(
            text,
            "Segment,Count\r\nenterprise,2\r\nmid_market,1\r\nsmb,2\r\n"
        );
    })
    .await;
}

#[tokio::test]
async fn saved_reports_are_seen_by_their_owner_or_when_shared() {
    on_each_backend(|store| async move {
        let f = fixture(&store).await;
        // The shipped reports are shared, owned by no one, and every one runs.
        let shipped = store
            .list_reports(ReportReader::default(), None, None)
            .await
            .unwrap();
        assert_eq!(shipped.total, 4);
        for r in &shipped.items {
            assert!(r.shared && r.owner_id.is_none() && r.name_ja.is_some(), "{}", r.name);
            let parsed = ReportDefinition::parse(&r.definition).expect(&r.name);
            store.run_report(&parsed, today(), 0, None).await.expect(&r.name);
        }
        let arr = &shipped.items[0];
        assert_eq!(arr.name, "ARR by segment and health band");
        assert_eq!(arr.display_name(true), "セグメント・ヘルス帯別のARR");
        let by_owner = store
            .run_report(&ReportDefinition::parse(&shipped.items[2].definition).unwrap(), today(), 0, None)
            .await
            .unwrap();
        assert_eq!(table(&by_owner), vec![
            vec![t("Aiko"), t("high"), n(1.0)],
            vec![t("Aiko"), t("medium"), n(1.0)],
            vec![t("Ben"), t("high"), n(1.0)],
        ]);

        let input = ReportInput {
            name: "  My enterprise book ".trim().into(),
            definition: def(json!({"subject": "accounts", "columns": ["name"], "filters": [{"field": "segment", "op": "eq", "value": "enterprise"}]})),
            shared: false,
        };
        let mine = store.create_report(&input, Some(f.aiko.0), &ACTOR).await.unwrap();
        assert_eq!(mine.owner_name.as_deref(), Some("Aiko"));
        assert_eq!(ReportDefinition::parse(&mine.definition).unwrap(), input.definition);
        let seen_by = |user: UserId, all: bool| {
            let store = store.clone();
            async move {
                store
                    .list_reports(ReportReader { user_id: Some(user.0), sees_all: all }, None, None)
                    .await
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|r| r.id)
                    .collect::<Vec<_>>()
            }
        };
        assert!(seen_by(f.aiko, false).await.contains(&mine.id));
        assert!(!seen_by(f.ben, false).await.contains(&mine.id));
        assert!(seen_by(f.ben, true).await.contains(&mine.id));

        let shared = store
            .update_report(mine.id, &ReportInput { shared: true, name: "Enterprise book".into(), ..input.clone() }, &ACTOR)
            .await
            .unwrap();
        assert!(shared.shared);
        assert_eq!(shared.name, "Enterprise book");
        assert!(seen_by(f.ben, false).await.contains(&mine.id));

        // Renaming a shipped report drops its Japanese name; keeping the name keeps it.
        let kept = store
            .update_report(arr.id, &ReportInput { name: arr.name.clone(), definition: ReportDefinition::parse(&arr.definition).unwrap(), shared: true }, &ACTOR)
            .await
            .unwrap();
        assert!(kept.name_ja.is_some());
        let renamed = store
            .update_report(arr.id, &ReportInput { name: "ARR".into(), definition: ReportDefinition::parse(&arr.definition).unwrap(), shared: true }, &ACTOR)
            .await
            .unwrap();
        assert_eq!(renamed.name_ja, None);

        store.delete_report(mine.id, &ACTOR).await.unwrap();
        assert!(matches!(store.saved_report(mine.id).await, Err(StoreError::NotFound(_))));
        assert!(matches!(store.delete_report(mine.id, &ACTOR).await, Err(StoreError::NotFound(_))));
        let audit = store.audit_log(10, 0).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "report.delete" && e.subject_id == Some(mine.id)));
    })
    .await;
}
