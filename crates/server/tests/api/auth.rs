use reqwest::Method;
use serde_json::json;

use crate::helpers::on_each_backend;

#[tokio::test]
async fn tokens_need_their_scope() {
    on_each_backend(|app| async move {
        let r = app.client.get(app.url("/api/v1/accounts")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");

        let r = app.request(Method::GET, "/api/v1/accounts", "kz_not_a_token").send().await.unwrap();
        assert_eq!(r.status(), 401);

        // read: GET only
        assert_eq!(app.get("/api/v1/accounts").await.status(), 200);
        let r = app.request(Method::POST, "/api/v1/accounts", &app.read).json(&json!({"name": "X"})).send().await.unwrap();
        assert_eq!(r.status(), 403);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "forbidden");

        // write: changes, not tokens or users
        let r = app.request(Method::POST, "/api/v1/accounts", &app.write).json(&json!({"name": "X"})).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let r = app.request(Method::GET, "/api/v1/tokens", &app.write).send().await.unwrap();
        assert_eq!(r.status(), 403);

        // admin: tokens and users
        let r = app.request(Method::GET, "/api/v1/tokens", &app.admin).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let issued: serde_json::Value = app
            .request(Method::POST, "/api/v1/tokens", &app.admin)
            .json(&json!({"name": "ci", "scope": "read"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = issued["secret"].as_str().unwrap().to_string();
        assert_eq!(app.request(Method::GET, "/api/v1/accounts", &secret).send().await.unwrap().status(), 200);
        let id = issued["token"]["id"].as_i64().unwrap();
        let r = app.request(Method::DELETE, &format!("/api/v1/tokens/{id}"), &app.admin).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(app.request(Method::GET, "/api/v1/accounts", &secret).send().await.unwrap().status(), 401);

        let user = app
            .request(Method::POST, "/api/v1/users", &app.admin)
            .json(&json!({"email": "sato@example.jp", "name": "佐藤 花子", "role": "csm", "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(user.status(), 201);
        let user: serde_json::Value = user.json().await.unwrap();
        assert!(user.get("password").is_none() && user.get("password_hash").is_none());
        let dup = app
            .request(Method::POST, "/api/v1/users", &app.admin)
            .json(&json!({"email": "sato@example.jp", "name": "Other"}))
            .send()
            .await
            .unwrap();
        assert_eq!(dup.status(), 409);
        app
    })
    .await;
}

#[tokio::test]
async fn health_and_openapi_need_no_token() {
    on_each_backend(|app| async move {
        let health: serde_json::Value = app
            .client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "ok");
        assert_eq!(health["database"], app.backend.as_str());
        let doc: serde_json::Value = app
            .client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for path in [
            "/api/v1/accounts",
            "/api/v1/accounts/{id}",
            "/api/v1/accounts/{id}/contacts",
            "/api/v1/tokens",
            "/api/v1/insight/dashboard",
            "/api/v1/insight/settings",
            "/api/v1/insight/renewals",
            "/api/v1/insight/renewals/decided",
            "/api/v1/subscriptions/{id}/renewal-call",
            "/api/v1/insight/churn-drivers",
            "/api/v1/insight/weight-suggestions",
            "/api/v1/insight/weight-suggestions/{id}",
            "/api/v1/insight/weight-suggestions/{id}/accept",
            "/api/v1/insight/churn-model",
            "/api/v1/insight/churn-model/train",
            "/api/v1/insight/churn-predictions",
            "/api/v1/accounts/{id}/churn-prediction",
            "/api/v1/insight/team",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} is documented");
        }
        for schema in [
            "Dashboard",
            "Figures",
            "RenewalMap",
            "ChurnDrivers",
            "Driver",
            "StoredChurnModel",
            "Validation",
            "Team",
        ] {
            assert!(
                doc["components"]["schemas"].get(schema).is_some(),
                "{schema} is documented"
            );
        }
        assert!(doc["components"]["schemas"].get("Account").is_some());
        let missing = app.client.get(app.url("/nope")).send().await.unwrap();
        assert_eq!(missing.status(), 404);
        app
    })
    .await;
}
