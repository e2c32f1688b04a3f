//! Automation end to end: a rule starts a playbook whose task is created and whose e-mail goes
//! through a real SMTP server (aiosmtpd on loopback, STARTTLS and AUTH required), webhooks are
//! delivered signed to a real HTTP receiver, and two instances on one PostgreSQL run a due job
//! once.

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use kizuna_server::config::SmtpConfig;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{on_each_backend_with, spawn_app_with, TestApp};

/// The SMTP server the test scripts provide (scripts/smtp-server.py), started per test.
pub struct SmtpServer {
    pub port: u16,
    pub maildir: PathBuf,
    pub ca_file: PathBuf,
    _dir: tempfile::TempDir,
    child: tokio::process::Child,
}

fn python() -> Option<String> {
    let candidates = [
        std::env::var("KIZUNA_TEST_PYTHON").ok(),
        Some(format!(
            "{}/../../target/smtp-venv/bin/python",
            env!("CARGO_MANIFEST_DIR")
        )),
        Some("python3".to_string()),
    ];
    candidates.into_iter().flatten().find(|p| {
        std::process::Command::new(p)
            .args(["-c", "import aiosmtpd, trustme"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

impl SmtpServer {
    /// Starts the server; `None` (with a note) where aiosmtpd is not installed — `scripts/test`
    /// installs it, and under CI=true its absence fails the test.
    pub async fn start() -> Option<SmtpServer> {
        let Some(python) = python() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true: the SMTP test server needs Python with aiosmtpd and trustme (scripts/test installs them)"
            );
            eprintln!(
                "skipped: no Python with aiosmtpd and trustme (run scripts/test to install them)"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp-server.py");
        let maildir = dir.path().join("mail");
        let ca_file = dir.path().join("ca.pem");
        let mut child = tokio::process::Command::new(python)
            .arg(script)
            .args(["--port", &port.to_string()])
            .arg("--maildir")
            .arg(&maildir)
            .arg("--ca-file")
            .arg(&ca_file)
            .args(["--user", "kizuna", "--password", "s3cret-pass"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the SMTP server did not start in 20 s")
            .unwrap();
        assert_eq!(ready.as_deref(), Some(format!("READY {port}").as_str()));
        Some(SmtpServer {
            port,
            maildir,
            ca_file,
            _dir: dir,
            child,
        })
    }

    pub fn config(&self) -> SmtpConfig {
        SmtpConfig {
            host: Some("127.0.0.1".into()),
            port: self.port,
            tls: "starttls".into(),
            username: Some("kizuna".into()),
            password: Some("s3cret-pass".into()),
            from: "Kizuna CS <cs@kizuna.example>".into(),
            ca_file: Some(self.ca_file.to_string_lossy().into_owned()),
            timeout_seconds: 10,
        }
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(&self.maildir) else {
            return Vec::new();
        };
        let mut out: Vec<String> = dir
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect();
        out.sort();
        out
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A real HTTP server that records what webhooks post to it.
async fn webhook_receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let store = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn admin(app: &TestApp, method: Method, path: &str, body: Value, status: u16) -> Value {
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

#[tokio::test]
async fn a_rule_starts_a_playbook_whose_task_and_email_go_out_and_webhooks_are_signed() {
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let smtp = Arc::new(smtp);
    let (hook_url, received) = webhook_receiver().await;
    let mail = smtp.clone();
    on_each_backend_with(
        move |c| {
            c.automation.scheduler = true;
            c.automation.tick_seconds = 1;
            c.automation.base_url = "https://cs.example.com".into();
            c.automation.smtp = mail.config();
        },
        |app| {
            let smtp = smtp.clone();
            let received = received.clone();
            let hook_url = hook_url.clone();
            async move {
                received.lock().unwrap().clear();
                let sent_before = smtp.messages().len();
                let csm = admin(&app, Method::POST, "/api/v1/users",
                    json!({"email": format!("csm-{}@kizuna.example", app.backend), "name": "Sato", "role": "csm", "locale": "ja", "password": "correct horse battery"}), 201).await;
                let account = app.expect(Method::POST, "/api/v1/accounts",
                    json!({"name": "Acme KK", "external_id": "acme", "lifecycle_stage": "onboarding", "owner_id": csm["id"]}), 201).await;
                let aid = account["id"].as_i64().unwrap();
                for (name, email) in [("Aki", "aki@customer.example"), ("Bo", "bounce@customer.example")] {
                    app.expect(Method::POST, &format!("/api/v1/accounts/{aid}/contacts"),
                        json!({"name": name, "email": email, "traits": {"locale": "en"}}), 201).await;
                }
                // Only admins change playbooks, rules and webhooks.
                let r = app.request(Method::POST, "/api/v1/rules", &app.write).json(&json!({})).send().await.unwrap();
                assert_eq!(r.status(), 403);
                admin(&app, Method::POST, "/api/v1/playbooks", json!({
                    "key": "kickoff_now", "name": "Kick-off now",
                    "steps": [
                        {"offset_days": 0, "kind": "task", "title": "Call to plan the kickoff", "reason": "onboarding"},
                        {"offset_days": 0, "kind": "email", "template": "welcome", "to": "contacts"},
                        {"offset_days": 10, "kind": "touchpoint", "touchpoint": "training", "title": "Admin training"}
                    ]}), 201).await;
                let generic = admin(&app, Method::POST, "/api/v1/webhooks",
                    json!({"name": "ops", "url": hook_url, "format": "generic"}), 201).await;
                admin(&app, Method::POST, "/api/v1/webhooks",
                    json!({"name": "slack-cs", "url": hook_url, "format": "slack"}), 201).await;
                // A bad condition is refused with its position.
                let bad = admin(&app, Method::POST, "/api/v1/rules", json!({
                    "key": "bad", "name": "Bad", "trigger": {"kind": "daily"}, "condition": "lifecycle_stage = 'x'",
                    "actions": [{"kind": "call_webhook", "webhook": "ops"}]}), 422).await;
                assert_eq!(bad["error"]["fields"][0]["field"], "condition", "{bad}");
                let spec = json!({
                    "key": "new_onboarding", "name": "New onboarding", "trigger": {"kind": "daily"},
                    "condition": "lifecycle_stage == 'onboarding' && name == 'Acme KK'",
                    "actions": [
                        {"kind": "start_playbook", "playbook": "kickoff_now"},
                        {"kind": "call_webhook", "webhook": "ops"},
                        {"kind": "call_webhook", "webhook": "slack-cs"}
                    ]});
                let rule = admin(&app, Method::POST, "/api/v1/rules", spec.clone(), 201).await;
                let rid = rule["id"].as_i64().unwrap();
                let preview = admin(&app, Method::POST, "/api/v1/rules/preview", spec, 200).await;
                assert_eq!(preview["account_ids"], json!([aid]));

                let run = admin(&app, Method::POST, "/api/v1/rules/run", json!({"pass": "daily"}), 200).await;
                // The scheduler's own daily pass may have fired it first; either way it fired once.
                assert!(run["matches"].as_i64().unwrap() >= 1, "{run}");
                let firings = app.get_json(&format!("/api/v1/rule-firings?rule_id={rid}")).await;
                assert_eq!(firings["total"], 1);
                assert_eq!(firings["items"][0]["matched"]["lifecycle_stage"], "onboarding");
                assert_eq!(firings["items"][0]["actions"]["playbooks_started"], 1);
                assert_eq!(firings["items"][0]["actions"]["webhooks_queued"], 2);
                // A second run the same day does not fire again.
                admin(&app, Method::POST, "/api/v1/rules/run", json!({"pass": "daily"}), 200).await;
                assert_eq!(app.get_json(&format!("/api/v1/rule-firings?rule_id={rid}")).await["total"], 1);

                // The scheduler carries out the playbook's day-0 steps and sends the mail.
                admin(&app, Method::POST, "/api/v1/jobs/playbooks.advance/run", json!({}), 202).await;
                eventually("the playbook's task", || async {
                    let t = app.get_json(&format!("/api/v1/tasks?account_id={aid}")).await;
                    t["items"].as_array().unwrap().iter().any(|t| t["title"] == "Call to plan the kickoff")
                }).await;
                let tasks = app.get_json(&format!("/api/v1/tasks?account_id={aid}")).await;
                let task = tasks["items"].as_array().unwrap().iter().find(|t| t["title"] == "Call to plan the kickoff").unwrap().clone();
                assert_eq!(task["owner_id"], csm["id"]);
                assert_eq!(task["source"], "playbook");
                eventually("the e-mails' outcome", || async {
                    let e = app.get_json(&format!("/api/v1/emails?account_id={aid}")).await;
                    let items = e["items"].as_array().unwrap().clone();
                    items.len() == 2 && items.iter().all(|m| m["status"] == "sent" || m["status"] == "failed")
                }).await;
                let emails = app.get_json(&format!("/api/v1/emails?account_id={aid}")).await;
                let by = |to: &str| emails["items"].as_array().unwrap().iter().find(|m| m["to_address"] == to).unwrap().clone();
                assert_eq!(by("aki@customer.example")["status"], "sent");
                let bounced = by("bounce@customer.example");
                assert_eq!(bounced["status"], "failed", "550 is permanent: {bounced}");
                assert!(bounced["last_error"].as_str().unwrap().contains("550"), "{bounced}");
                let msgs = smtp.messages();
                assert_eq!(msgs.len(), sent_before + 1);
                let m = msgs.iter().find(|m| m.contains("Acme KK")).unwrap();
                assert!(m.contains("X-Tls: yes") && m.contains("X-Auth: yes"), "{m}");
                assert!(m.contains("X-Envelope-To: aki@customer.example"));
                assert!(m.contains("Subject: Welcome aboard, Acme KK"), "{m}");
                assert!(m.contains("https://cs.example.com/u/"), "customer mail carries an unsubscribe link");
                let runs = app.get_json(&format!("/api/v1/playbook-runs?account_id={aid}")).await;
                let run = runs.as_array().unwrap().iter().find(|r| r["playbook_key"] == "kickoff_now").unwrap();
                assert_eq!(run["total_steps"], 3);
                assert_eq!(run["steps"][0]["status"], "done");
                assert_eq!(run["steps"][2]["status"], "pending");
                assert_eq!(run["completed_steps"], 1, "the e-mail step; the task is still open");

                // Webhooks: the generic one is signed over timestamp and body; Slack gets text.
                admin(&app, Method::POST, "/api/v1/jobs/webhooks.send/run", json!({}), 202).await;
                eventually("two webhook deliveries", || async { received.lock().unwrap().len() >= 2 }).await;
                let got = received.lock().unwrap().clone();
                let secret = generic["secret"].as_str().unwrap();
                let signed = got.iter().find(|(h, _)| h.contains_key("x-kizuna-signature")).unwrap();
                let ts = signed.0["x-kizuna-timestamp"].to_str().unwrap();
                let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
                mac.update(format!("{ts}.{}", signed.1).as_bytes());
                let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                assert_eq!(signed.0["x-kizuna-signature"].to_str().unwrap(), want);
                let body: Value = serde_json::from_str(&signed.1).unwrap();
                assert_eq!(body["event"], "rule.fired");
                assert_eq!(body["account"]["name"], "Acme KK");
                let slack = got.iter().find(|(h, _)| !h.contains_key("x-kizuna-signature")).unwrap();
                let text: Value = serde_json::from_str(&slack.1).unwrap();
                assert!(text["text"].as_str().unwrap().contains("*New onboarding*: Acme KK"), "{text}");
                let deliveries = admin(&app, Method::GET, "/api/v1/webhook-deliveries", json!({}), 200).await;
                assert!(deliveries["items"].as_array().unwrap().iter().all(|d| d["status"] == "delivered"));

                // Close the task with an outcome from the cockpit.
                let tid = task["id"].as_i64().unwrap();
                let e = app.expect(Method::PATCH, &format!("/api/v1/tasks/{tid}"), json!({"status": "closed"}), 422).await;
                assert_eq!(e["error"]["fields"][0]["field"], "outcome");
                app.expect(Method::PATCH, &format!("/api/v1/tasks/{tid}"), json!({"status": "closed", "outcome": "resolved"}), 200).await;
                let runs = app.get_json(&format!("/api/v1/playbook-runs?account_id={aid}")).await;
                let run = runs.as_array().unwrap().iter().find(|r| r["playbook_key"] == "kickoff_now").unwrap();
                assert_eq!(run["completed_steps"], 2);

                // The scheduler's jobs are visible to admins, with their runs.
                let jobs = admin(&app, Method::GET, "/api/v1/jobs", json!({}), 200).await;
                let names: Vec<&str> = jobs.as_array().unwrap().iter().map(|j| j["name"].as_str().unwrap()).collect();
                assert!(names.contains(&"rules.daily") && names.contains(&"email.send"), "{names:?}");
                let r = app.request(Method::GET, "/api/v1/jobs", &app.read).send().await.unwrap();
                assert_eq!(r.status(), 403);
                app
            }
        },
    )
    .await;
}

#[tokio::test]
async fn two_instances_on_one_postgres_run_each_due_job_once() {
    let Some(db) = kizuna_store::testing::postgres().await else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true needs PostgreSQL"
        );
        eprintln!("skipped: PostgreSQL not reachable");
        return;
    };
    let url = db.url.clone();
    let first = spawn_app_with(db, |c| {
        c.automation.scheduler = true;
        c.automation.tick_seconds = 1;
    })
    .await;
    // A second instance: its own process state and pool, the same database.
    let mut config = kizuna_server::Config {
        listen: "127.0.0.1:0".into(),
        database_url: url,
        ..Default::default()
    };
    config.automation.tick_seconds = 1;
    let second = kizuna_server::Application::build(config).await.unwrap();
    let store = second.store().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        second
            .run_until(async {
                let _ = rx.await;
            })
            .await
            .unwrap()
    });
    let runs = |job: &'static str| {
        let store = store.clone();
        async move { store.job_history(Some(job), false, 500).await.unwrap() }
    };
    eventually("the first daily run", || async {
        !runs("rules.daily").await.is_empty()
    })
    .await;
    for round in 1..=4 {
        store.make_job_due("rules.daily").await.unwrap();
        eventually("the next daily run", || async {
            runs("rules.daily").await.len() > round
        })
        .await;
    }
    // Let a few more ticks pass with both instances looking.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for job in [
        "rules.daily",
        "rules.changes",
        "email.send",
        "playbooks.advance",
    ] {
        let history = runs(job).await;
        let mut due: Vec<_> = history.iter().map(|r| r.due_at).collect();
        let n = due.len();
        due.sort();
        due.dedup();
        assert_eq!(due.len(), n, "{job}: a due time ran twice: {history:?}");
    }
    let daily = runs("rules.daily").await;
    assert_eq!(daily.len(), 5, "{daily:?}");
    let instances: std::collections::BTreeSet<_> = runs("rules.changes")
        .await
        .into_iter()
        .map(|r| r.instance)
        .collect();
    eprintln!("instances that ran rules.changes: {instances:?}");
    let _ = tx.send(());
    server.await.unwrap();
    first.stop().await;
}
