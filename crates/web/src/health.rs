//! The explanation of one account's health score: which scorecard applies, and for every group
//! and measure its raw value, score, weight, share and the points it adds to the total.

use axum::extract::{Path, State};
use axum::response::Response;
use kizuna_domain::ids::AccountId;
use maud::html;

use crate::error::{WebError, WebResult};
use crate::layout::{empty, health_parts, page, Nav, Scripts};
use crate::session::Ctx;
use crate::WebState;

fn opt(i: crate::i18n::I18n, v: Option<f64>, decimals: usize) -> String {
    v.map(|v| i.decimal(v, decimals))
        .unwrap_or_else(|| "—".into())
}

pub async fn page_handler(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let id = AccountId(id);
    let account = state.store.account(id).await?;
    let explained = state
        .store
        .explain_account(id, &state.config.adoption)
        .await
        .map_err(WebError::from)?;
    let title = i.trf("health.title", &[("account", &account.name)]);
    let body = html! {
        nav.crumbs {
            a href="/accounts" { (i.tr("nav.accounts")) } " / "
            a href=(format!("/accounts/{id}")) { (account.name) } " / "
        }
        h1 { (title) }
        @match &explained {
            None => { (empty(i, "health.none_yet", "health.none_yet_hint")) }
            Some(e) => {
                section.card {
                    dl.kpis {
                        div { dt { (i.tr("accounts.health")) } dd { (health_parts(i, e.health.score, e.health.band, e.trend)) } }
                        div { dt { (i.tr("health.previous")) } dd { (opt(i, e.previous_score, 1)) } }
                        div { dt { (i.tr("health.scorecard")) } dd { (e.scorecard_name) } }
                    }
                    p.muted { (i.tr("health.how")) }
                }
                @for g in &e.health.groups {
                    section.card {
                        h2 { (g.name) " " span.muted { (i.trf("health.group_line", &[("score", &opt(i, g.score, 1)), ("share", &i.decimal(g.share * 100.0, 0))])) } }
                        table.list.explain {
                            thead { tr {
                                th { (i.tr("health.measure")) } th.num { (i.tr("health.raw")) } th.num { (i.tr("health.score")) }
                                th.num { (i.tr("health.weight")) } th.num { (i.tr("health.share")) } th.num { (i.tr("health.points")) }
                            } }
                            tbody {
                                @for m in &g.measures {
                                    tr.left[m.score.is_none()] {
                                        td { (m.name) @if m.manual { " " span.tag { (i.tr("health.manual")) } } br; span.muted.small { code { (m.indicator) } } }
                                        td.num { (opt(i, m.raw, 2)) }
                                        td.num { (opt(i, m.score, 0)) }
                                        td.num { (i.decimal(m.weight, 1)) }
                                        td.num { (i.decimal(m.share * 100.0, 0)) "%" }
                                        td.num { strong { (opt(i, m.contribution, 1)) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, &title, Nav::Accounts, Scripts::Basic, body))
}
