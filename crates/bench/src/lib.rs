//! Benchmarks that print numbers, never pass/fail. Each returns one JSON object that the CLI prints
//! as the last line of its output; `BENCHMARKS.md` records them with the machine and the command.

pub mod ingest;
pub mod insight;
pub mod pages;
pub mod rules;
pub mod score;

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use kizuna_demo::DemoOptions;
use kizuna_store::testing::{self, TestDb};
use serde_json::{json, Value};

/// Where a benchmark puts its scratch database.
#[derive(Debug, Clone)]
pub enum Target {
    Sqlite,
    /// A PostgreSQL server reachable with this URL (a scratch database is created on it).
    Postgres(String),
}

impl Target {
    pub fn name(&self) -> &'static str {
        match self {
            Target::Sqlite => "sqlite",
            Target::Postgres(_) => "postgres",
        }
    }

    async fn scratch(&self) -> anyhow::Result<TestDb> {
        match self {
            Target::Sqlite => Ok(testing::sqlite().await),
            Target::Postgres(url) => testing::postgres_at(url)
                .await
                .ok_or_else(|| anyhow::anyhow!("PostgreSQL at {url} is not reachable")),
        }
    }
}

/// The process's peak resident memory so far, in MB (Linux; 0 elsewhere).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn quiet(_: &str, _: usize, _: usize) {}

/// Health settings that keep the server's background recompute off during a benchmark.
pub fn quiet_health() -> kizuna_server::config::HealthConfig {
    kizuna_server::config::HealthConfig {
        queue_interval_seconds: 0,
        daily: false,
        ..Default::default()
    }
}

/// A server on a free loopback port over a benchmark's store, with nothing running in the
/// background (no health recompute, no scheduler) to compete with the requests being timed.
pub struct QuietServer {
    pub addr: std::net::SocketAddr,
    pub state: kizuna_server::AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl QuietServer {
    pub async fn start(store: &kizuna_store::Store) -> anyhow::Result<QuietServer> {
        let mut config = kizuna_server::Config {
            listen: "127.0.0.1:0".into(),
            health: quiet_health(),
            ..kizuna_server::Config::default()
        };
        config.automation.scheduler = false;
        let app = kizuna_server::Application::with_store(config, store.clone()).await?;
        let addr = app.local_addr();
        let state = app.state();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Ok(QuietServer {
            addr,
            state,
            stop,
            server,
        })
    }

    /// Stops serving once the requests in flight are answered.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

/// `kizuna demo` at a given size into a scratch database: wall time and this process's peak memory.
pub async fn demo(
    target: &Target,
    accounts: usize,
    days: i64,
    today: NaiveDate,
) -> anyhow::Result<Value> {
    let db = target.scratch().await?;
    let options = DemoOptions {
        accounts,
        days,
        ..DemoOptions::new(today)
    };
    let started = Instant::now();
    let summary = kizuna_demo::load(&db.store, &options, &quiet).await?;
    let seconds = started.elapsed().as_secs_f64();
    let result = json!({
        "bench": "demo",
        "backend": target.name(),
        "accounts": summary.accounts,
        "days": days,
        "usage_events": summary.usage_events,
        "contacts": summary.contacts,
        "tickets": summary.tickets,
        "touchpoints": summary.touchpoints,
        "seconds": round(seconds),
        "peak_rss_mb": round(peak_rss_mb()),
    });
    db.cleanup().await;
    Ok(result)
}

/// The account-list queries the benchmark times: what a CSM's list page asks for.
const ACCOUNT_QUERIES: &[(&str, &str)] = &[
    ("default", "limit=50"),
    ("tier_by_arr", "limit=50&coverage_tier=high_touch&sort=-arr"),
    (
        "stage_by_renewal",
        "limit=50&lifecycle_stage=renewal&sort=renewal_date",
    ),
    ("owner", "limit=50&owner_id=3"),
    (
        "industry_segment",
        "limit=50&industry=Retail&contract_value_tier=mid_market",
    ),
    ("search", "limit=50&q=sakura"),
    (
        "renewal_window_by_arr",
        "limit=50&renewal_within_days=90&sort=-arr",
    ),
    ("page_100", "limit=50&offset=5000"),
];

/// `GET /api/v1/accounts?limit=50` with filters over a large account base, over real HTTP on
/// loopback: latency per request as the client sees it (an upper bound of the server's time).
pub async fn accounts(
    target: &Target,
    accounts: usize,
    rounds: usize,
    today: NaiveDate,
) -> anyhow::Result<Value> {
    let db = target.scratch().await?;
    let options = DemoOptions {
        accounts,
        usage: false,
        timeline: false,
        ..DemoOptions::new(today)
    };
    let started = Instant::now();
    kizuna_demo::load(&db.store, &options, &quiet).await?;
    let load_seconds = started.elapsed().as_secs_f64();
    let token = db
        .store
        .issue_token(
            "bench",
            kizuna_domain::token::TokenScope::Read,
            &kizuna_store::Actor::System("bench"),
        )
        .await?
        .secret;
    let server = QuietServer::start(&db.store).await?;
    let base = format!("http://{}/api/v1/accounts?", server.addr);
    let client = reqwest::Client::new();

    let mut per_query: Vec<Vec<Duration>> = vec![Vec::new(); ACCOUNT_QUERIES.len()];
    for round in 0..rounds + 5 {
        for (i, (_, query)) in ACCOUNT_QUERIES.iter().enumerate() {
            let t = Instant::now();
            let response = client
                .get(format!("{base}{query}"))
                .bearer_auth(&token)
                .send()
                .await?;
            anyhow::ensure!(
                response.status().is_success(),
                "{query}: {}",
                response.status()
            );
            let _ = response.bytes().await?;
            if round >= 5 {
                per_query[i].push(t.elapsed());
            }
        }
    }
    server.stop().await;
    let mut all: Vec<Duration> = per_query.iter().flatten().copied().collect();
    let queries: serde_json::Map<String, Value> = ACCOUNT_QUERIES
        .iter()
        .zip(per_query.iter_mut())
        .map(|((name, query), times)| {
            (name.to_string(), json!({"query": query, "p50_ms": percentile(times, 0.5), "p99_ms": percentile(times, 0.99)}))
        })
        .collect();
    let result = json!({
        "bench": "accounts",
        "backend": target.name(),
        "accounts": accounts,
        "requests": all.len(),
        "load_seconds": round(load_seconds),
        "p50_ms": percentile(&mut all, 0.5),
        "p99_ms": percentile(&mut all, 0.99),
        "queries": queries,
    });
    db.cleanup().await;
    Ok(result)
}

fn percentile(times: &mut [Duration], q: f64) -> f64 {
    if times.is_empty() {
        return 0.0;
    }
    times.sort_unstable();
    let index = ((times.len() as f64 - 1.0) * q).round() as usize;
    round(times[index.min(times.len() - 1)].as_secs_f64() * 1000.0)
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_right_sample() {
        let mut times: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&mut times, 0.5), 51.0);
        assert_eq!(percentile(&mut times, 0.99), 99.0);
        assert_eq!(percentile(&mut [], 0.5), 0.0);
    }
}
