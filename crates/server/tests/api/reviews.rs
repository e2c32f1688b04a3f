//! Champions and business reviews over real HTTP: the figures of a review's period against data
//! sent through the API, the PDF in both languages, and the roles.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::json;

use crate::helpers::on_each_backend;
use crate::tracking::post;

#[tokio::test]
async fn a_review_gathers_its_period_and_downloads_as_pdf() {
    on_each_backend(|app| async move {
        let now = Utc::now();
        let today = now.date_naive();
        let ago = |d: i64| (now - Duration::days(d)).to_rfc3339();
        let a = app
            .expect(Method::POST, "/api/v1/accounts", json!({"name": "レビュー商事", "external_id": "rv-co"}), 201)
            .await;
        let id = a["id"].as_i64().unwrap();
        let hana = app
            .expect(Method::POST, &format!("/api/v1/accounts/{id}/contacts"),
                json!({"name": "佐藤 花子", "external_id": "u-hana", "title": "部長", "roles": ["champion"]}), 201)
            .await["id"].as_i64().unwrap();
        app.expect(Method::POST, &format!("/api/v1/accounts/{id}/contacts"),
            json!({"name": "Ken", "external_id": "u-ken", "roles": ["user"]}), 201).await;

        // Five events by Hana 10 days ago (in the period), three by Ken 70 days ago (the period
        // before, which is the 61 days before the period's start).
        let mut batch = Vec::new();
        for n in 0..5 {
            batch.push(json!({"type": "track", "event": "report_viewed", "userId": "u-hana", "messageId": format!("h{n}"),
                "timestamp": ago(10), "context": {"groupId": "rv-co"}}));
        }
        for n in 0..3 {
            batch.push(json!({"type": "track", "event": "report_viewed", "userId": "u-ken", "messageId": format!("k{n}"),
                "timestamp": ago(70), "context": {"groupId": "rv-co"}}));
        }
        let (status, body) = post(&app, "/v1/batch", &app.write, json!({"batch": batch})).await;
        assert_eq!(status, 200, "{body}");

        // Tickets: solved in 3 and 2 days, and one urgent still open.
        for (opened, solved, severity) in [(20, Some(17), "normal"), (5, Some(3), "high"), (1, None, "urgent")] {
            let mut t = json!({"subject": "問い合わせ", "severity": severity, "opened_at": ago(opened)});
            if let Some(s) = solved {
                t["status"] = json!("solved");
                t["solved_at"] = json!(ago(s));
            }
            app.expect(Method::POST, &format!("/api/v1/accounts/{id}/tickets"), t, 201).await;
        }
        // NPS: two promoters and a detractor → (2 − 1) / 3 = 33.3.
        for (score, comment) in [(10, Some("使いやすい")), (9, None), (3, Some("遅い"))] {
            app.expect(Method::POST, &format!("/api/v1/accounts/{id}/survey-responses"),
                json!({"score": score, "comment": comment, "responded_at": ago(7)}), 201).await;
        }
        app.expect(Method::POST, &format!("/api/v1/accounts/{id}/touchpoints"),
            json!({"kind": "meeting", "subject": "定例", "contact_id": hana, "occurred_at": ago(4)}), 201).await;

        // Champions: Hana (tagged, used it 10 days ago, met 4 days ago) ranks first.
        let champs = app.get_json(&format!("/api/v1/accounts/{id}/champions")).await;
        assert_eq!(champs[0]["contact_id"], hana);
        assert_eq!(champs[0]["tagged"], true);
        assert_eq!(champs[0]["status"], "active");
        assert_eq!(champs[0]["events_90d"], 5);
        // usage 1, role 1, one touchpoint → 0.25, recent → 100 × (0.4 + 0.3 + 0.0375 + 0.15)
        assert!((champs[0]["score"].as_f64().unwrap() - 88.75).abs() <= 0.051, "{}", champs[0]);
        assert_eq!(champs[1]["status"], "quiet");

        // A bad draft names every bad field; a read token cannot write.
        let bad = app
            .expect(Method::POST, &format!("/api/v1/accounts/{id}/reviews"),
                json!({"period_from": today.to_string(), "period_to": (today - Duration::days(1)).to_string(), "title": ""}), 422)
            .await;
        let fields: Vec<&str> = bad["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["period_to", "title"]);
        let draft = json!({"kind": "qbr", "period_from": (today - Duration::days(60)).to_string(), "period_to": today.to_string(),
            "title": "第3四半期レビュー", "goals": "- レポート機能の全社展開\n- 問い合わせ削減", "next_steps": "経営会議で共有"});
        let refused = app.request(Method::POST, &format!("/api/v1/accounts/{id}/reviews"), &app.read).json(&draft).send().await.unwrap();
        assert_eq!(refused.status(), 403);
        let r = app.expect(Method::POST, &format!("/api/v1/accounts/{id}/reviews"), draft, 201).await;
        let rid = r["id"].as_i64().unwrap();

        let got = app.get_json(&format!("/api/v1/reviews/{rid}")).await;
        let f = &got["facts"];
        assert_eq!(f["events"], 5);
        assert_eq!(f["previous_events"], 3);
        assert_eq!(f["support"]["opened"], 3);
        assert_eq!(f["support"]["solved"], 2);
        assert_eq!(f["support"]["open_now"], 1);
        assert_eq!(f["support"]["median_days_to_solve"], 2.5);
        assert_eq!(f["support"]["by_severity"], json!([["urgent", 1], ["high", 1], ["normal", 1]]));
        assert_eq!(f["nps"]["responses"], 3);
        assert_eq!(f["nps"]["promoters"], 2);
        assert_eq!(f["nps"]["detractors"], 1);
        assert!((f["nps"]["nps"].as_f64().unwrap() - 100.0 / 3.0).abs() < 0.1, "{}", f["nps"]);
        assert_eq!(f["touchpoints"], json!([["meeting", 1]]));
        assert_eq!(f["champions"][0][0], "佐藤 花子");
        assert_eq!(f["features"][0]["key"], "report_viewed");
        assert_eq!((f["features"][0]["events"].as_i64(), f["features"][0]["previous_events"].as_i64()), (Some(5), Some(3)));

        // A patch changes only what it carries.
        let p = app.expect(Method::PATCH, &format!("/api/v1/reviews/{rid}"), json!({"value_delivered": "問い合わせが30%減少"}), 200).await;
        assert_eq!(p["title"], "第3四半期レビュー");
        assert_eq!(p["value_delivered"], "問い合わせが30%減少");

        for lang in ["ja", "en"] {
            let pdf = app.get(&format!("/api/v1/reviews/{rid}/pdf?lang={lang}")).await;
            assert_eq!(pdf.status(), 200);
            assert_eq!(pdf.headers()["content-type"], "application/pdf");
            let bytes = pdf.bytes().await.unwrap();
            assert!(bytes.starts_with(b"%PDF-"), "{lang}");
            assert!(bytes.len() > 5_000 && bytes.len() < 1_000_000, "{lang}: {} bytes", bytes.len());
        }
        let bad_lang = app.get(&format!("/api/v1/reviews/{rid}/pdf?lang=fr")).await;
        assert_eq!(bad_lang.status(), 400);

        let listed = app.get_json(&format!("/api/v1/accounts/{id}/reviews")).await;
        assert_eq!(listed.as_array().unwrap().len(), 1);
        let del = app.request(Method::DELETE, &format!("/api/v1/reviews/{rid}"), &app.write).send().await.unwrap();
        assert_eq!(del.status(), 204);
        assert_eq!(app.get(&format!("/api/v1/reviews/{rid}")).await.status(), 404);
        app
    })
    .await;
}
