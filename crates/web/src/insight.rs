//! Insight pages: the executive dashboard, the renewal map and forecast, churn drivers and churn
//! prediction. Every figure carries its definition one click away (a `<details>` element with the
//! domain's text in the user's language); charts are drawn by ECharts from JSON in the page.
//! Everyone signed in may read them; they change nothing.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Datelike, Months, NaiveDate};
use kizuna_domain::account::{ContractValueTier, CoverageTier};
use kizuna_domain::health::HealthBand;
use kizuna_domain::insight::dashboard::{Figures, Period};
use kizuna_domain::insight::definitions;
use kizuna_domain::insight::DEFAULT_LEAD_DAYS;
use kizuna_domain::money::Currency;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

use crate::error::{WebError, WebResult};
use crate::i18n::I18n;
use crate::layout::{empty, json_script, page, Nav, Scripts};
use crate::session::Ctx;
use crate::WebState;

fn definition(i: I18n, key: &str) -> Markup {
    let text = definitions::get(key).map(|d| if i.lang() == "ja" { d.ja } else { d.en });
    html! {
        @if let Some(t) = text {
            details.def {
                summary title=(i.tr("insight.definition")) { "?" }
                p { (t) }
            }
        }
    }
}

/// A share (0–1) as a percentage with one decimal; a dash when unknown.
pub(crate) fn pct(i: I18n, v: Option<f64>) -> String {
    v.map_or_else(
        || "—".to_string(),
        |x| format!("{}%", i.decimal(x * 100.0, 1)),
    )
}

fn kpi(i: I18n, label_key: &str, value: String, def_key: &str) -> Markup {
    html! {
        div.kpi {
            span.label { (i.tr(label_key)) (definition(i, def_key)) }
            span.n { (value) }
        }
    }
}

/// A figure that cannot be given yet, with what to do instead.
fn kpi_missing(i: I18n, label_key: &str, hint_key: &str, def_key: &str) -> Markup {
    html! {
        div.kpi {
            span.label { (i.tr(label_key)) (definition(i, def_key)) }
            span.hint { (i.tr(hint_key)) }
        }
    }
}

fn subnav(i: I18n, current: &str) -> Markup {
    html! {
        nav.subnav {
            @for (href, key) in [("/insight", "insight.dashboard"), ("/insight/renewals", "insight.renewals"), ("/insight/drivers", "insight.drivers"), ("/insight/prediction", "insight.prediction")] {
                a href=(href) .current[href == current] { (i.tr(key)) }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    /// A standard period by name (see `kizuna_store::standard_periods`); `from` / `to` when not.
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    segment: Option<String>,
    tier: Option<String>,
    owner: Option<String>,
    by: Option<String>,
}

fn date_param(raw: Option<&str>) -> WebResult<Option<NaiveDate>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| WebError::Invalid(format!("{s}: not a date (YYYY-MM-DD)"))),
    }
}

fn choice<T: std::str::FromStr>(raw: Option<&str>, field: &str) -> WebResult<Option<T>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| WebError::Invalid(format!("{field}: {s} is not one of the choices"))),
    }
}

/// The scope as query parameters (`&segment=…&tier=…&owner=…`, those set).
fn scope_query(scope: &kizuna_store::DashboardScope) -> String {
    let mut out = String::new();
    if let Some(s) = scope.segment {
        out.push_str(&format!("&segment={}", s.as_str()));
    }
    if let Some(t) = scope.tier {
        out.push_str(&format!("&tier={}", t.as_str()));
    }
    if let Some(o) = scope.owner_id {
        out.push_str(&format!("&owner={o}"));
    }
    out
}

/// The executive dashboard: a standard period or any other, the whole book or one segment,
/// coverage tier or CSM, or several of them. The standard periods of the whole book and of each
/// single scope are computed ahead by the scheduler and read here; any other is computed from
/// the book the instance holds (read by the same job), or from the database when it holds none.
pub async fn dashboard_handler(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(q): Query<DashboardQuery>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let presets = kizuna_store::standard_periods(ctx.today);
    let preset = q
        .period
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|name| {
            presets
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, p)| *p)
                .ok_or_else(|| {
                    WebError::Invalid(format!("period: {name} is not one of the choices"))
                })
        })
        .transpose()?;
    let period = match preset {
        Some(p) => p,
        None => {
            let to = date_param(q.to.as_deref())?.unwrap_or(ctx.today);
            let from = date_param(q.from.as_deref())?
                .unwrap_or_else(|| to.with_day(1).unwrap_or(to) - Months::new(11));
            if from > to {
                return Err(WebError::Invalid(i.tr("insight.bad_period").to_string()));
            }
            Period { from, to }
        }
    };
    let (from, to) = (period.from, period.to);
    let scope = kizuna_store::DashboardScope {
        segment: choice(q.segment.as_deref(), "segment")?,
        tier: choice(q.tier.as_deref(), "tier")?,
        owner_id: choice(q.owner.as_deref(), "owner")?,
    };
    let by = q.by.as_deref().unwrap_or("segment");
    let d = state.store.dashboard_or_compute(period, scope).await?;
    let team = if by == "csm" && scope == Default::default() {
        state.store.team_workload_ahead(ctx.today).await?
    } else {
        Vec::new()
    };
    let users = state.store.list_users().await?;
    let names: HashMap<i64, String> = users.iter().map(|u| (u.id.0, u.name.clone())).collect();
    let f = &d.overall;
    let trend = &d.trend;
    let bands = &d.health_trend;
    let health_day = d.health_day;
    let (groups_of, vocabulary) = match by {
        "tier" => (&d.by_coverage_tier, "tier"),
        "csm" => (&d.by_csm, "csm"),
        _ => (&d.by_segment, "segment"),
    };
    let groups: Vec<(String, &Figures)> = groups_of
        .iter()
        .map(|g| {
            let label = match (vocabulary, g.key.as_str()) {
                ("csm", "none") => i.tr("insight.unowned").to_string(),
                ("csm", id) => id
                    .parse::<i64>()
                    .ok()
                    .and_then(|id| names.get(&id).cloned())
                    .unwrap_or_else(|| id.to_string()),
                ("segment", "none") => i.tr("insight.no_segment").to_string(),
                (v, key) => i.label(v, key),
            };
            (label, &g.figures)
        })
        .collect();
    let nothing = f.live_accounts == 0 && f.retention.accounts_at_start == 0;
    let cur = Currency::JPY;
    let r = &f.retention;
    let chart = json!({
        "months": trend.iter().map(|t| i.trf("insight.month", &[("y", &t.month.year().to_string()), ("m", &t.month.month().to_string())])).collect::<Vec<_>>(),
        "nrr": trend.iter().map(|t| t.retention.nrr.map(|x| (x * 1000.0).round() / 10.0)).collect::<Vec<_>>(),
        "grr": trend.iter().map(|t| t.retention.grr.map(|x| (x * 1000.0).round() / 10.0)).collect::<Vec<_>>(),
        "net_new": trend.iter().map(|t| t.retention.net_new_mrr_existing.round()).collect::<Vec<_>>(),
        "band_days": bands.iter().map(|b| i.date(b.day)).collect::<Vec<_>>(),
        "red": bands.iter().map(|b| b.red).collect::<Vec<_>>(),
        "yellow": bands.iter().map(|b| b.yellow).collect::<Vec<_>>(),
        "green": bands.iter().map(|b| b.green).collect::<Vec<_>>(),
        "labels": {
            "nrr": i.tr("insight.nrr"), "grr": i.tr("insight.grr"), "net_new": i.tr("insight.net_new"),
            "red": i.label("band", "red"), "yellow": i.label("band", "yellow"), "green": i.label("band", "green"),
        },
    });
    let title = i.tr("insight.dashboard");
    let body = html! {
        h1 { (title) }
        (subnav(i, "/insight"))
        nav.presets aria-label=(i.tr("insight.period")) {
            @for (name, p) in &presets {
                a href=(format!("/insight?period={name}&by={by}{}", scope_query(&scope))) .current[*p == period] { (i.tr(&format!("insight.period_{name}"))) }
            }
        }
        form.filters method="get" action="/insight" {
            label { (i.tr("insight.from")) " " input type="date" name="from" value=(from.to_string()); }
            label { (i.tr("insight.to")) " " input type="date" name="to" value=(to.to_string()); }
            label { (i.tr("accounts.segment")) " "
                select name="segment" {
                    option value="" { (i.tr("filter.any")) }
                    @for v in ContractValueTier::NAMES {
                        option value=(v) selected[scope.segment.is_some_and(|x| x.as_str() == *v)] { (i.label("segment", v)) }
                    }
                }
            }
            label { (i.tr("accounts.tier")) " "
                select name="tier" {
                    option value="" { (i.tr("filter.any")) }
                    @for v in CoverageTier::NAMES {
                        option value=(v) selected[scope.tier.is_some_and(|x| x.as_str() == *v)] { (i.label("tier", v)) }
                    }
                }
            }
            label { (i.tr("accounts.owner")) " "
                select name="owner" {
                    option value="" { (i.tr("filter.any")) }
                    @for u in &users {
                        option value=(u.id.0) selected[scope.owner_id == Some(u.id.0)] { (u.name) }
                    }
                }
            }
            label { (i.tr("insight.by")) " "
                select name="by" {
                    @for (v, k) in [("segment", "insight.by_segment"), ("tier", "insight.by_tier"), ("csm", "insight.by_csm")] {
                        option value=(v) selected[by == v] { (i.tr(k)) }
                    }
                }
            }
            button type="submit" { (i.tr("insight.show")) }
        }
        p.muted { (i.trf("insight.computed_at", &[("time", &i.datetime(d.computed_at))])) }
        @if nothing {
            (empty(i, "portfolio.empty", "portfolio.empty_hint"))
        } @else {
            section.kpis {
                (kpi(i, "insight.portfolio_score", f.health.portfolio_score.map_or("—".into(), |s| i.decimal(s, 1)), "portfolio_score"))
                (kpi(i, "insight.nrr", pct(i, r.nrr), "nrr"))
                (kpi(i, "insight.grr", pct(i, r.grr), "grr"))
                (kpi(i, "insight.logo_churn", pct(i, r.logo_churn), "logo_churn"))
                (kpi(i, "insight.net_new", i.money(r.net_new_mrr_existing, cur), "net_new_mrr_existing"))
                (kpi(i, "insight.expanded", i.money(r.expansion_mrr, cur), "expansion_mrr"))
                (kpi(i, "insight.contracted", i.money(r.contraction_mrr, cur), "contraction_mrr"))
                (kpi(i, "insight.churned", i.money(r.churned_mrr, cur), "churned_mrr"))
                @match f.retention_cost {
                    Some(c) => { (kpi(i, "insight.retention_cost", i.decimal(c, 3), "retention_cost")) }
                    None => { (kpi_missing(i, "insight.retention_cost", "insight.no_cost", "retention_cost")) }
                }
                (kpi(i, "insight.engagement", pct(i, f.engagement_coverage), "engagement_coverage"))
            }
            div.columns {
                section.card {
                    h2 { (i.tr("insight.health_mix")) (definition(i, "health_mix")) }
                    p.muted { (i.trf("insight.health_as_of", &[("day", &i.opt_date(health_day))])) }
                    table.list {
                        thead { tr { th { (i.tr("accounts.health")) } th.num { (i.tr("insight.accounts")) } th.num { (i.tr("accounts.arr")) } } }
                        tbody {
                            @for (key, share) in [("red", &f.health.red), ("yellow", &f.health.yellow), ("green", &f.health.green), ("none", &f.health.unscored)] {
                                tr { td { span class=(format!("health band-{key}")) { (i.label("band", key)) } } td.num { (i.int(share.accounts as i64)) } td.num { (i.money(share.arr, cur)) } }
                            }
                        }
                    }
                }
                section.card {
                    h2 { (i.tr("insight.trend")) }
                    div.chart #insight-trend-chart role="img" aria-label=(i.tr("insight.trend")) {}
                    @if !bands.is_empty() {
                        h3 { (i.tr("insight.band_trend")) }
                        div.chart.short #insight-band-chart role="img" aria-label=(i.tr("insight.band_trend")) {}
                    }
                    (json_script("insight-data", &chart))
                }
            }
            section.card {
                h2 { (i.tr("insight.breakdown")) }
                table.list {
                    thead { tr {
                        th { (i.tr(match by { "tier" => "insight.by_tier", "csm" => "insight.by_csm", _ => "insight.by_segment" })) }
                        th.num { (i.tr("insight.cohort")) } th.num { (i.tr("insight.start_mrr")) (definition(i, "start_mrr")) }
                        th.num { (i.tr("insight.nrr")) } th.num { (i.tr("insight.grr")) } th.num { (i.tr("insight.logo_churn")) }
                        th.num { (i.tr("insight.portfolio_score")) } th.num { (i.tr("insight.engagement")) }
                    } }
                    tbody {
                        @for (k, g) in &groups {
                            @let g = *g;
                            tr {
                                td { (k) }
                                td.num { (i.int(g.retention.accounts_at_start as i64)) }
                                td.num { (i.money(g.retention.start_mrr, cur)) }
                                td.num { (pct(i, g.retention.nrr)) }
                                td.num { (pct(i, g.retention.grr)) }
                                td.num { (pct(i, g.retention.logo_churn)) }
                                td.num { (g.health.portfolio_score.map_or("—".into(), |s| i.decimal(s, 1))) }
                                td.num { (pct(i, g.engagement_coverage)) }
                            }
                        }
                    }
                }
            }
            @if !team.is_empty() {
                section.card {
                    h2 { (i.tr("insight.team")) }
                    p.muted { (i.tr("insight.team_hint")) }
                    table.list {
                        thead { tr {
                            th { (i.tr("insight.by_csm")) } th.num { (i.tr("insight.accounts")) } th.num { (i.tr("accounts.arr")) }
                            th.num { (i.tr("insight.at_risk_accounts")) } th.num { (i.tr("insight.at_risk_share")) }
                            th.num { (i.tr("insight.renewals_90d")) } th.num { (i.tr("insight.touchpoints_30d")) }
                        } }
                        tbody {
                            @for b in &team {
                                tr {
                                    td { (b.owner_name.clone().unwrap_or_else(|| i.tr("insight.unowned").to_string())) }
                                    td.num { (i.int(b.accounts)) }
                                    td.num { (i.money(b.arr, cur)) }
                                    td.num { (i.int(b.at_risk_accounts)) }
                                    td.num { (pct(i, b.at_risk_share)) }
                                    td.num { (i.int(b.renewals_90d)) }
                                    td.num { (i.int(b.touchpoints_30d)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, title, Nav::Insight, Scripts::Charts, body))
}

/// The renewal map: open renewals of the next twelve months, the forecast by month, and the
/// renewals decided in the last year with their rates.
pub async fn renewals_handler(State(state): State<WebState>, ctx: Ctx) -> WebResult<Response> {
    let i = ctx.i18n;
    let today = ctx.today;
    // Computed ahead by the scheduler every few minutes (and again after a call is set).
    let kizuna_store::RenewalPage {
        total,
        rows,
        forecast,
        rates,
    } = state
        .store
        .renewal_page_or_compute(today, &state.config.adoption)
        .await?;
    let cur = Currency::JPY;
    let chart = json!({
        "months": forecast.iter().map(|m| i.trf("insight.month", &[("y", &m.month.year().to_string()), ("m", &m.month.month().to_string())])).collect::<Vec<_>>(),
        "arr": forecast.iter().map(|m| m.arr.round()).collect::<Vec<_>>(),
        "expected": forecast.iter().map(|m| m.expected_arr.round()).collect::<Vec<_>>(),
        "committed": forecast.iter().map(|m| m.committed_arr.round()).collect::<Vec<_>>(),
        "labels": {"arr": i.tr("insight.up_for_renewal"), "expected": i.tr("insight.expected"), "committed": i.tr("insight.committed")},
    });
    let title = i.tr("insight.renewals");
    let body = html! {
        h1 { (title) }
        (subnav(i, "/insight/renewals"))
        section.kpis {
            (kpi(i, "insight.gross_renewal_rate", pct(i, rates.gross_renewal_rate), "gross_renewal_rate"))
            (kpi(i, "insight.net_renewal_rate", pct(i, rates.net_renewal_rate), "net_renewal_rate"))
            (kpi(i, "insight.decided", i.int(rates.decided as i64), "gross_renewal_rate"))
            (kpi(i, "insight.expected", i.money(forecast.iter().map(|m| m.expected_arr).sum(), cur), "expected_arr"))
        }
        p.muted { (i.trf("insight.outcomes", &[("renewed", &i.int(rates.renewed as i64)), ("expanded", &i.int(rates.expanded as i64)), ("contracted", &i.int(rates.contracted as i64)), ("churned", &i.int(rates.churned as i64))])) }
        @if forecast.is_empty() {
            (empty(i, "portfolio.renewals_empty", "portfolio.renewals_empty_hint"))
        } @else {
            section.card {
                h2 { (i.tr("insight.forecast")) (definition(i, "expected_arr")) }
                div.chart #renewal-chart role="img" aria-label=(i.tr("insight.forecast")) {}
                (json_script("renewal-data", &chart))
                table.list {
                    thead { tr { th { (i.tr("insight.month_col")) } th.num { (i.tr("insight.count")) } th.num { (i.tr("insight.up_for_renewal")) } th.num { (i.tr("insight.committed")) } th.num { (i.tr("insight.at_risk")) } th.num { (i.tr("insight.expected")) } } }
                    tbody {
                        @for m in &forecast {
                            tr {
                                td { (i.trf("insight.month", &[("y", &m.month.year().to_string()), ("m", &m.month.month().to_string())])) }
                                td.num { (i.int(m.renewals as i64)) }
                                td.num { (i.money(m.arr, cur)) }
                                td.num { (i.money(m.committed_arr, cur)) }
                                td.num { (i.money(m.at_risk_arr, cur)) }
                                td.num { (i.money(m.expected_arr, cur)) }
                            }
                        }
                    }
                }
            }
            section.card {
                h2 { (i.tr("insight.renewal_list")) }
                table.list {
                    thead { tr { th { (i.tr("accounts.renewal")) } th { (i.tr("accounts.name")) } th.num { (i.tr("accounts.arr")) } th { (i.tr("accounts.health")) } th.num { (i.tr("insight.probability")) } th { (i.tr("insight.call")) } th.num { (i.tr("insight.risk")) } } }
                    tbody {
                        @for row in &rows {
                            @let (r, p, risk) = (&row.renewal, &row.churn_probability, &row.risk);
                            tr {
                                td { (i.date(r.renewal_date)) }
                                td { a href=(format!("/accounts/{}", r.account_id)) { (r.account_name) } }
                                td.num { (i.money(r.arr, cur)) }
                                td { span class=(format!("health band-{}", r.health_band.map_or("none", HealthBand::as_str))) { (i.label("band", r.health_band.map_or("none", HealthBand::as_str))) } }
                                td.num { (pct(i, *p)) }
                                td { (r.call.map_or_else(|| "—".to_string(), |c| i.label("call", c.as_str()))) }
                                td.num { (pct(i, *risk)) }
                            }
                        }
                    }
                }
                @if total > rows.len() { p.muted { (i.trf("insight.more_rows", &[("n", &i.int(total as i64))])) } }
            }
        }
    };
    Ok(page(&ctx, title, Nav::Insight, Scripts::Charts, body))
}

#[derive(Debug, Default, Deserialize)]
pub struct DriversQuery {
    lead_days: Option<i64>,
}

/// Churn drivers for renewals decided in the last year.
pub async fn drivers_handler(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(q): Query<DriversQuery>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let lead = q.lead_days.unwrap_or(DEFAULT_LEAD_DAYS);
    if !(1..=730).contains(&lead) {
        return Err(WebError::Invalid(i.tr("insight.bad_lead").to_string()));
    }
    // The default lead time is computed ahead by the scheduler; another is computed now (and
    // the indicators at that lead time kept for the next time).
    let kizuna_store::Computed {
        computed_at,
        value: a,
    } = state
        .store
        .churn_drivers_or_compute(ctx.today, lead, &state.config.adoption)
        .await?;
    let name = |ind: &str| {
        ind.strip_prefix("metric:")
            .map_or_else(|| i.label("indicator", ind), |m| m.to_string())
    };
    let chart = json!({
        "names": a.drivers.iter().rev().map(|d| name(&d.indicator)).collect::<Vec<_>>(),
        "separation": a.drivers.iter().rev().map(|d| (d.separation * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
        "label": i.tr("insight.separation"),
    });
    let title = i.tr("insight.drivers");
    let body = html! {
        h1 { (title) }
        (subnav(i, "/insight/drivers"))
        form.filters method="get" action="/insight/drivers" {
            label { (i.tr("insight.lead_days")) " " input type="number" name="lead_days" min="1" max="730" value=(lead); }
            button type="submit" { (i.tr("insight.show")) }
        }
        p { (i.trf("insight.drivers_basis", &[("n", &i.int(a.renewals as i64)), ("churned", &i.int(a.churned as i64)), ("renewed", &i.int(a.renewed as i64)), ("lead", &i.int(lead))])) }
        p.muted { (i.trf("insight.computed_at", &[("time", &i.datetime(computed_at))])) }
        @if a.churned == 0 || a.renewed == 0 {
            (empty(i, "insight.drivers_empty", "insight.drivers_empty_hint"))
        } @else {
            section.kpis {
                (kpi(i, "insight.health_score_auc", a.health_score_auc.map_or("—".into(), |x| i.decimal(x, 3)), "health_score_auc"))
            }
            section.card {
                h2 { (i.tr("insight.ranking")) (definition(i, "separation")) }
                div.chart #drivers-chart role="img" aria-label=(i.tr("insight.ranking")) {}
                (json_script("drivers-data", &chart))
                table.list {
                    thead { tr {
                        th { (i.tr("insight.indicator")) }
                        th.num { "AUC" (definition(i, "auc")) }
                        th.num { (i.tr("insight.separation")) }
                        th { (i.tr("insight.direction")) }
                        th.num { (i.tr("insight.effect_size")) (definition(i, "effect_size")) }
                        th.num { (i.tr("insight.median_churned")) }
                        th.num { (i.tr("insight.median_renewed")) }
                        th.num { (i.tr("insight.with_value")) }
                    } }
                    tbody {
                        @for d in &a.drivers {
                            tr.muted[!d.reliable] {
                                td { (name(&d.indicator)) }
                                td.num { (i.decimal(d.auc, 3)) }
                                td.num { (i.decimal(d.separation, 3)) }
                                td { (i.label("direction", d.direction.as_str())) }
                                td.num { (d.effect_size.map_or("—".into(), |e| i.decimal(e, 2))) }
                                td.num { (d.churned.median.map_or("—".into(), |m| i.decimal(m, 2))) }
                                td.num { (d.renewed.median.map_or("—".into(), |m| i.decimal(m, 2))) }
                                td.num { (i.int(d.churned.n as i64)) " / " (i.int(d.renewed.n as i64)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, title, Nav::Insight, Scripts::Charts, body))
}

/// The latest churn model's validation and the accounts it rates riskiest.
pub async fn prediction_handler(State(state): State<WebState>, ctx: Ctx) -> WebResult<Response> {
    let i = ctx.i18n;
    let title = i.tr("insight.prediction");
    let Some(m) = state.store.churn_model(None).await? else {
        let body = html! {
            h1 { (title) }
            (subnav(i, "/insight/prediction"))
            (empty(i, "insight.no_model", "insight.no_model_hint"))
        };
        return Ok(page(&ctx, title, Nav::Insight, Scripts::Basic, body));
    };
    let kizuna_store::Computed {
        computed_at,
        value: preds,
    } = state.store.riskiest_or_compute(ctx.today, &m).await?;
    let v = &m.model.validation;
    let chart = json!({
        "predicted": v.calibration.iter().map(|b| (b.mean_predicted * 1000.0).round() / 10.0).collect::<Vec<_>>(),
        "observed": v.calibration.iter().map(|b| (b.observed_rate * 1000.0).round() / 10.0).collect::<Vec<_>>(),
        "labels": {"predicted": i.tr("insight.mean_predicted"), "observed": i.tr("insight.observed")},
    });
    let body = html! {
        h1 { (title) }
        (subnav(i, "/insight/prediction"))
        section.kpis {
            (kpi(i, "insight.validation_auc", v.auc.map_or("—".into(), |x| i.decimal(x, 3)), "auc"))
            (kpi(i, "insight.precision_top_decile", pct(i, v.precision_top_decile), "precision_top_decile"))
            (kpi(i, "insight.base_rate", pct(i, Some(v.base_rate)), "precision_top_decile"))
        }
        p.muted { (i.trf("insight.split", &[
            ("train", &i.int(v.train_renewals as i64)), ("train_from", &i.date(v.train_from)), ("train_to", &i.date(v.train_to)),
            ("test", &i.int(v.test_renewals as i64)), ("test_from", &i.date(v.test_from)), ("test_to", &i.date(v.test_to)),
            ("trained", &i.datetime(m.trained_at)),
        ])) }
        p.muted { (i.trf("insight.computed_at", &[("time", &i.datetime(computed_at))])) }
        div.columns {
            section.card {
                h2 { (i.tr("insight.calibration")) (definition(i, "calibration")) }
                div.chart.short #calibration-chart role="img" aria-label=(i.tr("insight.calibration")) {}
                (json_script("calibration-data", &chart))
                table.list {
                    thead { tr { th.num { (i.tr("insight.count")) } th.num { (i.tr("insight.mean_predicted")) } th.num { (i.tr("insight.observed")) } } }
                    tbody {
                        @for b in &v.calibration {
                            tr { td.num { (i.int(b.renewals as i64)) } td.num { (pct(i, Some(b.mean_predicted))) } td.num { (pct(i, Some(b.observed_rate))) } }
                        }
                    }
                }
            }
            section.card {
                h2 { (i.tr("insight.riskiest")) }
                table.list {
                    thead { tr { th { (i.tr("accounts.name")) } th.num { (i.tr("insight.probability")) } th { (i.tr("insight.top_factors")) } } }
                    tbody {
                        @for a in &preds {
                            tr {
                                td { a href=(format!("/accounts/{}", a.account_id)) { (a.account_name) } }
                                td.num { (pct(i, Some(a.probability))) }
                                td { @for f in &a.factors { span.tag { (i.label("indicator", &f.feature)) } " " } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, title, Nav::Insight, Scripts::Charts, body))
}
