//! The report builder over real HTTP: the catalogue, ad-hoc runs against a portfolio built
//! through the API (sums per segment worked out by hand), CSV exports that start with the
//! byte-order mark, 422s that name the bad fields, and saved reports under each token's rights.

use chrono::{Duration, Utc};
use kizuna_domain::token::TokenScope;
use kizuna_store::{Actor, Store};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{on_each_backend, TestApp};

async fn account(app: &TestApp, name: &str, segment: &str, mrr: f64) -> i64 {
    let id = app
        .expect(
            Method::POST,
            "/api/v1/accounts",
            json!({"name": name, "contract_value_tier": segment, "currency": "JPY"}),
            201,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let today = Utc::now().date_naive();
    app.expect(
        Method::POST,
        &format!("/api/v1/accounts/{id}/subscriptions"),
        json!({
            "mrr": mrr, "seats": 5, "status": "active",
            "start_date": (today - Duration::days(30)).to_string(),
            "end_date": (today + Duration::days(335)).to_string()
        }),
        201,
    )
    .await;
    id
}

/// Enterprise: 100,000 + 50,000 a month (ARR 1,800,000, two accounts); SMB: 8,000 (ARR 96,000).
async fn portfolio(app: &TestApp) {
    account(app, "Asahi Kogyo", "enterprise", 100_000.0).await;
    account(app, "Bunka Shoji", "enterprise", 50_000.0).await;
    account(app, "Chiba Soft", "smb", 8_000.0).await;
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, String) {
    let r = app
        .request(Method::POST, path, token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn catalogue_lists_every_subject_with_typed_labelled_fields() {
    on_each_backend(|app| async move {
        let cat = app.get_json("/api/v1/reports/catalogue").await;
        let subjects: Vec<&str> = cat
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["subject"].as_str().unwrap())
            .collect();
        assert_eq!(
            subjects,
            [
                "accounts",
                "contacts",
                "subscriptions",
                "tasks",
                "touchpoints"
            ]
        );
        let arr = cat[0]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == "arr")
            .unwrap();
        assert_eq!(arr["type"], "money");
        assert_eq!(arr["label_ja"], "ARR");
        let band = cat[3]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == "account_health_band")
            .unwrap();
        assert_eq!(band["values"], json!(["red", "yellow", "green"]));
        app
    })
    .await;
}

#[tokio::test]
async fn a_read_token_runs_and_exports_reports_with_hand_computed_sums() {
    on_each_backend(|app| async move {
        portfolio(&app).await;
        let grouped = json!({
            "subject": "accounts",
            "group_by": [{"field": "segment"}],
            "aggregates": [{"fn": "sum", "field": "arr"}, {"fn": "count"}],
            "chart": "bar"
        });
        let (status, body) = post(&app, &app.read, "/api/v1/reports/run", json!({"definition": grouped})).await;
        assert_eq!(status, 200, "{body}");
        let r: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(r["grouped"], true);
        let keys: Vec<&str> = r["columns"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["segment", "sum_arr", "count"]);
        assert_eq!(r["rows"][0]["cells"], json!(["enterprise", 1_800_000.0, 2.0]));
        assert_eq!(r["rows"][0]["currency"], "JPY");
        assert_eq!(r["rows"][1]["cells"], json!(["smb", 96_000.0, 1.0]));
        assert_eq!(r["rows"].as_array().unwrap().len(), 2);

        // Pages of the row view.
        let rows = json!({"subject": "accounts", "columns": ["name", "arr"], "sort": [{"field": "arr", "desc": true}]});
        let (_, body) = post(&app, &app.read, "/api/v1/reports/run", json!({"definition": rows, "limit": 2})).await;
        let page: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(page["total"], 3);
        assert_eq!(page["next_offset"], 2);
        assert_eq!(page["rows"][0]["cells"], json!(["Asahi Kogyo", 1_200_000.0]));

        // The CSV: a byte-order mark, the Japanese header, then the rows.
        let r = app
            .request(Method::POST, "/api/v1/reports/export?lang=ja", &app.read)
            .json(&rows)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
        let bytes = r.bytes().await.unwrap();
        assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
        assert_eq!(
            std::str::from_utf8(&bytes[3..]).unwrap(),
            "名前,ARR,通貨\r\nAsahi Kogyo,1200000,JPY\r\nBunka Shoji,600000,JPY\r\nChiba Soft,96000,JPY\r\n"
        );
        let r = app
            .request(Method::POST, "/api/v1/reports/export?lang=en", &app.read)
            .json(&grouped)
            .send()
            .await
            .unwrap();
        let text = r.text().await.unwrap();
        assert_eq!(text, "\u{feff}Segment,Sum of ARR,Count,Currency\r\nenterprise,1800000,2,JPY\r\nsmb,96000,1,JPY\r\n");
        let (status, body) = post(&app, &app.read, "/api/v1/reports/export?lang=fr", rows).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("lang"));
        app
    })
    .await;
}

#[tokio::test]
async fn bad_definitions_answer_422_naming_every_field() {
    on_each_backend(|app| async move {
        let (status, body) = post(
            &app,
            &app.read,
            "/api/v1/reports/run",
            json!({"definition": {
                "subject": "accounts",
                "columns": ["name", "favourite_colour"],
                "filters": [{"field": "arr", "op": "gt", "value": "a lot"},
                            {"field": "segment", "op": "contains", "value": "ent"}],
                "group_by": [{"field": "name", "bucket": "month"}],
                "aggregates": [{"fn": "sum", "field": "name"}]
            }}),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let fields: Vec<&str> = v["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "definition.columns[1]",
                "definition.filters[0].value",
                "definition.filters[1].op",
                "definition.group_by[0].bucket",
                "definition.aggregates[0].field",
            ]
        );
        let (status, body) = post(
            &app,
            &app.write,
            "/api/v1/reports",
            json!({"name": " ", "definition": {"subject": "deals"}}),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let fields: Vec<&str> = v["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["name", "definition.subject"]);
        app
    })
    .await;
}

#[tokio::test]
async fn saved_reports_follow_each_tokens_rights() {
    on_each_backend(|app| async move {
        portfolio(&app).await;
        // Four shipped reports, shared with every token, each runs.
        let list = app.get_json("/api/v1/reports").await;
        assert_eq!(list["total"], 4);
        for r in list["items"].as_array().unwrap() {
            assert_eq!(r["shared"], true);
            let id = r["id"].as_i64().unwrap();
            let run = app.get_json(&format!("/api/v1/reports/{id}/run")).await;
            assert!(
                run["columns"].as_array().is_some_and(|c| !c.is_empty()),
                "{run}"
            );
        }
        let arr_report = list["items"][0]["id"].as_i64().unwrap();
        let run = app
            .get_json(&format!("/api/v1/reports/{arr_report}/run"))
            .await;
        // ARR by segment and band: whatever bands the accounts scored, the enterprise groups add
        // up to 1,800,000 over two accounts and the SMB ones to 96,000 over one.
        let total = |segment: &str, col: usize| -> f64 {
            run["rows"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["cells"][0] == segment)
                .map(|r| r["cells"][col].as_f64().unwrap())
                .sum()
        };
        assert_eq!(
            (total("enterprise", 2), total("enterprise", 3)),
            (1_800_000.0, 2.0)
        );
        assert_eq!((total("smb", 2), total("smb", 3)), (96_000.0, 1.0));

        // A read token cannot save.
        let definition = json!({"subject": "accounts", "columns": ["name", "arr"]});
        let (status, body) = post(
            &app,
            &app.read,
            "/api/v1/reports",
            json!({"name": "Mine", "definition": definition}),
        )
        .await;
        assert_eq!(status, 403, "{body}");

        // A CSM's write token saves a private report that belongs to her.
        let user: Value = app
            .request(Method::POST, "/api/v1/users", &app.admin)
            .json(&json!({"email": "aiko@example.jp", "name": "Aiko", "role": "csm"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let aiko_id = user["id"].as_i64().unwrap();
        let store = Store::connect(&app.database_url()).await.unwrap();
        let aiko = store
            .issue_token(
                "aiko",
                TokenScope::Write,
                &Actor::User {
                    id: aiko_id,
                    email: "aiko@example.jp".into(),
                },
            )
            .await
            .unwrap()
            .secret;
        store.close().await;
        let (status, body) = post(
            &app,
            &aiko,
            "/api/v1/reports",
            json!({"name": "My book", "definition": definition}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let mine: Value = serde_json::from_str(&body).unwrap();
        let id = mine["id"].as_i64().unwrap();
        assert_eq!(mine["owner_id"], aiko_id);
        assert_eq!(mine["owner_name"], "Aiko");
        assert_eq!(mine["shared"], false);

        // Other tokens do not see it (404), admins do.
        let r = app
            .request(Method::GET, &format!("/api/v1/reports/{id}"), &app.read)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = app
            .request(Method::GET, &format!("/api/v1/reports/{id}"), &app.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // Another write token may not change a shipped report it does not own.
        let r = app
            .request(
                Method::PUT,
                &format!("/api/v1/reports/{arr_report}"),
                &app.write,
            )
            .json(&json!({"name": "Mine now", "definition": definition, "shared": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);

        // Aiko shares it; now every token sees and runs it.
        let r = app
            .request(Method::PUT, &format!("/api/v1/reports/{id}"), &aiko)
            .json(&json!({"name": "Our book", "definition": definition, "shared": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let run = app
            .get_json(&format!("/api/v1/reports/{id}/run?limit=1"))
            .await;
        assert_eq!(run["rows"][0]["cells"], json!(["Asahi Kogyo", 1_200_000.0]));
        assert_eq!(run["next_offset"], 1);
        let r = app
            .get(&format!("/api/v1/reports/{id}/export?lang=en"))
            .await;
        assert_eq!(r.status(), 200);
        let bytes = r.bytes().await.unwrap();
        assert!(bytes.starts_with("\u{feff}Name,ARR,Currency\r\n".as_bytes()));
        assert_eq!(
            bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count(),
            4
        );
        let r = app
            .request(Method::DELETE, &format!("/api/v1/reports/{id}"), &app.write)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let r = app
            .request(Method::DELETE, &format!("/api/v1/reports/{id}"), &aiko)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let r = app
            .request(Method::GET, &format!("/api/v1/reports/{id}"), &app.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);

        // The OpenAPI document lists the reports paths under their tag.
        let doc: Value = app
            .client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            doc["paths"]["/api/v1/reports/run"]["post"]["tags"],
            json!(["reports"])
        );
        assert!(doc["paths"]["/api/v1/reports/{id}/export"]["get"].is_object());
        app
    })
    .await;
}
