//! `kizuna bench insight`: the executive dashboard and the renewal map over a large account base,
//! over real HTTP on loopback (the time per request as the client sees it, an upper bound of the
//! server's time), and the churn model's training (fit, time-based validation, refit) on many past
//! renewals.
//!
//! The accounts come from the demo generator without usage or timeline (contracts, renewals,
//! churns, expansions, owners, segments), scored once. The renewals the model trains on are
//! synthetic feature rows with a known signal: training time depends on their number and the
//! number of features, not on where the rows came from.

use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use kizuna_demo::DemoOptions;
use kizuna_domain::insight::model::{self, Sample};
use serde_json::{json, Value};

use crate::{percentile, quiet, round, QuietServer, Target};

/// Options of the insight benchmark.
#[derive(Debug, Clone)]
pub struct InsightOptions {
    pub accounts: usize,
    /// Requests per endpoint (after five warm-up requests).
    pub rounds: usize,
    /// Past renewals the model trains on.
    pub renewals: usize,
    pub today: NaiveDate,
}

/// A reproducible stream of numbers in [0, 1) (SplitMix64), so the synthetic renewals are the
/// same on every run.
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Renewals over two years, 12 features, churn far more likely with low usage and many tickets
/// (the first and seventh features); one value in ten missing.
pub fn synthetic_renewals(n: usize, today: NaiveDate) -> Vec<Sample> {
    let mut s = Stream(42);
    let features = model::FEATURES.len();
    (0..n)
        .map(|i| {
            let values: Vec<Option<f64>> = (0..features)
                .map(|_| {
                    let v = s.next();
                    (s.next() >= 0.1).then_some(v)
                })
                .collect();
            let usage = values[0].unwrap_or(0.5);
            let tickets = values[6].unwrap_or(0.5);
            let risk = 0.02 + 0.5 * (1.0 - usage).powi(3) + 0.3 * tickets.powi(3);
            Sample {
                renewal_date: today - Days::new((730 * i / n.max(1)) as u64),
                values,
                churned: s.next() < risk,
            }
        })
        .collect()
}

async fn time_get(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    rounds: usize,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut times = Vec::with_capacity(rounds);
    let mut bytes = 0;
    for round in 0..rounds + 5 {
        let t = Instant::now();
        let r = client.get(url).bearer_auth(token).send().await?;
        anyhow::ensure!(r.status().is_success(), "{url}: {}", r.status());
        let body = r.bytes().await?;
        if round >= 5 {
            times.push(t.elapsed());
            bytes = body.len();
        }
    }
    Ok((times, bytes))
}

pub async fn run(target: &Target, o: &InsightOptions) -> anyhow::Result<Value> {
    // Training first, before the database exists: it shares nothing with it.
    let samples = synthetic_renewals(o.renewals, o.today);
    let names = model::feature_names();
    let started = Instant::now();
    let fitted = model::train(&names, &samples)?;
    let train_seconds = started.elapsed().as_secs_f64();

    let db = target.scratch().await?;
    let options = DemoOptions {
        accounts: o.accounts,
        usage: false,
        timeline: false,
        ..DemoOptions::new(o.today)
    };
    let started = Instant::now();
    kizuna_demo::load(&db.store, &options, &quiet).await?;
    db.store.optimize().await?;
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
    let base = format!("http://{}/api/v1/insight", server.addr);
    let client = reqwest::Client::new();
    // Computed on every request, then answered from the minute's computed dashboard.
    let (mut fresh, dash_bytes) = time_get(
        &client,
        &format!("{base}/dashboard?fresh=true"),
        &token,
        o.rounds,
    )
    .await?;
    let (mut dash, _) = time_get(&client, &format!("{base}/dashboard"), &token, o.rounds).await?;
    // Scoped views, computed on each request: the CSM with the largest book, and each segment.
    let books = db.store.team_workload(o.today).await?;
    let biggest = books
        .iter()
        .filter(|b| b.owner_id.is_some())
        .max_by_key(|b| b.accounts)
        .ok_or_else(|| anyhow::anyhow!("no CSM owns an account"))?;
    let (mut csm, _) = time_get(
        &client,
        &format!(
            "{base}/dashboard?fresh=true&owner_id={}",
            biggest.owner_id.unwrap_or_default()
        ),
        &token,
        o.rounds,
    )
    .await?;
    let mut segments = serde_json::Map::new();
    for segment in ["enterprise", "mid_market", "smb"] {
        let (mut t, _) = time_get(
            &client,
            &format!("{base}/dashboard?fresh=true&segment={segment}"),
            &token,
            o.rounds,
        )
        .await?;
        segments.insert(
            segment.into(),
            json!({"p50_ms": percentile(&mut t, 0.5), "p99_ms": percentile(&mut t, 0.99)}),
        );
    }
    let (mut map, map_bytes) = time_get(
        &client,
        &format!("{base}/renewals?fresh=true"),
        &token,
        o.rounds,
    )
    .await?;
    // The scheduler's job that computes the default dashboard and renewal map ahead, run once;
    // then a new server (nothing in its memory) answers from what the job kept.
    let started = Instant::now();
    kizuna_server::api::insight::precompute(&server.state)
        .await
        .map_err(|e| anyhow::anyhow!("precompute: {e}"))?;
    let precompute_seconds = started.elapsed().as_secs_f64();
    server.stop().await;
    let server = QuietServer::start(&db.store).await?;
    let base = format!("http://{}/api/v1/insight", server.addr);
    let (mut dash_ahead, _) =
        time_get(&client, &format!("{base}/dashboard"), &token, o.rounds).await?;
    let (mut map_ahead, _) =
        time_get(&client, &format!("{base}/renewals"), &token, o.rounds).await?;
    // The scoped dashboards and the other standard periods, computed ahead by the same job.
    let last_quarter = kizuna_store::standard_periods(chrono::Utc::now().date_naive())
        .into_iter()
        .find(|(name, _)| *name == "last_quarter")
        .map(|(_, p)| p)
        .ok_or_else(|| anyhow::anyhow!("no last quarter"))?;
    let mut scoped_ahead = serde_json::Map::new();
    for (name, query) in [
        ("segment_enterprise", "segment=enterprise".to_string()),
        ("segment_smb", "segment=smb".to_string()),
        ("tier_tech_touch", "coverage_tier=tech_touch".to_string()),
        (
            "biggest_csm",
            format!("owner_id={}", biggest.owner_id.unwrap_or_default()),
        ),
        (
            "last_quarter_segment_enterprise",
            format!(
                "from={}&to={}&segment=enterprise",
                last_quarter.from, last_quarter.to
            ),
        ),
    ] {
        let (mut t, _) = time_get(
            &client,
            &format!("{base}/dashboard?{query}"),
            &token,
            o.rounds,
        )
        .await?;
        scoped_ahead.insert(
            name.into(),
            json!({"p50_ms": percentile(&mut t, 0.5), "p99_ms": percentile(&mut t, 0.99)}),
        );
    }
    // Periods and scopes nobody computed ahead, from the book the job left in the instance's
    // memory: each round a different custom period (a new `from` day), so no answer is reused.
    // A past period's end-of-period health is read once per end day and held with the book;
    // `custom_period_past_new_end` moves the end day too, so every round reads it.
    let today = chrono::Utc::now().date_naive();
    let owner = biggest.owner_id.unwrap_or_default();
    let mut from_book = serde_json::Map::new();
    for (name, back, to, scope) in [
        ("custom_period_to_today", 100, today, String::new()),
        (
            "custom_period_past_new_end",
            200,
            today - Days::new(40),
            String::new(),
        ),
        (
            "custom_period_past",
            200,
            today - Days::new(20),
            String::new(),
        ),
        (
            "segment_and_csm",
            100,
            today,
            format!("&segment=enterprise&owner_id={owner}"),
        ),
        (
            "segment_and_tier_past",
            200,
            today - Days::new(20),
            "&segment=smb&coverage_tier=tech_touch".to_string(),
        ),
    ] {
        let mut times = Vec::with_capacity(o.rounds);
        for round in 0..o.rounds + 2 {
            let from = today - Days::new(back) + Days::new(round as u64);
            let to = if name == "custom_period_past_new_end" {
                to + Days::new(round as u64)
            } else {
                to
            };
            let url = format!("{base}/dashboard?from={from}&to={to}{scope}");
            let t = Instant::now();
            let r = client.get(&url).bearer_auth(&token).send().await?;
            anyhow::ensure!(r.status().is_success(), "{url}: {}", r.status());
            r.bytes().await?;
            if round >= 2 {
                times.push(t.elapsed());
            }
        }
        from_book.insert(
            name.into(),
            json!({"p50_ms": percentile(&mut times, 0.5), "p99_ms": percentile(&mut times, 0.99)}),
        );
    }
    // Renewal maps nobody computed ahead, cut from the renewals the job left in the instance's
    // memory: the next page, the longest window, a different page each round; and the default
    // map right after a CSM's call cleared the kept copy (a different call each round).
    let mut from_held = serde_json::Map::new();
    for (name, query) in [
        ("second_page", "offset=500".to_string()),
        ("months_24", "months=24".to_string()),
    ] {
        let (mut t, _) = time_get(
            &client,
            &format!("{base}/renewals?{query}"),
            &token,
            o.rounds,
        )
        .await?;
        from_held.insert(
            name.into(),
            json!({"p50_ms": percentile(&mut t, 0.5), "p99_ms": percentile(&mut t, 0.99)}),
        );
    }
    let mut paging = Vec::with_capacity(o.rounds);
    let mut after_call = Vec::with_capacity(o.rounds);
    let soon = db
        .store
        .open_renewals(today, today + Days::new(60), Some((o.rounds as i64 + 2, 0)))
        .await?;
    anyhow::ensure!(!soon.is_empty(), "no open renewal in the next 60 days");
    let calls = [
        kizuna_domain::insight::renewals::RenewalCall::Commit,
        kizuna_domain::insight::renewals::RenewalCall::AtRisk,
        kizuna_domain::insight::renewals::RenewalCall::Likely,
    ];
    for round in 0..o.rounds + 2 {
        let url = format!("{base}/renewals?months=6&limit=100&offset={}", 100 * round);
        let t = Instant::now();
        let r = client.get(&url).bearer_auth(&token).send().await?;
        anyhow::ensure!(r.status().is_success(), "{url}: {}", r.status());
        r.bytes().await?;
        if round >= 2 {
            paging.push(t.elapsed());
        }
        let renewal = &soon[round % soon.len()];
        db.store
            .set_renewal_call(
                renewal.subscription_id,
                Some(calls[round % calls.len()]),
                Some("bench"),
                &kizuna_store::Actor::System("bench"),
            )
            .await?;
        let url = format!("{base}/renewals");
        let t = Instant::now();
        let r = client.get(&url).bearer_auth(&token).send().await?;
        anyhow::ensure!(r.status().is_success(), "{url}: {}", r.status());
        r.bytes().await?;
        if round >= 2 {
            after_call.push(t.elapsed());
        }
    }
    from_held.insert(
        "pages_of_six_months".into(),
        json!({"p50_ms": percentile(&mut paging, 0.5), "p99_ms": percentile(&mut paging, 0.99)}),
    );
    from_held.insert(
        "default_after_a_call".into(),
        json!({"p50_ms": percentile(&mut after_call, 0.5), "p99_ms": percentile(&mut after_call, 0.99)}),
    );
    server.stop().await;
    // A new instance holding nothing (after a restart, or one that did not run the job): its
    // first custom dashboard loads the book's kept copy. Each round a new store and server.
    let kept_bytes = db
        .store
        .precomputed("book", chrono::Utc::now() - chrono::Duration::minutes(15))
        .await?
        .map_or(0, |b| b.len());
    let kept_renewals_bytes = db
        .store
        .precomputed(
            "held-renewals",
            chrono::Utc::now() - chrono::Duration::minutes(15),
        )
        .await?
        .map_or(0, |b| b.len());
    let mut cold = Vec::with_capacity(5);
    let mut cold_map = Vec::with_capacity(5);
    for round in 0..5u64 {
        let store = kizuna_store::Store::connect(&db.url).await?;
        let server = QuietServer::start(&store).await?;
        // Its first custom dashboard, then its first renewal map with no kept copy (a later
        // page): each loads the kept copy of what the job read.
        for (url, times) in [
            (
                format!(
                    "http://{}/api/v1/insight/dashboard?from={}&to={today}",
                    server.addr,
                    today - Days::new(150 + round)
                ),
                &mut cold,
            ),
            (
                format!(
                    "http://{}/api/v1/insight/renewals?offset={}",
                    server.addr,
                    500 * (round + 1)
                ),
                &mut cold_map,
            ),
        ] {
            let t = Instant::now();
            let r = client.get(&url).bearer_auth(&token).send().await?;
            anyhow::ensure!(r.status().is_success(), "{url}: {}", r.status());
            r.bytes().await?;
            times.push(t.elapsed());
        }
        server.stop().await;
    }
    let v = &fitted.validation;
    let result = json!({
        "bench": "insight",
        "backend": target.name(),
        "accounts": o.accounts,
        "load_seconds": round(load_seconds),
        "dashboard_computed": {"p50_ms": percentile(&mut fresh, 0.5), "p99_ms": percentile(&mut fresh, 0.99), "bytes": dash_bytes},
        "dashboard_csm_computed": {"accounts": biggest.accounts, "p50_ms": percentile(&mut csm, 0.5), "p99_ms": percentile(&mut csm, 0.99)},
        "dashboard_segment_computed": segments,
        "dashboard_reused": {"p50_ms": percentile(&mut dash, 0.5), "p99_ms": percentile(&mut dash, 0.99)},
        "renewal_map": {"p50_ms": percentile(&mut map, 0.5), "p99_ms": percentile(&mut map, 0.99), "bytes": map_bytes},
        "precompute_seconds": round(precompute_seconds),
        "dashboard_precomputed": {"p50_ms": percentile(&mut dash_ahead, 0.5), "p99_ms": percentile(&mut dash_ahead, 0.99)},
        "renewal_map_precomputed": {"p50_ms": percentile(&mut map_ahead, 0.5), "p99_ms": percentile(&mut map_ahead, 0.99)},
        "scoped_dashboards_precomputed": scoped_ahead,
        "dashboards_from_held_book": from_book,
        "renewal_maps_from_held_renewals": from_held,
        "new_instance_first_custom_dashboard": {"rounds": cold.len(), "p50_ms": percentile(&mut cold, 0.5), "max_ms": percentile(&mut cold, 1.0), "kept_book_mb": round(kept_bytes as f64 / 1e6)},
        "new_instance_first_renewal_page": {"rounds": cold_map.len(), "p50_ms": percentile(&mut cold_map, 0.5), "max_ms": percentile(&mut cold_map, 1.0), "kept_renewals_mb": round(kept_renewals_bytes as f64 / 1e6)},
        "training": {
            "renewals": o.renewals,
            "features": names.len(),
            "seconds": round(train_seconds),
            "validation_auc": v.auc.map(round),
        },
    });
    db.cleanup().await;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_renewals_are_reproducible_and_carry_their_signal() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
        let a = synthetic_renewals(2_000, today);
        assert_eq!(a, synthetic_renewals(2_000, today));
        let churned = a.iter().filter(|s| s.churned).count();
        assert!(churned > 150 && churned < 600, "{churned}");
        let names = model::feature_names();
        let m = model::train(&names, &a).map_err(|e| e.to_string());
        let auc = m.map(|m| m.validation.auc.unwrap_or(0.0)).unwrap_or(0.0);
        assert!(auc > 0.6, "{auc}");
    }
}
