//! `kizuna bench ingest`: the tracking API under load from a generator on loopback, against the
//! same requests sent to an endpoint that only parses and discards them (the ceiling of the HTTP
//! and JSON layer on this machine).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::post;
use axum::Router;
use base64::Engine;
use kizuna_domain::account::{AccountDraft, NewAccount};
use kizuna_domain::segment::{parse_message, MessageKind};
use kizuna_domain::token::TokenScope;
use kizuna_store::Actor;
use serde_json::{json, Value};

use crate::{percentile, round, Target};

/// What to send.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// `batch` (Segment's `/v1/batch`) or `track` (one event per request).
    pub endpoint: String,
    pub batch_size: usize,
    pub seconds: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Accounts the events are spread over.
    pub accounts: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            endpoint: "batch".into(),
            batch_size: 100,
            seconds: 10,
            concurrency: 32,
            accounts: 1000,
        }
    }
}

struct Load {
    events: u64,
    requests: u64,
    latencies: Vec<Duration>,
    seconds: f64,
}

/// A request body with `n` events whose message ids are unique to (`run`, `request`).
fn body(endpoint: &str, run: u64, request: u64, n: usize, accounts: usize) -> String {
    let event = |i: usize| {
        let account = (request as usize * 31 + i) % accounts;
        format!(
            r#"{{"type":"track","event":"Feature {}","userId":"bench-u{}-{}","messageId":"r{run}-{request}-{i}","context":{{"groupId":"bench-{account}"}},"properties":{{"plan":"business"}}}}"#,
            i % 12,
            account,
            i % 7
        )
    };
    if endpoint == "track" {
        event(0)
    } else {
        let events: Vec<String> = (0..n).map(event).collect();
        format!(
            r#"{{"batch":[{}],"sentAt":"{}"}}"#,
            events.join(","),
            chrono::Utc::now().to_rfc3339()
        )
    }
}

async fn generate(url: &str, key: &str, options: &IngestOptions, run: u64) -> anyhow::Result<Load> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency)
        .build()?;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    );
    let per_request = if options.endpoint == "track" {
        1
    } else {
        options.batch_size
    };
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..options.concurrency {
        let (client, auth, url, stop, counter, options) = (
            client.clone(),
            auth.clone(),
            url.to_string(),
            stop.clone(),
            counter.clone(),
            options.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let request = counter.fetch_add(1, Ordering::Relaxed);
                let payload = body(
                    &options.endpoint,
                    run,
                    request,
                    per_request,
                    options.accounts,
                );
                let t = Instant::now();
                let response = client
                    .post(&url)
                    .header("authorization", &auth)
                    .header("content-type", "application/json")
                    .body(payload)
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed());
                    }
                    Ok(r) => {
                        failures += 1;
                        if failures < 3 {
                            tracing::warn!(status = %r.status(), "ingest request refused");
                        }
                        if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(error = %e, "ingest request failed");
                    }
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs(options.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await?);
    }
    let seconds = started.elapsed().as_secs_f64();
    let requests = latencies.len() as u64;
    Ok(Load {
        events: requests * per_request as u64,
        requests,
        latencies,
        seconds,
    })
}

/// A server that reads and parses tracking requests like the real one, then discards them.
async fn start_ceiling() -> anyhow::Result<(String, tokio::sync::oneshot::Sender<()>)> {
    async fn discard_batch(body: Bytes) -> axum::response::Response {
        match kizuna_server::ingest::parse_batch(&body) {
            Ok(parsed) => {
                axum::Json(json!({"success": true, "accepted": parsed.accepted()})).into_response()
            }
            Err(r) => *r,
        }
    }
    async fn discard_track(body: Bytes) -> axum::response::Response {
        let ok = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| {
                parse_message(
                    Some(MessageKind::Track),
                    &v,
                    chrono::Utc::now(),
                    None,
                    String::new,
                )
                .ok()
            })
            .is_some();
        let status = if ok {
            axum::http::StatusCode::OK
        } else {
            axum::http::StatusCode::BAD_REQUEST
        };
        (status, axum::Json(json!({"success": ok}))).into_response()
    }
    use axum::response::IntoResponse;
    let app = Router::new()
        .route("/v1/batch", post(discard_batch))
        .route("/v1/track", post(discard_track));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok((format!("http://{addr}"), tx))
}

pub async fn run(target: &Target, options: &IngestOptions) -> anyhow::Result<Value> {
    let db = target.scratch().await?;
    let accounts: Vec<NewAccount> = (0..options.accounts)
        .map(|i| {
            NewAccount::parse(AccountDraft {
                external_id: Some(format!("bench-{i}")),
                name: Some(format!("Bench {i}")),
                ..Default::default()
            })
        })
        .collect::<Result<_, _>>()?;
    db.store
        .create_accounts(accounts, &Actor::System("bench"))
        .await?;
    let key = db
        .store
        .issue_token("bench", TokenScope::Write, &Actor::System("bench"))
        .await?
        .secret;
    let server = crate::QuietServer::start(&db.store).await?;
    let url = format!("http://{}/v1/{}", server.addr, options.endpoint);

    let mut load = generate(&url, &key, options, 1).await?;
    server.stop().await;
    let stored = db.store.usage_event_count().await?;

    let (ceiling_url, stop_ceiling) = start_ceiling().await?;
    let ceiling = generate(
        &format!("{ceiling_url}/v1/{}", options.endpoint),
        &key,
        options,
        2,
    )
    .await?;
    let _ = stop_ceiling.send(());

    let events_per_s = load.events as f64 / load.seconds;
    let ceiling_events_per_s = ceiling.events as f64 / ceiling.seconds;
    let result = json!({
        "bench": "ingest",
        "backend": target.name(),
        "endpoint": format!("/v1/{}", options.endpoint),
        "batch_size": if options.endpoint == "track" { 1 } else { options.batch_size },
        "concurrency": options.concurrency,
        "seconds": round(load.seconds),
        "events": load.events,
        "events_stored": stored,
        "events_per_s": round(events_per_s),
        "requests_per_s": round(load.requests as f64 / load.seconds),
        "p50_ms": percentile(&mut load.latencies, 0.5),
        "p99_ms": percentile(&mut load.latencies, 0.99),
        "ceiling_events_per_s": round(ceiling_events_per_s),
        "ratio": round(events_per_s / ceiling_events_per_s.max(1.0)),
        "durable": "every 200 answered after its transaction committed (SQLite synchronous=FULL / PostgreSQL synchronous_commit)",
    });
    db.cleanup().await;
    Ok(result)
}
