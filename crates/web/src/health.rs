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

/// The names the shipped default scorecard gives its groups and measures, by key.
fn default_names() -> &'static (
    std::collections::HashMap<String, String>,
    std::collections::HashMap<String, String>,
) {
    static NAMES: std::sync::OnceLock<(
        std::collections::HashMap<String, String>,
        std::collections::HashMap<String, String>,
    )> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let card = kizuna_domain::scorecard::default_scorecard();
        let groups = card
            .groups
            .iter()
            .map(|g| (g.key.clone(), g.name.clone()))
            .collect();
        let measures = card
            .groups
            .iter()
            .flat_map(|g| g.measures.iter())
            .map(|m| (m.key.clone(), m.name.clone()))
            .collect();
        (groups, measures)
    })
}

/// A measure's name in the reader's language: the shipped scorecard's names are in the message
/// catalogues (`measure.*`); a name an admin wrote is shown as written.
pub fn measure_name(i: crate::i18n::I18n, key: &str, name: &str) -> String {
    if default_names().1.get(key).map(String::as_str) == Some(name) {
        i.label("measure", key)
    } else {
        name.to_string()
    }
}

/// A measure group's name in the reader's language (see [`measure_name`]).
pub fn group_name(i: crate::i18n::I18n, key: &str, name: &str) -> String {
    if default_names().0.get(key).map(String::as_str) == Some(name) {
        i.label("measure_group", key)
    } else {
        name.to_string()
    }
}

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
                        h2 { (group_name(i, &g.key, &g.name)) " " span.muted { (i.trf("health.group_line", &[("score", &opt(i, g.score, 1)), ("share", &i.decimal(g.share * 100.0, 0))])) } }
                        table.list.explain {
                            thead { tr {
                                th { (i.tr("health.measure")) } th.num { (i.tr("health.raw")) } th.num { (i.tr("health.score")) }
                                th.num { (i.tr("health.weight")) } th.num { (i.tr("health.share")) } th.num { (i.tr("health.points")) }
                            } }
                            tbody {
                                @for m in &g.measures {
                                    tr.left[m.score.is_none()] {
                                        td { (measure_name(i, &m.key, &m.name)) @if m.manual { " " span.tag { (i.tr("health.manual")) } } br; span.muted.small { code { (m.indicator) } } }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::I18n;
    use kizuna_domain::user::Locale;

    #[test]
    fn the_shipped_scorecard_speaks_both_languages_and_edited_names_stay() {
        let (groups, measures) = default_names();
        for lang in [Locale::Ja, Locale::En] {
            let i = I18n::new(lang);
            for (k, n) in measures {
                let shown = measure_name(i, k, n);
                assert!(
                    !shown.starts_with("measure."),
                    "{lang:?}: no label for measure {k}"
                );
                if lang == Locale::En {
                    assert_eq!(&shown, n, "English keeps the shipped name");
                }
            }
            for (k, n) in groups {
                assert!(
                    !group_name(i, k, n).starts_with("measure_group."),
                    "{lang:?}: no label for group {k}"
                );
            }
        }
        let ja = I18n::new(Locale::Ja);
        assert_eq!(
            measure_name(ja, "depth", "Events per active user (30 d)"),
            "アクティブユーザーあたりのイベント数（30日）"
        );
        assert_eq!(measure_name(ja, "depth", "Our own depth"), "Our own depth");
    }
}
