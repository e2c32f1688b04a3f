//! Insight over real HTTP: the dashboard against the hand-computed quarter (the domain's fixture,
//! built here through the API), renewals and calls, and the analyses on a small demo portfolio.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{on_each_backend, TestApp};

async fn account(app: &TestApp, name: &str, tier: &str) -> i64 {
    app.expect(
        Method::POST,
        "/api/v1/accounts",
        json!({"name": name, "coverage_tier": tier}),
        201,
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

async fn term(app: &TestApp, account: i64, start: &str, end: &str, mrr: f64, status: &str) -> i64 {
    app.expect(
        Method::POST,
        &format!("/api/v1/accounts/{account}/subscriptions"),
        json!({"mrr": mrr, "seats": 10, "start_date": start, "end_date": end, "status": status}),
        201,
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

async fn reprice(app: &TestApp, sub: i64, mrr: f64, on: &str) {
    app.expect(
        Method::PATCH,
        &format!("/api/v1/subscriptions/{sub}"),
        json!({"mrr": mrr, "effective_date": on}),
        200,
    )
    .await;
}

fn close(v: &Value, expected: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((got - expected).abs() < 1e-9, "{got} != {expected}");
}

#[tokio::test]
async fn dashboard_matches_the_hand_computed_quarter() {
    on_each_backend(|app| async move {
        let a = account(&app, "A", "high_touch").await;
        let s = term(&app, a, "2025-06-01", "2026-05-31", 100.0, "active").await;
        reprice(&app, s, 150.0, "2026-02-01").await;
        let b = account(&app, "B", "high_touch").await;
        let s = term(&app, b, "2025-01-01", "2026-12-31", 200.0, "active").await;
        reprice(&app, s, 120.0, "2026-01-15").await;
        let c = account(&app, "C", "mid_touch").await;
        term(&app, c, "2025-03-01", "2026-02-28", 300.0, "churned").await;
        let d = account(&app, "D", "mid_touch").await;
        term(&app, d, "2026-02-10", "2027-02-09", 50.0, "active").await;
        let e = account(&app, "E", "tech_touch").await;
        term(&app, e, "2025-05-01", "2025-09-30", 100.0, "churned").await;
        term(&app, e, "2026-03-10", "2027-03-09", 80.0, "active").await;
        let f = account(&app, "F", "tech_touch").await;
        term(&app, f, "2025-02-01", "2026-01-19", 400.0, "churned").await;
        term(&app, f, "2026-02-20", "2027-02-19", 100.0, "active").await;
        for (x, at) in [(a, "2026-01-05"), (d, "2026-03-31"), (e, "2026-04-01")] {
            app.expect(
                Method::POST,
                &format!("/api/v1/accounts/{x}/touchpoints"),
                json!({"kind": "call", "subject": "check-in", "occurred_at": format!("{at}T12:00:00Z")}),
                201,
            )
            .await;
        }
        // The CS team's cost is an admin setting.
        let r = app.request(Method::PUT, "/api/v1/insight/settings", &app.write).json(&json!({"cs_team_monthly_cost": 100})).send().await.unwrap();
        assert_eq!(r.status(), 403);
        let r = app.request(Method::PUT, "/api/v1/insight/settings", &app.admin).json(&json!({"cs_team_monthly_cost": -5})).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let r = app.request(Method::PUT, "/api/v1/insight/settings", &app.admin).json(&json!({"cs_team_monthly_cost": 100})).send().await.unwrap();
        assert_eq!(r.status(), 200);

        let dash = app.get_json("/api/v1/insight/dashboard?from=2026-01-01&to=2026-03-31").await;
        let r = &dash["overall"]["retention"];
        assert_eq!(r["accounts_at_start"], 4);
        assert_eq!(r["start_mrr"], 1000.0);
        assert_eq!(r["expansion_mrr"], 150.0);
        assert_eq!(r["contraction_mrr"], 80.0);
        assert_eq!(r["churned_mrr"], 700.0);
        assert_eq!(r["net_new_mrr_existing"], -630.0);
        close(&r["grr"], 0.22);
        close(&r["nrr"], 0.37);
        close(&r["logo_churn"], 0.25);
        let o = &dash["overall"];
        assert_eq!(o["retained_arr"], 2640.0);
        close(&o["retention_cost"], 100.0 * 90.0 / (365.25 / 12.0) / 2640.0);
        close(&o["engagement_coverage"], 0.4);
        // No snapshot in the quarter: every live account is unscored.
        assert_eq!(o["health"]["unscored"]["accounts"], 5);
        assert_eq!(dash["trend"].as_array().unwrap().len(), 3);
        close(&dash["trend"][0]["retention"]["nrr"], 0.52);
        let high = dash["by_coverage_tier"].as_array().unwrap().iter().find(|b| b["key"] == "high_touch").unwrap();
        close(&high["figures"]["retention"]["nrr"], 0.9);
        assert!(high["figures"]["retention_cost"].is_null(), "the team cost is not split by tier");
        let nrr_def = dash["definitions"].as_array().unwrap().iter().find(|d| d["key"] == "nrr").unwrap();
        assert!(nrr_def["ja"].as_str().unwrap().contains("NRR"));
        // Filters narrow the accounts; bad ones name the parameter.
        let tech = app.get_json("/api/v1/insight/dashboard?from=2026-01-01&to=2026-03-31&coverage_tier=tech_touch").await;
        assert_eq!(tech["overall"]["retention"]["start_mrr"], 400.0);
        // Within the minute the same question gets the same figures; `fresh` recomputes.
        app.expect(
            Method::POST,
            &format!("/api/v1/accounts/{b}/touchpoints"),
            json!({"kind": "qbr", "subject": "QBR", "occurred_at": "2026-02-01T12:00:00Z"}),
            201,
        )
        .await;
        let again = app.get_json("/api/v1/insight/dashboard?from=2026-01-01&to=2026-03-31").await;
        assert_eq!(again["computed_at"], dash["computed_at"]);
        assert_eq!(again["overall"]["engaged_accounts"], 2);
        let fresh = app.get_json("/api/v1/insight/dashboard?from=2026-01-01&to=2026-03-31&fresh=true").await;
        assert_eq!(fresh["overall"]["engaged_accounts"], 3);
        let bad = app.get("/api/v1/insight/dashboard?segment=huge").await;
        assert_eq!(bad.status(), 400);
        let bad = app.get("/api/v1/insight/dashboard?from=2026-05-01&to=2026-01-01").await;
        assert_eq!(bad.status(), 400);
        app
    })
    .await;
}

#[tokio::test]
async fn renewal_outcomes_calls_and_forecast() {
    on_each_backend(|app| async move {
        let today = chrono::Utc::now().date_naive();
        let g = account(&app, "G", "mid_touch").await;
        let first = term(&app, g, "2025-01-01", "2025-12-31", 100.0, "renewed").await;
        app.expect(
            Method::POST,
            &format!("/api/v1/accounts/{g}/subscriptions"),
            json!({"mrr": 130, "seats": 10, "start_date": "2026-01-01", "end_date": "2027-12-31", "renews_id": first}),
            201,
        )
        .await;
        let j = account(&app, "J", "mid_touch").await;
        let lost = term(&app, j, "2025-04-01", "2026-03-31", 400.0, "churned").await;
        let k = account(&app, "K", "mid_touch").await;
        let soon = term(&app, k, "2026-01-01", &(today + chrono::Duration::days(30)).to_string(), 1000.0, "active").await;
        let l = account(&app, "L", "mid_touch").await;
        term(&app, l, "2026-01-01", &(today + chrono::Duration::days(45)).to_string(), 500.0, "active").await;

        // Up 100 + 400 = 500 MRR (6000 ARR); after: 130 (1560). Gross (6000 − 4800) / 6000 = 0.2;
        // net 1560 / 6000 = 0.26.
        let decided = app.get_json("/api/v1/insight/renewals/decided?from=2025-06-01&to=2026-06-30").await;
        let rates = &decided["rates"];
        assert_eq!((rates["decided"].as_i64(), rates["expanded"].as_i64(), rates["churned"].as_i64()), (Some(2), Some(1), Some(1)));
        close(&rates["gross_renewal_rate"], 0.2);
        close(&rates["net_renewal_rate"], 0.26);
        assert_eq!(decided["renewals"][0]["outcome"], "expanded");

        // The CSM commits K; L stays without a call and without any risk (no model, no history).
        app.expect(Method::PUT, &format!("/api/v1/subscriptions/{soon}/renewal-call"), json!({"call": "commit", "note": "signed PO"}), 204).await;
        let bad = app.expect(Method::PUT, &format!("/api/v1/subscriptions/{lost}/renewal-call"), json!({"call": "likely"}), 422).await;
        assert_eq!(bad["error"]["fields"][0]["field"], "call");
        app.expect(Method::PUT, &format!("/api/v1/subscriptions/{soon}/renewal-call"), json!({"call": "maybe"}), 422).await;
        app.expect(Method::PUT, "/api/v1/subscriptions/999999/renewal-call", json!({"call": "lost"}), 404).await;
        let map = app.get_json("/api/v1/insight/renewals?months=3").await;
        let renewals = map["renewals"].as_array().unwrap();
        assert_eq!(renewals.len(), 2);
        assert_eq!(renewals[0]["call"], "commit");
        assert_eq!(renewals[0]["risk"], 0.0);
        assert_eq!(renewals[0]["risk_source"], "call");
        assert!(renewals[1]["risk"].is_null());
        let total_arr: f64 = map["forecast"].as_array().unwrap().iter().map(|m| m["arr"].as_f64().unwrap()).sum();
        let expected: f64 = map["forecast"].as_array().unwrap().iter().map(|m| m["expected_arr"].as_f64().unwrap()).sum();
        assert_eq!(total_arr, 18_000.0);
        // Commit counts in full, the unrated renewal at full value too.
        assert_eq!(expected, 18_000.0);
        let committed: f64 = map["forecast"].as_array().unwrap().iter().map(|m| m["committed_arr"].as_f64().unwrap()).sum();
        assert_eq!(committed, 12_000.0);
        assert_eq!(app.get("/api/v1/insight/renewals?months=0").await.status(), 400);
        app
    })
    .await;
}

#[tokio::test]
async fn churn_analysis_and_prediction_on_a_demo_portfolio() {
    on_each_backend(|app| async move {
        let store = kizuna_store::Store::connect(&app.database_url())
            .await
            .unwrap();
        let mut options = kizuna_demo::DemoOptions::new(chrono::Utc::now().date_naive());
        options.accounts = 150;
        kizuna_demo::load(&store, &options, &|_, _, _| {})
            .await
            .unwrap();
        store.close().await;

        let drivers = app
            .get_json("/api/v1/insight/churn-drivers?lead_days=90")
            .await;
        let churned = drivers["churned"].as_u64().unwrap();
        let renewed = drivers["renewed"].as_u64().unwrap();
        assert!(
            churned > 0 && renewed > churned,
            "{churned} churned, {renewed} renewed"
        );
        let list = drivers["drivers"].as_array().unwrap();
        assert!(list.len() >= 10, "{list:?}");
        // Ranked by separation, each between 0.5 and 1, with its direction and distributions.
        let seps: Vec<f64> = list
            .iter()
            .map(|d| d["separation"].as_f64().unwrap())
            .collect();
        assert!(seps.windows(2).all(|w| w[0] >= w[1]), "{seps:?}");
        assert!(seps.iter().all(|s| (0.5..=1.0).contains(s)));
        assert!(list.iter().all(|d| d["indicator"] != "days_to_renewal"));
        assert!(
            list[0]["churned"]["median"].is_number() && list[0]["histogram"]["edges"].is_array()
        );
        let score_auc = drivers["health_score_auc"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score_auc));
        // The second read comes from the kept lead-time indicators and agrees.
        let again = app
            .get_json("/api/v1/insight/churn-drivers?lead_days=90")
            .await;
        assert_eq!(again["drivers"], drivers["drivers"]);

        // Weight suggestion: anyone who may write proposes, an admin accepts, once.
        let s = app
            .expect(
                Method::POST,
                "/api/v1/insight/weight-suggestions",
                json!({"lead_days": 90}),
                201,
            )
            .await;
        let id = s["id"].as_i64().unwrap();
        assert!(!s["changes"].as_array().unwrap().is_empty());
        let path = format!("/api/v1/insight/weight-suggestions/{id}/accept");
        assert_eq!(
            app.request(Method::POST, &path, &app.write)
                .send()
                .await
                .unwrap()
                .status(),
            403
        );
        let r = app
            .request(Method::POST, &path, &app.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let card: Value = r.json().await.unwrap();
        for c in s["changes"].as_array().unwrap() {
            let m = card["groups"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|g| g["measures"].as_array().unwrap())
                .find(|m| m["key"] == c["measure"])
                .unwrap();
            assert_eq!(m["weight"], c["weight_after"], "{c}");
        }
        assert_eq!(
            app.request(Method::POST, &path, &app.admin)
                .send()
                .await
                .unwrap()
                .status(),
            409
        );

        // No model yet: 404; training stores one with its time-based validation.
        assert_eq!(
            app.get("/api/v1/insight/churn-predictions").await.status(),
            404
        );
        let m = app
            .expect(
                Method::POST,
                "/api/v1/insight/churn-model/train",
                json!({"lead_days": 90}),
                201,
            )
            .await;
        let v = &m["model"]["validation"];
        assert!(
            v["train_to"].as_str().unwrap() < v["test_from"].as_str().unwrap(),
            "{v}"
        );
        assert!(v["auc"].is_number() || v["test_churned"] == 0, "{v}");
        assert!(!v["calibration"].as_array().unwrap().is_empty());
        let model = app.get_json("/api/v1/insight/churn-model").await;
        assert_eq!(model["id"], m["id"]);
        let p = app
            .get_json("/api/v1/insight/churn-predictions?limit=5")
            .await;
        let preds = p["predictions"].as_array().unwrap();
        assert_eq!(preds.len(), 5);
        let probs: Vec<f64> = preds
            .iter()
            .map(|x| x["churn_probability"].as_f64().unwrap())
            .collect();
        assert!(probs.windows(2).all(|w| w[0] >= w[1]), "{probs:?}");
        assert!(p["validation"]["calibration"].is_array());
        let top = preds[0]["account_id"].as_i64().unwrap();
        let one = app
            .get_json(&format!("/api/v1/accounts/{top}/churn-prediction"))
            .await;
        close(&one["churn_probability"], probs[0]);
        // The renewal map now carries the model's probabilities.
        let map = app.get_json("/api/v1/insight/renewals").await;
        assert_eq!(map["model_id"], m["id"]);
        assert!(map["renewals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["churn_probability"].is_number()));
        // Too short a window to learn from is a 422 that says why.
        let r = app
            .expect(
                Method::POST,
                "/api/v1/insight/churn-model/train",
                json!({"from": "2000-01-01", "to": "2000-02-01"}),
                422,
            )
            .await;
        assert!(
            r["error"]["fields"][0]["message"]
                .as_str()
                .unwrap()
                .contains("at least 20"),
            "{r}"
        );
        app
    })
    .await;
}

#[tokio::test]
async fn team_workload_per_csm() {
    on_each_backend(|app| async move {
        let today = chrono::Utc::now().date_naive();
        let csm = app
            .request(Method::POST, "/api/v1/users", &app.admin)
            .json(&json!({"email": "aoi@example.com", "name": "青井", "role": "csm"}))
            .send()
            .await
            .unwrap();
        assert_eq!(csm.status(), 201);
        let csm = csm.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let idle = app
            .request(Method::POST, "/api/v1/users", &app.admin)
            .json(&json!({"email": "idle@example.com", "name": "Idle", "role": "csm"}))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        // The CSM owns two accounts (100 and 300 MRR, the second renewing in 30 days); one
        // account has no owner.
        let mut owned = Vec::new();
        for (name, mrr, days) in [("Owned A", 100.0, 200), ("Owned B", 300.0, 30)] {
            let a = app
                .expect(
                    Method::POST,
                    "/api/v1/accounts",
                    json!({"name": name, "owner_id": csm}),
                    201,
                )
                .await["id"]
                .as_i64()
                .unwrap();
            term(
                &app,
                a,
                &(today - chrono::Duration::days(100)).to_string(),
                &(today + chrono::Duration::days(days)).to_string(),
                mrr,
                "active",
            )
            .await;
            owned.push(a);
        }
        let pooled = account(&app, "Pooled", "tech_touch").await;
        term(
            &app,
            pooled,
            &(today - chrono::Duration::days(10)).to_string(),
            &(today + chrono::Duration::days(355)).to_string(),
            50.0,
            "active",
        )
        .await;
        app.expect(
            Method::POST,
            &format!("/api/v1/accounts/{}/touchpoints", owned[0]),
            json!({"kind": "meeting", "subject": "kickoff", "duration_minutes": 45}),
            201,
        )
        .await;
        let team = app.get_json("/api/v1/insight/team").await;
        let books = team["books"].as_array().unwrap();
        let mine = books.iter().find(|b| b["owner_id"] == csm).unwrap();
        assert_eq!(mine["owner_name"], "青井");
        assert_eq!(mine["accounts"], 2);
        assert_eq!(mine["arr"], 4800.0);
        assert_eq!(mine["renewals_90d"], 1);
        assert_eq!(
            (
                mine["touchpoints_30d"].as_i64(),
                mine["minutes_30d"].as_i64()
            ),
            (Some(1), Some(45))
        );
        close(&mine["arr_share"], 4800.0 / 5400.0);
        let unowned = books.iter().find(|b| b["owner_id"].is_null()).unwrap();
        assert_eq!(
            (unowned["accounts"].as_i64(), unowned["arr"].as_f64()),
            (Some(1), Some(600.0))
        );
        let empty = books.iter().find(|b| b["owner_id"] == idle).unwrap();
        assert_eq!(empty["accounts"], 0);
        assert!(empty["at_risk_share"].is_null());
        // Biggest book first.
        assert_eq!(books[0]["owner_id"], csm);
        app
    })
    .await;
}
