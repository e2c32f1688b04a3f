//! `kizuna bench pages`: the web UI's pages over a large account base, signed in, over real HTTP
//! on loopback. The time per request as the client sees it is an upper bound of the server's time
//! (the response is read in full, so rendering and transfer are included).

use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use kizuna_demo::DemoOptions;
use kizuna_domain::ids::UserId;
use kizuna_domain::touchpoint::{TouchpointDraft, TouchpointKind};
use kizuna_domain::usage::NewUsageEvent;
use kizuna_domain::user::{NewUser, Role, UserDraft};
use kizuna_store::{AccountFilter, Actor};
use serde_json::{json, Value};

use crate::{percentile, quiet, round, Target};

/// Accounts whose Customer 360 is measured; they get 90 days of usage and a timeline.
const DETAIL_ACCOUNTS: usize = 5;
const FEATURES: &[&str] = &[
    "report_created",
    "dashboard_viewed",
    "data_imported",
    "alert_configured",
    "comment_posted",
    "integration_synced",
    "report_exported",
    "mobile_app_opened",
];

async fn give_usage(
    store: &kizuna_store::Store,
    external_id: &str,
    today: NaiveDate,
) -> anyhow::Result<()> {
    let mut events = Vec::new();
    for day in 0..90i64 {
        let date = today - chrono::Duration::days(day);
        for (f, feature) in FEATURES.iter().enumerate() {
            for user in 0..(3 + (day + f as i64) % 5) {
                let at = date
                    .and_hms_opt(9 + (user % 8) as u32, 0, 0)
                    .unwrap_or_default()
                    .and_utc();
                events.push(NewUsageEvent {
                    message_id: format!("{external_id}-{day}-{f}-{user}"),
                    account_external_id: Some(external_id.to_string()),
                    user_id: Some(format!("{external_id}-user-{user}")),
                    anonymous_id: None,
                    feature: feature.to_string(),
                    occurred_at: at,
                    received_at: at,
                    properties: None,
                });
            }
        }
    }
    store.record_usage(&events).await?;
    Ok(())
}

pub async fn run(
    target: &Target,
    accounts: usize,
    rounds: usize,
    today: NaiveDate,
) -> anyhow::Result<Value> {
    let db = target.scratch().await?;
    let store = db.store.clone();
    let options = DemoOptions {
        accounts,
        usage: false,
        timeline: false,
        ..DemoOptions::new(today)
    };
    let started = Instant::now();
    kizuna_demo::load(&store, &options, &quiet).await?;
    let load_seconds = started.elapsed().as_secs_f64();

    // The busiest accounts get usage and touchpoints, so the Customer 360 draws real charts.
    let biggest = store
        .list_accounts(&AccountFilter {
            sort: Some((kizuna_domain::account::AccountSort::Arr, true)),
            limit: Some(DETAIL_ACCOUNTS as i64),
            ..Default::default()
        })
        .await?;
    let actor = Actor::System("bench");
    for a in &biggest.items {
        if let Some(ext) = &a.external_id {
            give_usage(&store, ext, today).await?;
        }
        for n in 0..30 {
            store
                .create_touchpoint(
                    Some(a.id),
                    TouchpointDraft {
                        kind: Some(TouchpointKind::Meeting),
                        subject: Some(format!("Check-in {n}")),
                        occurred_at: Some(Utc::now() - chrono::Duration::days(n * 7)),
                        ..Default::default()
                    },
                    &actor,
                )
                .await?;
        }
    }

    // Signed in as an admin (sees the whole book) and as a CSM (their own portfolio).
    let admin = store
        .create_user(
            NewUser::parse(UserDraft {
                email: Some("bench-admin@example.com".into()),
                name: Some("Bench admin".into()),
                role: Some(Role::Admin),
                ..Default::default()
            })?,
            None,
            &actor,
        )
        .await?;
    let csm = store
        .list_users()
        .await?
        .into_iter()
        .find(|u| u.role == Role::Csm)
        .map(|u| u.id)
        .unwrap_or(UserId(admin.id.0));
    let ttl = chrono::Duration::hours(2);
    let admin_cookie = format!(
        "kizuna_session={}",
        store.create_web_session(admin.id, ttl).await?.secret
    );
    let csm_cookie = format!(
        "kizuna_session={}",
        store.create_web_session(csm, ttl).await?.secret
    );

    // The cockpit and automation pages read what the rules and the cadence produce: run them
    // once, as the scheduler would on the first day (the scheduler itself stays off while
    // measuring).
    store.seed_automation_defaults().await?;
    let rules = store
        .run_daily_rules(today, &kizuna_store::AutomationContext::default())
        .await?;
    let cadence = store.run_cadence(today).await?;
    // The team pages read the whole book's figures the scheduler computes ahead every five
    // minutes (`insight.precompute`).
    store.precompute_team(today).await?;
    // So do the dashboards of the standard periods, the renewal page, the churn drivers and the
    // riskiest accounts.
    let ahead = Instant::now();
    let dashboards = store.precompute_dashboards(today).await?;
    store
        .precompute_renewal_page(today, &Default::default())
        .await?;
    store
        .precompute_insight_pages(today, &Default::default())
        .await?;
    let precompute_seconds = ahead.elapsed().as_secs_f64();
    let tasks = rules.effects.tasks_created + cadence.tasks_created;

    let server = crate::QuietServer::start(&store).await?;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    // A churn model trained on the last year's renewals (their lead-time indicators were kept by
    // the churn drivers above), so the prediction page rates every account; its riskiest list is
    // computed ahead as the scheduler does.
    let window = kizuna_domain::insight::dashboard::Period {
        from: today - chrono::Duration::days(365),
        to: today,
    };
    let model = match kizuna_server::api::insight::train_and_keep(
        &server.state,
        window,
        kizuna_domain::insight::DEFAULT_LEAD_DAYS,
        &actor,
    )
    .await
    {
        Ok(m) => {
            store
                .precompute_insight_pages(today, &Default::default())
                .await?;
            json!({"renewals": m.model.validation.train_renewals + m.model.validation.test_renewals, "validation_auc": m.model.validation.auc})
        }
        Err(e) => json!({"not_trained": format!("{e:?}")}),
    };

    let detail = biggest.items.first().map(|a| a.id.0).unwrap_or(1);
    // A business review of the biggest account over the last quarter.
    let review = store
        .create_review(
            kizuna_domain::ids::AccountId(detail),
            kizuna_domain::review::ReviewDraft {
                period_from: Some(today - chrono::Duration::days(91)),
                period_to: Some(today),
                title: Some("Bench QBR".into()),
                goals: Some("Roll out reporting\nCut tickets".into()),
                ..Default::default()
            },
            &actor,
        )
        .await?;
    let pages: Vec<(&str, String, &str)> = vec![
        ("portfolio_admin", "/".into(), &admin_cookie),
        ("portfolio_csm", "/".into(), &csm_cookie),
        ("accounts", "/accounts".into(), &admin_cookie),
        (
            "accounts_filtered",
            "/accounts?tier=high_touch&stage=adoption&sort=-arr".into(),
            &admin_cookie,
        ),
        (
            "accounts_search",
            "/accounts?q=sakura".into(),
            &admin_cookie,
        ),
        (
            "accounts_renewals_90",
            "/accounts?renewal=90&sort=renewal_date".into(),
            &admin_cookie,
        ),
        (
            "accounts_page_100",
            "/accounts?offset=5000".into(),
            &admin_cookie,
        ),
        (
            "accounts_htmx_fragment",
            "/accounts?segment=enterprise&sort=-arr".into(),
            &admin_cookie,
        ),
        ("customer_360", format!("/accounts/{detail}"), &admin_cookie),
        (
            "settings_features",
            "/settings/features".into(),
            &admin_cookie,
        ),
        ("settings_users", "/settings/users".into(), &admin_cookie),
        (
            "settings_scorecards",
            "/settings/scorecards".into(),
            &admin_cookie,
        ),
        ("tasks_all", "/tasks?scope=all".into(), &admin_cookie),
        ("tasks_csm", "/tasks".into(), &csm_cookie),
        (
            "tasks_overdue",
            "/tasks?scope=all&view=overdue".into(),
            &admin_cookie,
        ),
        ("tasks_coverage", "/tasks/coverage".into(), &admin_cookie),
        ("automation_rules", "/automation".into(), &admin_cookie),
        (
            "automation_playbooks",
            "/automation/playbooks".into(),
            &admin_cookie,
        ),
        (
            "automation_email",
            "/automation/email".into(),
            &admin_cookie,
        ),
        ("automation_jobs", "/automation/jobs".into(), &admin_cookie),
        ("automation_nps", "/automation/nps".into(), &admin_cookie),
        (
            "settings_segments_journeys",
            "/settings/segments".into(),
            &admin_cookie,
        ),
        (
            "reviews_list",
            format!("/accounts/{detail}/reviews"),
            &admin_cookie,
        ),
        (
            "review",
            format!("/accounts/{detail}/reviews/{}", review.id),
            &admin_cookie,
        ),
        ("team_workload", "/team".into(), &admin_cookie),
        ("team_competency", "/team/competency".into(), &admin_cookie),
        ("team_ladder", "/team/ladder".into(), &admin_cookie),
        ("team_incentives", "/team/incentives".into(), &admin_cookie),
        ("insight_dashboard", "/insight".into(), &admin_cookie),
        (
            "insight_dashboard_by_csm",
            "/insight?period=last_12_months&by=csm".into(),
            &admin_cookie,
        ),
        (
            "insight_dashboard_quarter_segment",
            "/insight?period=last_quarter&segment=enterprise".into(),
            &admin_cookie,
        ),
        (
            "insight_dashboard_csm_book",
            format!("/insight?period=this_year&owner={}", csm.0),
            &admin_cookie,
        ),
        (
            "insight_dashboard_custom_past",
            format!(
                "/insight?from={}&to={}",
                today - chrono::Duration::days(150),
                today - chrono::Duration::days(30)
            ),
            &admin_cookie,
        ),
        (
            "insight_dashboard_custom_segment_csm",
            format!(
                "/insight?from={}&to={today}&segment=enterprise&owner={}",
                today - chrono::Duration::days(45),
                csm.0
            ),
            &admin_cookie,
        ),
        ("insight_renewals", "/insight/renewals".into(), &admin_cookie),
        ("insight_drivers", "/insight/drivers".into(), &admin_cookie),
        ("insight_prediction", "/insight/prediction".into(), &admin_cookie),
        ("reports_list", "/reports".into(), &admin_cookie),
        (
            "report_grouped",
            "/reports/new?subject=accounts&g1=segment&g2=health_band&agg=count&agg=sum:arr&chart=bar"
                .into(),
            &admin_cookie,
        ),
        (
            "report_rows",
            "/reports/new?subject=contacts".into(),
            &admin_cookie,
        ),
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); pages.len()];
    for round_no in 0..rounds + 3 {
        for (i, (name, path, cookie)) in pages.iter().enumerate() {
            let mut req = client
                .get(format!("{base}{path}"))
                .header("cookie", *cookie);
            if *name == "accounts_htmx_fragment" {
                req = req
                    .header("hx-request", "true")
                    .header("hx-target", "results");
            }
            let t = Instant::now();
            let response = req.send().await?;
            anyhow::ensure!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            let _ = response.bytes().await?;
            if round_no >= 3 {
                times[i].push(t.elapsed());
            }
        }
    }
    server.stop().await;
    let mut all: Vec<Duration> = times.iter().flatten().copied().collect();
    let per_page: serde_json::Map<String, Value> = pages
        .iter()
        .zip(times.iter_mut())
        .map(|((name, path, _), t)| {
            (
                name.to_string(),
                json!({"path": path, "p50_ms": percentile(t, 0.5), "p99_ms": percentile(t, 0.99)}),
            )
        })
        .collect();
    let worst_p99 = per_page
        .values()
        .filter_map(|v| v["p99_ms"].as_f64())
        .fold(0.0, f64::max);
    let result = json!({
        "bench": "pages",
        "backend": target.name(),
        "accounts": accounts,
        "requests": all.len(),
        "load_seconds": round(load_seconds),
        "dashboards_computed_ahead": dashboards,
        "churn_model": model,
        "precompute_seconds": round(precompute_seconds),
        "tasks": tasks,
        "p50_ms": percentile(&mut all, 0.5),
        "p99_ms": percentile(&mut all, 0.99),
        "worst_page_p99_ms": worst_p99,
        "pages": per_page,
    });
    db.cleanup().await;
    Ok(result)
}
