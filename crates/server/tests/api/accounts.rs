use reqwest::Method;
use serde_json::json;

use crate::helpers::on_each_backend;

#[tokio::test]
async fn accounts_round_trip_with_errors_that_name_the_field() {
    on_each_backend(|app| async move {
        let created = app
            .expect(
                Method::POST,
                "/api/v1/accounts",
                json!({"name": "株式会社サンプル", "external_id": "crm-1", "domain": "https://www.sample.co.jp/", "coverage_tier": "high_touch", "industry": "Retail"}),
                201,
            )
            .await;
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["domain"], "sample.co.jp");

        // 409 on a duplicate external id, naming it
        let dup = app.expect(Method::POST, "/api/v1/accounts", json!({"name": "Other", "external_id": "crm-1"}), 409).await;
        assert_eq!(dup["error"]["code"], "conflict");
        assert_eq!(dup["error"]["fields"][0]["field"], "external_id");

        // 422 naming every bad field
        let bad = app.expect(Method::POST, "/api/v1/accounts", json!({"name": "", "employees": -1, "currency": "XYZ"}), 422).await;
        let fields: Vec<&str> = bad["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["name", "employees", "currency"]);
        let bad = app.expect(Method::POST, "/api/v1/accounts", json!({"name": "x", "coverage_tier": "gold"}), 422).await;
        assert!(bad["error"]["message"].as_str().unwrap().contains("coverage_tier"), "{bad}");
        let bad = app.expect(Method::POST, "/api/v1/accounts", json!({"name": "x", "colour": "red"}), 422).await;
        assert!(bad["error"]["message"].as_str().unwrap().contains("colour"), "{bad}");
        // 400 on malformed JSON
        let r = app.request(Method::POST, "/api/v1/accounts", &app.write).header("content-type", "application/json").body("{\"name\":").send().await.unwrap();
        assert_eq!(r.status(), 400);

        let got = app.get_json(&format!("/api/v1/accounts/{id}")).await;
        assert_eq!(got["name"], "株式会社サンプル");
        assert_eq!(got["contacts"], json!([]));
        let by_ext = app.get_json("/api/v1/accounts/by-external-id/crm-1").await;
        assert_eq!(by_ext["id"], id);

        let patched = app.expect(Method::PATCH, &format!("/api/v1/accounts/{id}"), json!({"lifecycle_stage": "adoption"}), 200).await;
        assert_eq!(patched["lifecycle_stage"], "adoption");
        assert_eq!(patched["name"], "株式会社サンプル");
        let history = app.get_json(&format!("/api/v1/accounts/{id}/lifecycle")).await;
        assert_eq!(history.as_array().unwrap().len(), 2);

        assert_eq!(app.get("/api/v1/accounts/99999").await.status(), 404);
        assert_eq!(app.get("/api/v1/accounts/abc").await.status(), 400);

        let r = app.request(Method::DELETE, &format!("/api/v1/accounts/{id}"), &app.write).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(app.get(&format!("/api/v1/accounts/{id}")).await.status(), 404);
        app
    })
    .await;
}

#[tokio::test]
async fn the_account_list_filters_sorts_and_pages() {
    on_each_backend(|app| async move {
        for (i, (tier, stage, industry)) in [
            ("high_touch", "adoption", "Retail"),
            ("mid_touch", "onboarding", "Retail"),
            ("tech_touch", "adoption", "Healthcare"),
            ("high_touch", "renewal", "Healthcare"),
            ("tech_touch", "churned", "Retail"),
        ]
        .iter()
        .enumerate()
        {
            let a = app
                .expect(
                    Method::POST,
                    "/api/v1/accounts",
                    json!({"name": format!("Account {i}"), "domain": format!("a{i}.example.com"), "coverage_tier": tier, "lifecycle_stage": stage, "industry": industry}),
                    201,
                )
                .await;
            let id = a["id"].as_i64().unwrap();
            app.expect(
                Method::POST,
                &format!("/api/v1/accounts/{id}/subscriptions"),
                json!({"mrr": (i + 1) * 10000, "seats": 10, "start_date": "2026-01-01", "end_date": format!("2027-0{}-01", i + 1)}),
                201,
            )
            .await;
        }
        let page = app.get_json("/api/v1/accounts?coverage_tier=high_touch&sort=-arr").await;
        let names: Vec<&str> = page["items"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Account 3", "Account 0"]);
        assert_eq!(page["items"][0]["arr"], 480000.0);

        let page = app.get_json("/api/v1/accounts?industry=Retail&lifecycle_stage=adoption").await;
        assert_eq!(page["total"], 1);
        let page = app.get_json("/api/v1/accounts?q=A3.EXAMPLE").await;
        assert_eq!(page["items"][0]["name"], "Account 3");
        let page = app.get_json("/api/v1/accounts?renewal_from=2027-02-01&renewal_to=2027-03-31&sort=renewal_date").await;
        let names: Vec<&str> = page["items"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Account 1", "Account 2"]);

        let first = app.get_json("/api/v1/accounts?limit=2").await;
        assert_eq!(first["total"], 5);
        assert_eq!(first["next_offset"], 2);
        let last = app.get_json("/api/v1/accounts?limit=2&offset=4").await;
        assert_eq!(last["items"].as_array().unwrap().len(), 1);
        assert!(last["next_offset"].is_null());

        for bad in ["limit=0", "limit=501", "offset=-1", "sort=password", "renewal_from=tomorrow", "owner_id=x", "health_band=blue"] {
            let r = app.get(&format!("/api/v1/accounts?{bad}")).await;
            assert_eq!(r.status(), 400, "{bad}");
            let body: serde_json::Value = r.json().await.unwrap();
            let param = bad.split('=').next().unwrap();
            assert_eq!(body["error"]["fields"][0]["field"], param, "{bad}: {body}");
        }
        app
    })
    .await;
}
