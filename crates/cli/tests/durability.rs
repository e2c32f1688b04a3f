//! A `kill -9` of the server while it takes usage loses no acknowledged event: every batch that
//! got `200 {"success": true}` is in the database when it is opened again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kizuna_store::Store;
use serde_json::json;

fn kizuna() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kizuna"));
    c.env_remove("KIZUNA_DATABASE_URL")
        .env_remove("KIZUNA_LISTEN")
        .env("KIZUNA_LOG", "warn")
        .env("KIZUNA_ADMIN_PASSWORD", "durability-test-password");
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_load_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("k.db").display());
    let out = kizuna()
        .args([
            "--database-url",
            &url,
            "token",
            "create",
            "--scope",
            "write",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();

    let port = free_port();
    let mut server = kizuna()
        .args([
            "--database-url",
            &url,
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Eight senders post batches of 100 until the server dies; acknowledged ids are kept.
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut senders = Vec::new();
    for sender in 0..8 {
        let (client, base, token, acked) =
            (client.clone(), base.clone(), token.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            for batch in 0.. {
                let ids: Vec<String> = (0..100).map(|i| format!("s{sender}-b{batch}-m{i}")).collect();
                let messages: Vec<_> = ids
                    .iter()
                    .map(|id| json!({"type": "track", "messageId": id, "userId": format!("u{sender}"), "event": "Report Created"}))
                    .collect();
                let r = client
                    .post(format!("{base}/v1/batch"))
                    .basic_auth(&token, Some(""))
                    .json(&json!({"batch": messages}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => acked.lock().unwrap().extend(ids),
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 1000,
        "load ran: {} acknowledged",
        acked.len()
    );

    let store = Store::connect(&url).await.unwrap();
    let found = store.stored_message_ids(&acked).await.unwrap();
    let total = store.usage_event_count().await.unwrap();
    eprintln!(
        "acknowledged {} events, all {} found after kill -9; {total} stored in all",
        acked.len(),
        found
    );
    assert_eq!(found, acked.len(), "every acknowledged event survived");
    store.close().await;
}
