use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::on_each_backend;

#[tokio::test]
async fn scores_explain_themselves_and_scorecards_are_validated() {
    on_each_backend(|app| async move {
        let a = app.expect(Method::POST, "/api/v1/accounts", json!({"name": "Lambda", "external_id": "g-lambda"}), 201).await;
        let id = a["id"].as_i64().unwrap();
        let today = chrono::Utc::now().date_naive();
        app.expect(
            Method::POST,
            &format!("/api/v1/accounts/{id}/subscriptions"),
            json!({"product": "Cloud", "mrr": 1000, "seats": 5, "start_date": (today - chrono::Duration::days(100)).to_string(),
                   "end_date": (today + chrono::Duration::days(265)).to_string()}),
            201,
        )
        .await;
        app.expect(Method::POST, &format!("/api/v1/accounts/{id}/survey-responses"), json!({"score": 4}), 201).await;

        let h = app.get_json(&format!("/api/v1/accounts/{id}/health")).await;
        assert_eq!(h["scorecard_name"], "Standard health");
        let score = h["score"].as_f64().expect("a score from NPS, tickets and days to renewal");
        // Contributions add up to the score; each measure says its raw value and weight.
        let mut sum = 0.0;
        for g in h["groups"].as_array().unwrap() {
            for m in g["measures"].as_array().unwrap() {
                assert!(m.get("weight").is_some() && m.get("raw").is_some(), "{m}");
                sum += m["contribution"].as_f64().unwrap_or(0.0);
            }
        }
        assert!((sum - score).abs() < 0.1, "{sum} vs {score}");
        let nps = h["groups"][1]["measures"][1].clone();
        assert_eq!(nps["key"], "nps_latest");
        assert_eq!(nps["raw"], 4.0);
        assert_eq!(nps["score"], 0.0);

        // A manual score on a measure no scorecard has is refused; a real one moves the score.
        let bad = app.expect(Method::PUT, &format!("/api/v1/accounts/{id}/health/manual/mood"), json!({"score": 50}), 422).await;
        assert_eq!(bad["error"]["fields"][0]["field"], "measure");
        app.expect(Method::PUT, &format!("/api/v1/accounts/{id}/health/manual/csm_sentiment"), json!({"score": 100, "note": "great call"}), 204).await;
        let h2 = app.get_json(&format!("/api/v1/accounts/{id}/health")).await;
        assert!(h2["score"].as_f64().unwrap() > score, "{h2}");
        assert_eq!(h2["manual_scores"][0]["measure"], "csm_sentiment");

        // Recompute writes today's snapshot; history shows it.
        let r = app.request(Method::POST, "/api/v1/health/recompute", &app.write).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let history = app.get_json(&format!("/api/v1/accounts/{id}/health/history?days=30")).await;
        let last = history.as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["score"], h2["score"]);
        let acc = app.get_json(&format!("/api/v1/accounts/{id}")).await;
        assert_eq!(acc["health_score"], h2["score"]);
        let bad = app.get(&format!("/api/v1/accounts/{id}/health/history?days=0")).await;
        assert_eq!(bad.status(), 400);

        // Scorecards: writes need an admin token; bad definitions name the field.
        let cards = app.get_json("/api/v1/scorecards").await;
        let default: Value = cards[0].clone();
        assert_eq!(default["is_default"], true);
        let mut def = default.clone();
        for k in ["id", "created_at", "updated_at"] {
            def.as_object_mut().unwrap().remove(k);
        }
        def["name"] = json!("High touch");
        def["is_default"] = json!(false);
        def["applies_to"] = json!({"coverage_tiers": ["high_touch"]});
        let r = app.request(Method::POST, "/api/v1/scorecards", &app.write).json(&def).send().await.unwrap();
        assert_eq!(r.status(), 403);
        let mut bad_def = def.clone();
        bad_def["groups"][0]["measures"][0]["weight"] = json!(-1);
        bad_def["groups"][0]["measures"][1]["indicator"] = json!("bredth");
        bad_def["bands"][1]["min"] = json!(30);
        let r = app.request(Method::POST, "/api/v1/scorecards", &app.admin).json(&bad_def).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        let fields: Vec<&str> = body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&"groups[0].measures[0].weight"), "{fields:?}");
        assert!(fields.contains(&"groups[0].measures[1].indicator"), "{fields:?}");
        assert!(fields.contains(&"bands[1].min"), "{fields:?}");
        let r = app.request(Method::POST, "/api/v1/scorecards", &app.admin).json(&def).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let created: Value = r.json().await.unwrap();

        // Export as TOML and load it back as another scorecard.
        let toml_text = app
            .request(Method::GET, &format!("/api/v1/scorecards/{}/export?format=toml", created["id"]), &app.read)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(toml_text.contains("name = \"High touch\""), "{toml_text}");
        let renamed = toml_text.replace("name = \"High touch\"", "name = \"High touch (copy)\"");
        let r = app
            .request(Method::POST, "/api/v1/scorecards", &app.admin)
            .header("content-type", "application/toml")
            .body(renamed)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let r = app.request(Method::DELETE, &format!("/api/v1/scorecards/{}", default["id"]), &app.admin).send().await.unwrap();
        assert_eq!(r.status(), 422, "the default scorecard stays");
        app
    })
    .await;
}

#[tokio::test]
async fn segments_match_conditions_over_fields_and_indicators() {
    on_each_backend(|app| async move {
        for (name, tier) in [
            ("A", "high_touch"),
            ("B", "high_touch"),
            ("C", "tech_touch"),
        ] {
            app.expect(
                Method::POST,
                "/api/v1/accounts",
                json!({"name": name, "coverage_tier": tier}),
                201,
            )
            .await;
        }
        let r = app
            .request(Method::POST, "/api/v1/health/recompute", &app.write)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let seg = app
            .expect(
                Method::POST,
                "/api/v1/segments",
                json!({"name": "High touch", "expression": "coverage_tier == 'high_touch'"}),
                201,
            )
            .await;
        assert_eq!(seg["count"], 2);
        let bad = app
            .expect(
                Method::POST,
                "/api/v1/segments",
                json!({"name": "x", "expression": "coverage_tier == "}),
                422,
            )
            .await;
        assert_eq!(bad["error"]["fields"][0]["field"], "expression");
        assert!(
            bad["error"]["fields"][0]["message"]
                .as_str()
                .unwrap()
                .contains("column"),
            "{bad}"
        );
        let bad = app
            .expect(
                Method::POST,
                "/api/v1/segments",
                json!({"name": "x", "expression": "tier == 'a'"}),
                422,
            )
            .await;
        assert!(
            bad["error"]["fields"][0]["message"]
                .as_str()
                .unwrap()
                .contains("unknown field `tier`"),
            "{bad}"
        );
        // Indicators are fields too: every account has 0 open tickets after the recompute.
        let p = app
            .expect(
                Method::POST,
                "/api/v1/segments/preview",
                json!({"expression": "open_tickets == 0.0 && coverage_tier != 'high_touch'"}),
                200,
            )
            .await;
        assert_eq!(p["count"], 1);
        let id = seg["id"].as_i64().unwrap();
        let changed = app
            .expect(
                Method::PATCH,
                &format!("/api/v1/segments/{id}"),
                json!({"expression": "coverage_tier == 'tech_touch'"}),
                200,
            )
            .await;
        assert_eq!(changed["count"], 1);
        let m = app
            .get_json(&format!("/api/v1/segments/{id}/accounts"))
            .await;
        assert_eq!(m["account_ids"].as_array().unwrap().len(), 1);
        let list = app.get_json("/api/v1/segments").await;
        assert_eq!(list[0]["name"], "High touch");
        app.expect(
            Method::DELETE,
            &format!("/api/v1/segments/{id}"),
            json!({}),
            204,
        )
        .await;
        app
    })
    .await;
}

#[tokio::test]
async fn journeys_track_milestones_by_hand_and_by_condition() {
    on_each_backend(|app| async move {
        let a = app.expect(Method::POST, "/api/v1/accounts", json!({"name": "Mu", "lifecycle_stage": "onboarding"}), 201).await;
        let id = a["id"].as_i64().unwrap();
        let start = chrono::Utc::now().date_naive() - chrono::Duration::days(20);
        app.expect(
            Method::POST,
            &format!("/api/v1/accounts/{id}/subscriptions"),
            json!({"product": "Cloud", "mrr": 1000, "seats": 5, "start_date": start.to_string(), "end_date": (start + chrono::Duration::days(365)).to_string()}),
            201,
        )
        .await;
        let journeys = app.get_json(&format!("/api/v1/accounts/{id}/journeys")).await;
        let j = &journeys[0];
        assert_eq!(j["name"], "Onboarding");
        assert_eq!(j["progress"]["started_on"], start.to_string());
        // Day 20: hand-off (day 3), welcome (7), kickoff (14) are overdue; kickoff not yet stuck.
        let status = |j: &Value, k: &str| j["progress"]["milestones"].as_array().unwrap().iter().find(|m| m["key"] == k).unwrap()["status"].clone();
        assert_eq!(status(j, "sales_handoff"), "stuck");
        assert_eq!(status(j, "kickoff"), "behind");
        assert_eq!(status(j, "go_live"), "on_track");
        let jid = j["journey_id"].as_i64().unwrap();
        app.expect(Method::PUT, &format!("/api/v1/accounts/{id}/journeys/{jid}/milestones/sales_handoff"), json!({"completed_on": (start + chrono::Duration::days(2)).to_string()}), 204).await;
        let bad = app.expect(Method::PUT, &format!("/api/v1/accounts/{id}/journeys/{jid}/milestones/nope"), json!({}), 422).await;
        assert_eq!(bad["error"]["fields"][0]["field"], "milestone");
        let journeys = app.get_json(&format!("/api/v1/accounts/{id}/journeys")).await;
        assert_eq!(status(&journeys[0], "sales_handoff"), "done");
        // A journey with a bad condition is refused, naming the milestone.
        let bad = app
            .expect(Method::POST, "/api/v1/journeys", json!({"name": "X", "milestones": [{"key": "a", "name": "A", "stage": "adoption", "target_days": 5, "condition": "nope > 1"}]}), 422)
            .await;
        assert_eq!(bad["error"]["fields"][0]["field"], "milestones[0].condition");
        // A condition that holds completes its milestone: every account has 0 open tickets.
        app.expect(
            Method::POST,
            "/api/v1/journeys",
            json!({"name": "Support", "milestones": [{"key": "calm", "name": "No open tickets", "stage": "adoption", "target_days": 5, "condition": "open_tickets == 0.0"}]}),
            201,
        )
        .await;
        let r = app.request(Method::POST, "/api/v1/health/recompute", &app.write).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let journeys = app.get_json(&format!("/api/v1/accounts/{id}/journeys")).await;
        let support = journeys.as_array().unwrap().iter().find(|j| j["name"] == "Support").unwrap();
        assert_eq!(support["progress"]["status"], "done");
        app
    })
    .await;
}

#[tokio::test]
async fn segmentation_rules_set_axes_except_those_set_by_hand() {
    on_each_backend(|app| async move {
        let mut ids = Vec::new();
        for name in ["Big", "Small", "Hand"] {
            let a = app.expect(Method::POST, "/api/v1/accounts", json!({"name": name}), 201).await;
            ids.push(a["id"].as_i64().unwrap());
        }
        let today = chrono::Utc::now().date_naive();
        for (id, mrr) in [(ids[0], 2_000_000), (ids[1], 10_000), (ids[2], 2_000_000)] {
            app.expect(
                Method::POST,
                &format!("/api/v1/accounts/{id}/subscriptions"),
                json!({"product": "Cloud", "mrr": mrr, "seats": 5, "start_date": (today - chrono::Duration::days(10)).to_string(),
                       "end_date": (today + chrono::Duration::days(355)).to_string()}),
                201,
            )
            .await;
        }
        // A person sets Hand's tier; rules leave it alone afterwards.
        app.expect(Method::PATCH, &format!("/api/v1/accounts/{}", ids[2]), json!({"contract_value_tier": "smb"}), 200).await;
        let rules = json!({"rules": [
            {"axis": "contract_value_tier", "value": "enterprise", "when": "arr >= 12000000.0"},
            {"axis": "contract_value_tier", "value": "smb", "when": "true"},
            {"axis": "coverage_tier", "value": "high_touch", "when": "arr >= 12000000.0"}
        ]});
        let r = app.request(Method::PUT, "/api/v1/segmentation/rules", &app.write).json(&rules).send().await.unwrap();
        assert_eq!(r.status(), 403, "rules are an admin's");
        let bad = json!({"rules": [{"axis": "coverage_tier", "value": "vip", "when": "arr >"}]});
        let r = app.request(Method::PUT, "/api/v1/segmentation/rules", &app.admin).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let r = app.request(Method::PUT, "/api/v1/segmentation/rules", &app.admin).json(&rules).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let r = app.request(Method::POST, "/api/v1/segmentation/apply", &app.admin).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let run: Value = r.json().await.unwrap();
        assert_eq!(run["kept_by_hand"], 1, "{run}");
        let path = |i: usize| format!("/api/v1/accounts/{}", ids[i]);
        let big = app.get_json(&path(0)).await;
        assert_eq!(big["contract_value_tier"], "enterprise");
        assert_eq!(big["coverage_tier"], "high_touch");
        assert_eq!(app.get_json(&path(1)).await["contract_value_tier"], "smb");
        let hand = app.get_json(&path(2)).await;
        assert_eq!(hand["contract_value_tier"], "smb", "set by hand, kept");
        assert_eq!(hand["coverage_tier"], "high_touch", "not set by hand, so the rule applies");
        app
    })
    .await;
}
