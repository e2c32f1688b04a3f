//! The page frame (header, navigation, language switch, sign-out), shared widgets (health badge,
//! empty state, pager) and the error pages.

use axum::response::{Html, IntoResponse, Response};
use kizuna_domain::account::Account;
use kizuna_domain::health::{HealthBand, Trend};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::assets;
use crate::error::{ErrorKind, ErrorMarker};
use crate::i18n::I18n;
use crate::session::{Ctx, CSRF_FIELD};

/// Which navigation entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Portfolio,
    Accounts,
    Tasks,
    Automation,
    Insight,
    Team,
    Reports,
    Settings,
    None,
}

/// Extra scripts a page needs beyond htmx and Kizuna's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scripts {
    Basic,
    Charts,
}

fn head(i18n: I18n, title: &str, scripts: Scripts) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · " (i18n.tr("app.name")) }
            link rel="stylesheet" href=(assets::url("app.css"));
            // htmx's own indicator styles would be an inline <style>, which the CSP forbids.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles": false, "allowEval": false}"#;
            script src=(assets::url("htmx.min.js")) defer {}
            @if scripts == Scripts::Charts {
                script src=(assets::url("echarts.min.js")) defer {}
            }
            script src=(assets::url("app.js")) defer {}
        }
    }
}

/// A hidden CSRF field for a form.
pub fn csrf(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(ctx.csrf); }
}

/// A whole page for a signed-in user.
pub fn page(ctx: &Ctx, title: &str, nav: Nav, scripts: Scripts, body: Markup) -> Response {
    let i = ctx.i18n;
    let headers = format!(r#"{{"X-CSRF-Token": "{}"}}"#, ctx.csrf);
    let markup = html! {
        (DOCTYPE)
        html lang=(i.lang()) {
            (head(i, title, scripts))
            body hx-headers=(headers) {
                header.topbar {
                    a.brand href="/" { span.logo { "絆" } " " (i.tr("app.name")) }
                    nav.mainnav {
                        a href="/" .current[nav == Nav::Portfolio] { (i.tr("nav.portfolio")) }
                        a href="/accounts" .current[nav == Nav::Accounts] { (i.tr("nav.accounts")) }
                        a href="/tasks" .current[nav == Nav::Tasks] { (i.tr("nav.tasks")) }
                        a href="/automation" .current[nav == Nav::Automation] { (i.tr("nav.automation")) }
                        a href="/insight" .current[nav == Nav::Insight] { (i.tr("nav.insight")) }
                        a href="/team" .current[nav == Nav::Team] { (i.tr("nav.team")) }
                        a href="/reports" .current[nav == Nav::Reports] { (i.tr("nav.reports")) }
                        a href="/settings" .current[nav == Nav::Settings] { (i.tr("nav.settings")) }
                    }
                    div.userbox {
                        form.inline method="post" action="/settings/locale" {
                            (csrf(ctx))
                            input type="hidden" name="back" value="";
                            select name="locale" aria-label=(i.tr("nav.language")) data-autosubmit {
                                option value="ja" selected[i.lang() == "ja"] { "日本語" }
                                option value="en" selected[i.lang() == "en"] { "English" }
                            }
                        }
                        span.who title=(ctx.user.email.as_str()) {
                            (ctx.user.name) " "
                            span.role { (i.label("role", ctx.user.role.as_str())) }
                        }
                        form.inline method="post" action="/signout" {
                            (csrf(ctx))
                            button.linkish type="submit" { (i.tr("nav.sign_out")) }
                        }
                    }
                }
                main.content { (body) }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// A page for someone not signed in (sign-in, errors).
pub fn bare_page(i: I18n, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(i.lang()) {
            (head(i, title, Scripts::Basic))
            body.bare {
                main.narrow {
                    div.brand.big { span.logo { "絆" } " " (i.tr("app.name")) }
                    (body)
                }
            }
        }
    }
}

/// Score, colour of its band and the trend arrow; "—" when the account has no score yet.
pub fn health_badge(i: I18n, a: &Account) -> Markup {
    health_parts(i, a.health_score, a.health_band, a.health_trend)
}

pub fn health_parts(
    i: I18n,
    score: Option<f64>,
    band: Option<HealthBand>,
    trend: Option<Trend>,
) -> Markup {
    let band_class = band.map(|b| b.as_str()).unwrap_or("none");
    let arrow = match trend {
        Some(Trend::Up) => "↑",
        Some(Trend::Down) => "↓",
        Some(Trend::Flat) => "→",
        None => "",
    };
    let title = match (band, trend) {
        (Some(b), Some(t)) => format!(
            "{} · {}",
            i.label("band", b.as_str()),
            i.label("trend", t.as_str())
        ),
        (Some(b), None) => i.label("band", b.as_str()),
        _ => i.tr("health.none").to_string(),
    };
    html! {
        span class=(format!("health band-{band_class}")) title=(title) {
            @match score {
                Some(s) => { span.score { (format!("{s:.0}")) } @if !arrow.is_empty() { " " span.arrow { (arrow) } } }
                None => { "—" }
            }
        }
    }
}

/// What an empty list says, and what to do about it.
pub fn empty(i: I18n, what_key: &str, hint_key: &str) -> Markup {
    html! {
        div.empty {
            p.what { (i.tr(what_key)) }
            p.hint { (i.tr(hint_key)) }
        }
    }
}

fn error_texts(i: I18n, m: &ErrorMarker) -> (String, String) {
    let (title, hint) = match m.kind {
        ErrorKind::NotFound => ("error.not_found.title", "error.not_found.hint"),
        ErrorKind::Forbidden => ("error.forbidden.title", "error.forbidden.hint"),
        ErrorKind::StaleForm => ("error.stale.title", "error.stale.hint"),
        ErrorKind::Invalid => ("error.invalid.title", "error.invalid.hint"),
        ErrorKind::Internal => ("error.internal.title", "error.internal.hint"),
    };
    (i.tr(title).to_string(), i.tr(hint).to_string())
}

pub fn error_page(i: I18n, ctx: Option<&Ctx>, m: &ErrorMarker) -> Response {
    let (title, hint) = error_texts(i, m);
    let status = m.kind.status().as_u16();
    let body = html! {
        section.error-page {
            p.status { (status) }
            h1 { (title) }
            @if let Some(msg) = &m.message { p.detail { (msg) } }
            p { (hint) }
            p.actions {
                a.button href="/" { (i.tr("error.go_home")) }
                @if ctx.is_none() { " " a.button.secondary href="/signin" { (i.tr("signin.title")) } }
            }
        }
    };
    match ctx {
        Some(c) => page(c, &title, Nav::None, Scripts::Basic, body),
        None => Html(bare_page(i, &title, body).into_string()).into_response(),
    }
}

pub fn error_fragment(i: I18n, m: &ErrorMarker) -> Response {
    let (title, hint) = error_texts(i, m);
    Html(
        html! {
            div.flash.error role="alert" {
                strong { (title) } " "
                @if let Some(msg) = &m.message { span.detail { (msg) } " " }
                span { (hint) }
            }
        }
        .into_string(),
    )
    .into_response()
}

/// Paging links that keep the rest of the query.
pub fn pager(i: I18n, base_query: &str, offset: i64, limit: i64, total: i64) -> Markup {
    let from = if total == 0 { 0 } else { offset + 1 };
    let to = (offset + limit).min(total);
    let link = |off: i64| {
        if base_query.is_empty() {
            format!("/accounts?offset={off}")
        } else {
            format!("/accounts?{base_query}&offset={off}")
        }
    };
    html! {
        nav.pager {
            span.count { (i.trf("list.showing", &[("from", &i.int(from)), ("to", &i.int(to)), ("total", &i.int(total))])) }
            @if offset > 0 {
                a.button.secondary href=(link((offset - limit).max(0))) hx-get=(link((offset - limit).max(0))) hx-target="#results" hx-push-url="true" { (i.tr("list.previous")) }
            }
            @if offset + limit < total {
                a.button.secondary href=(link(offset + limit)) hx-get=(link(offset + limit)) hx-target="#results" hx-push-url="true" { (i.tr("list.next")) }
            }
        }
    }
}

/// JSON for a `<script type="application/json">` block: `</` cannot close the script element.
pub fn json_script(id: &str, value: &serde_json::Value) -> Markup {
    let text = value.to_string().replace("</", "<\\/");
    html! { script type="application/json" id=(id) { (PreEscaped(text)) } }
}
