//! Imports of real-looking exports, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use kizuna_domain::account::{AccountSort, CoverageTier, LifecycleStage};
use kizuna_import::{import_file, ImportOptions, ImportReport, Kind};
use kizuna_store::{testing, AccountFilter, Actor, Store};

const ACTOR: Actor = Actor::System("import test");

fn quiet(_: &str, _: u64, _: u64) {}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

async fn run(store: &Store, kind: Kind, path: &std::path::Path, partial: bool) -> ImportReport {
    import_file(store, kind, path, ImportOptions { partial }, &ACTOR, &quiet)
        .await
        .unwrap()
}

async fn names(store: &Store) -> Vec<String> {
    let page = store
        .list_accounts(&AccountFilter {
            sort: Some((AccountSort::Name, false)),
            ..Default::default()
        })
        .await
        .unwrap();
    page.items.into_iter().map(|a| a.name).collect()
}

#[tokio::test]
async fn shift_jis_with_japanese_headers_imports() {
    for db in testing::all().await {
        let store = &db.store;
        let dir = tempfile::tempdir().unwrap();
        let csv = "取引先ID,取引先名,業種,従業員数,タッチモデル,ステージ,ウェブサイト,地域\r\n\
                   C-001,株式会社さくら精機,製造,\"1,200\",ハイタッチ,活用,https://www.sakura-seiki.co.jp,関東\r\n\
                   C-002,みらい商事株式会社,小売,８５,テックタッチ,オンボーディング,,関西\r\n";
        let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode(csv);
        assert!(!unmappable);
        let path = write(&dir, "accounts.csv", &sjis);
        let report = run(store, Kind::Accounts, &path, false).await;
        assert_eq!(report.encoding, "Shift_JIS");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(
            (
                report.rows,
                report.inserted,
                report.updated,
                report.committed
            ),
            (2, 2, 0, true)
        );
        let a = store.account_by_external_id("C-001").await.unwrap();
        assert_eq!(a.name, "株式会社さくら精機");
        assert_eq!(a.employees, Some(1200));
        assert_eq!(a.coverage_tier, CoverageTier::HighTouch);
        assert_eq!(a.lifecycle_stage, LifecycleStage::Adoption);
        assert_eq!(a.domain.as_deref(), Some("sakura-seiki.co.jp"));
        assert_eq!(a.traits.get("地域").and_then(|v| v.as_str()), Some("関東"));
        let b = store.account_by_external_id("C-002").await.unwrap();
        assert_eq!(b.employees, Some(85), "full-width digits read");
        assert_eq!(store.lifecycle_history(a.id).await.unwrap().len(), 1);

        // Re-import: changed cells update, empty cells keep what is stored.
        let again = "Account ID,Industry,Employees,Tier\nC-001,,1300,mid touch\n";
        let report = run(
            store,
            Kind::Accounts,
            &write(&dir, "again.csv", again.as_bytes()),
            false,
        )
        .await;
        assert_eq!(
            (report.inserted, report.updated),
            (0, 1),
            "{:?}",
            report.errors
        );
        let a = store.account_by_external_id("C-001").await.unwrap();
        assert_eq!(
            (a.industry.as_deref(), a.employees, a.coverage_tier),
            (Some("製造"), Some(1300), CoverageTier::MidTouch)
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bad_rows_are_reported_by_line_and_nothing_is_half_written() {
    for db in testing::all().await {
        let store = &db.store;
        let dir = tempfile::tempdir().unwrap();
        let csv = "\u{feff}external_id,name,employees,coverage_tier,owner\n\
                   A1,Good One,10,high_touch,\n\
                   A2,,5,tech_touch,\n\
                   A3,Bad Number,many,tech_touch,\n\
                   A4,Bad Tier,5,gold,\n\
                   A1,Duplicate,5,tech_touch,\n\
                   A6,Unknown Owner,5,tech_touch,nobody@example.com\n\
                   A7,Good Two,20,mid_touch,\n";
        let path = write(&dir, "bad.csv", csv.as_bytes());
        let report = run(store, Kind::Accounts, &path, false).await;
        assert_eq!(report.encoding, "UTF-8");
        assert!(!report.committed);
        assert_eq!(report.rejected, 5);
        let got: Vec<(u64, &str)> = report
            .errors
            .iter()
            .map(|e| (e.line, e.field.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (3, "name"),
                (4, "employees"),
                (5, "coverage_tier"),
                (6, "external_id"),
                (7, "owner")
            ]
        );
        assert!(
            report.errors[3].message.contains("line 2"),
            "{:?}",
            report.errors[3]
        );
        assert!(
            names(store).await.is_empty(),
            "all or nothing: nothing written"
        );

        let report = run(store, Kind::Accounts, &path, true).await;
        assert!(report.committed);
        assert_eq!((report.inserted, report.rejected), (2, 5));
        assert_eq!(names(store).await, ["Good One", "Good Two"]);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn every_kind_imports_against_its_accounts() {
    for db in testing::all().await {
        let store = &db.store;
        let dir = tempfile::tempdir().unwrap();
        let accounts = "external_id,name\nacct-1,Acme\nacct-2,Beta\n";
        run(
            store,
            Kind::Accounts,
            &write(&dir, "a.csv", accounts.as_bytes()),
            false,
        )
        .await;
        let acme = store.account_by_external_id("acct-1").await.unwrap();

        let contacts = "Contact ID,Account ID,First Name,Last Name,Email,Role\n\
                        u1,acct-1,太郎,山田,taro@acme.jp,チャンピオン\n\
                        u2,acct-9,Ann,Lee,ann@x.com,\n";
        let report = run(
            store,
            Kind::Contacts,
            &write(&dir, "c.csv", contacts.as_bytes()),
            true,
        )
        .await;
        assert_eq!(
            (report.inserted, report.rejected),
            (1, 1),
            "{:?}",
            report.errors
        );
        assert_eq!(report.errors[0].field, "account_external_id");
        let taro = store.contact_by_external_id("u1").await.unwrap();
        assert_eq!(taro.name.as_deref(), Some("山田 太郎"));
        assert!(taro.is_champion());

        let subs = "契約ID,取引先ID,プラン,年額,シート数,契約開始日,契約終了日\n\
                    s1,acct-1,business,\"¥1,200,000\",20,2026/1/1,2026/12/31\n";
        let report = run(
            store,
            Kind::Subscriptions,
            &write(&dir, "s.csv", subs.as_bytes()),
            false,
        )
        .await;
        assert!(report.committed, "{:?}", report.errors);
        assert_eq!(store.account(acme.id).await.unwrap().mrr, 100_000.0);

        let tickets = "Ticket ID,Account ID,Contact ID,Subject,Priority,Status,Created\n\
                       t1,acct-1,u1,ログインできない,高,対応中,2026-11-01 10:00\n\
                       t2,acct-2,u1,Wrong account,low,open,2026-11-01\n";
        let report = run(
            store,
            Kind::Tickets,
            &write(&dir, "t.csv", tickets.as_bytes()),
            true,
        )
        .await;
        assert_eq!((report.inserted, report.rejected), (1, 1));
        assert!(report.errors[0].message.contains("another account"));
        let t = store.list_tickets(acme.id, None, None).await.unwrap().items;
        assert_eq!(t[0].severity, kizuna_domain::ticket::TicketSeverity::High);
        assert_eq!(
            t[0].opened_at.to_rfc3339(),
            "2026-11-01T01:00:00+00:00",
            "local times read as Japan time"
        );

        let nps = "Response ID,Account ID,Score,Comment,Date\nr1,acct-1,9,早い,2026-10-01\nr2,acct-1,11,,2026-10-01\n";
        let report = run(
            store,
            Kind::Nps,
            &write(&dir, "n.csv", nps.as_bytes()),
            false,
        )
        .await;
        assert!(!report.committed);
        assert_eq!(
            (report.errors[0].line, report.errors[0].field.as_str()),
            (3, "score")
        );

        let tps = "Activity ID,Account ID,Type,Subject,Date,Duration\nx1,acct-1,打ち合わせ,定例,2026-11-02 15:00,60\n";
        let report = run(
            store,
            Kind::Touchpoints,
            &write(&dir, "x.csv", tps.as_bytes()),
            false,
        )
        .await;
        assert!(report.committed, "{:?}", report.errors);
        // The same file again updates instead of duplicating.
        let report = run(
            store,
            Kind::Touchpoints,
            &write(&dir, "x.csv", tps.as_bytes()),
            false,
        )
        .await;
        assert_eq!((report.inserted, report.updated), (0, 1));
        assert_eq!(
            store
                .list_touchpoints(acme.id, None, None)
                .await
                .unwrap()
                .total,
            1
        );

        let unknown = "foo,bar\n1,2\n";
        let err = import_file(
            store,
            Kind::Accounts,
            &write(&dir, "u.csv", unknown.as_bytes()),
            ImportOptions::default(),
            &ACTOR,
            &quiet,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("external_id"), "{err}");
        db.cleanup().await;
    }
}
