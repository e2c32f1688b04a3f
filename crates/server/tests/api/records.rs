use reqwest::Method;
use serde_json::json;

use crate::helpers::on_each_backend;

#[tokio::test]
async fn records_are_listed_created_and_updated_under_their_account() {
    on_each_backend(|app| async move {
        let a = app.expect(Method::POST, "/api/v1/accounts", json!({"name": "Acme"}), 201).await;
        let id = a["id"].as_i64().unwrap();
        let other = app.expect(Method::POST, "/api/v1/accounts", json!({"name": "Other"}), 201).await["id"].as_i64().unwrap();

        let c = app
            .expect(Method::POST, &format!("/api/v1/accounts/{id}/contacts"), json!({"name": "山田 太郎", "email": "taro@acme.jp", "roles": ["champion"]}), 201)
            .await;
        let cid = c["id"].as_i64().unwrap();
        let bad = app.expect(Method::POST, &format!("/api/v1/accounts/{id}/contacts"), json!({"email": "not-mail"}), 422).await;
        assert_eq!(bad["error"]["fields"][0]["field"], "email");
        let c2 = app.expect(Method::PATCH, &format!("/api/v1/contacts/{cid}"), json!({"title": "部長"}), 200).await;
        assert_eq!(c2["title"], "部長");
        assert_eq!(c2["roles"], json!(["champion"]));

        let s = app
            .expect(
                Method::POST,
                &format!("/api/v1/accounts/{id}/subscriptions"),
                json!({"product": "Cloud", "mrr": 100000, "seats": 20, "start_date": "2026-01-01", "end_date": "2026-12-31"}),
                201,
            )
            .await;
        let sid = s["id"].as_i64().unwrap();
        let bad = app
            .expect(Method::POST, &format!("/api/v1/accounts/{id}/subscriptions"), json!({"mrr": -5, "start_date": "2026-01-01", "end_date": "2025-01-01"}), 422)
            .await;
        let fields: Vec<&str> = bad["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["mrr", "end_date"]);
        app.expect(Method::PATCH, &format!("/api/v1/subscriptions/{sid}"), json!({"mrr": 130000, "effective_date": "2026-06-01"}), 200).await;
        let moves = app.get_json(&format!("/api/v1/accounts/{id}/revenue-movements")).await;
        let kinds: Vec<&str> = moves.as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["new", "expansion"]);
        let detail = app.get_json(&format!("/api/v1/accounts/{id}")).await;
        assert_eq!(detail["mrr"], 130000.0);
        assert_eq!(detail["arr"], 1560000.0);
        assert_eq!(detail["renewal_date"], "2026-12-31");
        assert_eq!(detail["contacts"].as_array().unwrap().len(), 1);

        let t = app.expect(Method::POST, &format!("/api/v1/accounts/{id}/tickets"), json!({"subject": "ログインできない", "severity": "high", "contact_id": cid}), 201).await;
        app.expect(Method::POST, &format!("/api/v1/accounts/{other}/tickets"), json!({"subject": "x", "contact_id": cid}), 422).await;
        let t2 = app.expect(Method::PATCH, &format!("/api/v1/tickets/{}", t["id"]), json!({"status": "solved"}), 200).await;
        assert_eq!(t2["status"], "solved");
        assert_eq!(t2["subject"], "ログインできない");

        let n = app.expect(Method::POST, &format!("/api/v1/accounts/{id}/survey-responses"), json!({"score": 3, "comment": "遅い"}), 201).await;
        assert_eq!(n["category"], "detractor");
        app.expect(Method::POST, &format!("/api/v1/accounts/{id}/survey-responses"), json!({"score": 11}), 422).await;

        let tp = app
            .expect(Method::POST, &format!("/api/v1/accounts/{id}/touchpoints"), json!({"kind": "qbr", "subject": "Q3 QBR", "duration_minutes": 60, "sentiment": "positive"}), 201)
            .await;
        app.expect(Method::PATCH, &format!("/api/v1/touchpoints/{}", tp["id"]), json!({"notes": "次回は役員同席"}), 200).await;
        app.expect(Method::POST, &format!("/api/v1/accounts/{id}/touchpoints"), json!({"kind": "party", "subject": "x"}), 422).await;

        for (path, n) in [("tickets", 1), ("survey-responses", 1), ("touchpoints", 1), ("contacts", 1)] {
            let page = app.get_json(&format!("/api/v1/accounts/{id}/{path}")).await;
            assert_eq!(page["total"], n, "{path}");
        }
        assert_eq!(app.get("/api/v1/accounts/99999/tickets").await.status(), 404);
        app.expect(Method::POST, "/api/v1/accounts/99999/tickets", json!({"subject": "x"}), 404).await;

        let audit: serde_json::Value = app.request(Method::GET, "/api/v1/audit", &app.admin).send().await.unwrap().json().await.unwrap();
        assert!(audit.as_array().unwrap().iter().any(|e| e["subject_type"] == "ticket" && e["action"] == "update"));
        app
    })
    .await;
}
