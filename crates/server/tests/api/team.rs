//! The team API over real HTTP: the framework and ladder (admin changes, read and write tokens
//! refused), assessments with their history and the member's standing, the workload's task
//! counts, and the incentive calculator on a hand-computed quarter.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{on_each_backend, TestApp};

async fn user(app: &TestApp, name: &str) -> i64 {
    let r = app
        .request(Method::POST, "/api/v1/users", &app.admin)
        .json(&json!({"email": format!("{}@example.com", name.to_lowercase()), "name": name, "role": "csm"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn as_admin(app: &TestApp, method: Method, path: &str, body: Value, status: u16) -> Value {
    let r = app
        .request(method.clone(), path, &app.admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    let got = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "{method} {path} on {}: {text}", app.backend);
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn status_with(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> u16 {
    app.request(method, path, token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn fields(v: &Value) -> Vec<String> {
    v["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

fn close(v: &Value, expected: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((got - expected).abs() < 1e-6, "{got} != {expected}");
}

#[tokio::test]
async fn framework_ladder_and_assessments() {
    on_each_backend(|app| async move {
        let aoi = user(&app, "Aoi").await;
        let skills = app.get_json("/api/v1/team/skills").await;
        assert_eq!(skills.as_array().unwrap().len(), 10);
        let ladder = app.get_json("/api/v1/team/career-levels").await;
        let csm_level = ladder
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["key"] == "csm")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        assert_eq!(app.get_json("/api/v1/team/scale").await[3]["name_en"], "Expert");

        // A read token and a write token may not change the framework; an admin may.
        let skill = json!({"key": "negotiation", "category": "commercial", "name_ja": "交渉", "name_en": "Negotiation",
            "levels": [{"level": 1, "description_ja": "基本", "description_en": "Basics"}]});
        for token in [&app.read, &app.write] {
            assert_eq!(
                status_with(&app, token, Method::POST, "/api/v1/team/skills", skill.clone()).await,
                403
            );
        }
        let bad = as_admin(
            &app,
            Method::POST,
            "/api/v1/team/skills",
            json!({"key": "Bad Key", "name_ja": "x", "name_en": "x", "category": "commercial",
                   "levels": [{"level": 7, "description_ja": "", "description_en": ""}]}),
            422,
        )
        .await;
        assert_eq!(fields(&bad), vec!["key", "levels[0].level"]);
        let created = as_admin(&app, Method::POST, "/api/v1/team/skills", skill.clone(), 201).await;
        assert_eq!(created["levels"][0]["description_en"], "Basics");
        as_admin(&app, Method::POST, "/api/v1/team/skills", skill, 409).await;
        let sid = created["id"].as_i64().unwrap();
        let patched = as_admin(
            &app,
            Method::PATCH,
            &format!("/api/v1/team/skills/{sid}"),
            json!({"name_en": "Negotiating"}),
            200,
        )
        .await;
        assert_eq!(patched["name_en"], "Negotiating");
        assert_eq!(patched["levels"].as_array().unwrap().len(), 1);
        as_admin(&app, Method::DELETE, &format!("/api/v1/team/skills/{sid}"), json!(null), 204).await;

        // Put Aoi on the CSM step (admin only).
        let path = format!("/api/v1/team/members/{aoi}/career-level");
        assert_eq!(
            status_with(&app, &app.write, Method::PUT, &path, json!({"career_level_id": csm_level})).await,
            403
        );
        let bad = as_admin(&app, Method::PUT, &path, json!({"career_level_id": 999_999}), 422).await;
        assert_eq!(fields(&bad), vec!["career_level_id"]);
        as_admin(&app, Method::PUT, &path, json!({"career_level_id": csm_level}), 200).await;

        // Assessments: a read token is refused, a write token records them.
        let a = json!({"user_id": aoi, "skill_key": "commercial", "level": 1, "assessed_on": "2026-01-15", "note": "first"});
        assert_eq!(
            status_with(&app, &app.read, Method::POST, "/api/v1/team/assessments", a.clone()).await,
            403
        );
        app.expect(Method::POST, "/api/v1/team/assessments", a, 201).await;
        app.expect(
            Method::POST,
            "/api/v1/team/assessments",
            json!({"user_id": aoi, "skill_key": "commercial", "level": 3, "assessed_on": "2026-06-15"}),
            201,
        )
        .await;
        let rel = app
            .expect(
                Method::POST,
                "/api/v1/team/assessments",
                json!({"user_id": aoi, "skill_key": "relationship", "level": 3}),
                201,
            )
            .await;
        assert_eq!(rel["level"], 3);
        assert!(rel["assessed_by"].as_str().unwrap().starts_with("token:"));
        let bad = app
            .expect(
                Method::POST,
                "/api/v1/team/assessments",
                json!({"user_id": aoi, "skill_key": "commercial", "level": 9, "assessed_on": "2999-01-01"}),
                422,
            )
            .await;
        assert_eq!(fields(&bad), vec!["level", "assessed_on"]);
        let bad = app
            .expect(Method::POST, "/api/v1/team/assessments", json!({"user_id": aoi, "level": "high"}), 422)
            .await;
        assert!(bad["error"]["message"].as_str().unwrap().contains("level"), "{bad}");

        // History, newest first, a page at a time.
        let page = app
            .get_json(&format!("/api/v1/team/assessments?user_id={aoi}&limit=2"))
            .await;
        assert_eq!(page["total"], 3);
        assert_eq!(page["next_offset"], 2);
        let r = app.get("/api/v1/team/assessments?limit=0").await;
        assert_eq!(r.status(), 400);

        // The member's standing: commercial 3 meets the CSM step's 2 and the senior step's 3;
        // relationship 3 meets both; the eight others are unassessed.
        let me = app.get_json(&format!("/api/v1/team/members/{aoi}")).await;
        assert_eq!(me["career_level_id"], csm_level);
        let commercial = me["standings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["skill"] == "commercial")
            .unwrap();
        assert_eq!((commercial["current"].as_i64(), commercial["gap"].as_i64()), (Some(3), Some(0)));
        assert_eq!(me["gaps"], 8);
        assert_eq!((me["readiness"]["met"].as_i64(), me["readiness"]["required"].as_i64()), (Some(2), Some(10)));
        let m = app.get_json("/api/v1/team/competency").await;
        assert_eq!(m["members"].as_array().unwrap().len(), 1);
        assert_eq!(app.get("/api/v1/team/members/999999").await.status(), 404);

        // The ladder step in use cannot be deleted.
        as_admin(&app, Method::DELETE, &format!("/api/v1/team/career-levels/{csm_level}"), json!(null), 409).await;

        // The OpenAPI document lists the team paths under their tag.
        let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert_eq!(doc["paths"]["/api/v1/team/incentives"]["get"]["tags"][0], "team");
        assert!(doc["paths"]["/api/v1/team/assessments"]["post"].is_object());
        app
    })
    .await;
}

#[tokio::test]
async fn workload_counts_tasks_and_the_unowned_book() {
    on_each_backend(|app| async move {
        let today = chrono::Utc::now().date_naive();
        let aoi = user(&app, "Aoi").await;
        let mine = app
            .expect(Method::POST, "/api/v1/accounts", json!({"name": "Mine", "owner_id": aoi}), 201)
            .await["id"]
            .as_i64()
            .unwrap();
        let pooled = app
            .expect(Method::POST, "/api/v1/accounts", json!({"name": "Pooled"}), 201)
            .await["id"]
            .as_i64()
            .unwrap();
        for (account, owner, days) in [(mine, Some(aoi), -3), (mine, None, 5), (pooled, None, -1)] {
            app.expect(
                Method::POST,
                "/api/v1/tasks",
                json!({"account_id": account, "title": "call", "reason": "engagement", "owner_id": owner,
                       "due_on": (today + chrono::Duration::days(days)).to_string()}),
                201,
            )
            .await;
        }
        let team = app.get_json("/api/v1/insight/team").await;
        let books = team["books"].as_array().unwrap();
        let of = |id: Value| books.iter().find(|b| b["owner_id"] == id).unwrap();
        assert_eq!((of(json!(aoi))["open_tasks"].as_i64(), of(json!(aoi))["overdue_tasks"].as_i64()), (Some(2), Some(1)));
        assert_eq!((of(Value::Null)["open_tasks"].as_i64(), of(Value::Null)["overdue_tasks"].as_i64()), (Some(1), Some(1)));
        assert_eq!(of(Value::Null)["accounts"], 1);
        app
    })
    .await;
}

#[tokio::test]
async fn incentive_calculator_on_a_hand_computed_quarter() {
    on_each_backend(|app| async move {
        let aoi = user(&app, "Aoi").await;
        let ben = user(&app, "Ben").await;
        let account = |name: &'static str, owner: i64| {
            let app = &app;
            async move {
                app.expect(Method::POST, "/api/v1/accounts", json!({"name": name, "owner_id": owner}), 201)
                    .await["id"]
                    .as_i64()
                    .unwrap()
            }
        };
        let term = |a: i64, start: &'static str, end: &'static str, mrr: f64, status: &'static str| {
            let app = &app;
            async move {
                app.expect(
                    Method::POST,
                    &format!("/api/v1/accounts/{a}/subscriptions"),
                    json!({"mrr": mrr, "seats": 5, "start_date": start, "end_date": end, "status": status}),
                    201,
                )
                .await["id"]
                    .as_i64()
                    .unwrap()
            }
        };
        // Aoi: X renews up from 1,000 to 1,300 MRR on 2026-05-01; Y churns (500) on 2026-05-31.
        let x = account("X", aoi).await;
        term(x, "2025-05-01", "2026-04-30", 1000.0, "renewed").await;
        term(x, "2026-05-01", "2027-04-30", 1300.0, "active").await;
        let y = account("Y", aoi).await;
        term(y, "2025-06-01", "2026-05-31", 500.0, "churned").await;
        // Ben: Z renews flat at 400.
        let z = account("Z", ben).await;
        term(z, "2025-04-01", "2026-04-30", 400.0, "renewed").await;
        term(z, "2026-05-01", "2027-04-30", 400.0, "active").await;
        for (a, score, at) in [(x, 9, "2026-04-20"), (x, 10, "2026-05-20"), (y, 2, "2026-05-02"), (z, 9, "2026-06-01"), (z, 6, "2026-01-10")] {
            app.expect(
                Method::POST,
                &format!("/api/v1/accounts/{a}/survey-responses"),
                json!({"score": score, "responded_at": format!("{at}T09:00:00Z")}),
                201,
            )
            .await;
        }
        // Plan changes are an admin's.
        let plan_body = json!({"name": "FY26 Q2", "period_from": "2026-04-01", "period_to": "2026-06-30",
            "target_bonus": 200000, "renewal_weight": 0.6, "expansion_weight": 0.2, "nps_weight": 0.2,
            "nps_gate": 0, "nps_target": 50, "nnmrr_target": 200});
        assert_eq!(
            status_with(&app, &app.write, Method::POST, "/api/v1/team/incentive-plans", plan_body.clone()).await,
            403
        );
        let bad = as_admin(
            &app,
            Method::POST,
            "/api/v1/team/incentive-plans",
            json!({"name": "x", "period_from": "2026-04-01", "period_to": "2026-06-30", "nps_weight": -1, "attainment_cap": 0.5}),
            422,
        )
        .await;
        assert_eq!(fields(&bad), vec!["nps_weight", "attainment_cap"]);
        let plan = as_admin(&app, Method::POST, "/api/v1/team/incentive-plans", plan_body, 201).await;
        let pid = plan["id"].as_i64().unwrap();
        as_admin(
            &app,
            Method::PUT,
            &format!("/api/v1/team/incentive-plans/{pid}/targets/{ben}"),
            json!({"target_bonus": 100000, "nps": 100}),
            200,
        )
        .await;
        let targets = app.get_json(&format!("/api/v1/team/incentive-plans/{pid}/targets")).await;
        assert_eq!(targets[0]["user_id"], ben);
        assert_eq!(targets[0]["target_bonus"], 100000.0);
        assert_eq!(app.get_json("/api/v1/team/incentive-plans").await["total"], 1);

        let r = app.get("/api/v1/team/incentives?period=2026-Q5").await;
        assert_eq!(r.status(), 400);
        let body: Value = r.json().await.unwrap();
        assert_eq!(fields(&body), vec!["period"]);

        let inc = app.get_json(&format!("/api/v1/team/incentives?plan_id={pid}&period=2026-Q2")).await;
        assert_eq!(inc["period"]["from"], "2026-04-01");
        assert!(inc["formula_ja"].as_str().unwrap().contains("NPS"));
        let row = |u: i64| inc["rows"].as_array().unwrap().iter().find(|r| r["user_id"] == u).unwrap().clone();
        let a = row(aoi);
        // Renewals: X 12,000 kept of 12,000, Y 0 of 6,000 → 12,000 / 18,000.
        close(&a["actuals"]["renewing_arr"], 18_000.0);
        close(&a["actuals"]["renewed_arr"], 12_000.0);
        // Net new MRR: +300 expansion − 500 churn = −200.
        close(&a["nnmrr"], -200.0);
        // NPS: 9, 10, 2 → (2 − 1) / 3 = 33.3.
        close(&a["actuals"]["nps"], 100.0 / 3.0);
        // Renewal: (2/3) / 0.9 = 0.7407 → 200,000 × 0.6 × 0.7407 = 88,888.89; expansion −1 → 0;
        // NPS: 33.3 / 50 = 0.667 → 200,000 × 0.2 × 0.667 = 26,666.67.
        let p = &a["payout"];
        close(&p["components"][0]["payout"], 120_000.0 * (2.0 / 3.0) / 0.9);
        close(&p["components"][1]["payout"], 0.0);
        close(&p["components"][2]["payout"], 40_000.0 * (100.0 / 3.0) / 50.0);
        close(&p["total"], 120_000.0 * (2.0 / 3.0) / 0.9 + 40_000.0 * (100.0 / 3.0) / 50.0);
        // Ben: renewal 4,800 / 4,800 → 1.111; no expansion (nnmrr 0 of 200 → below the floor);
        // NPS 100 (one promoter in Q2) / 100 → 1, and it rose from −100 (one detractor in Q1).
        let b = row(ben);
        close(&b["actuals"]["previous_nps"], -100.0);
        assert_eq!(b["payout"]["nps_fell"], false);
        close(&b["payout"]["total"], 100_000.0 * (0.6 / 0.9 + 0.2));
        app
    })
    .await;
}
