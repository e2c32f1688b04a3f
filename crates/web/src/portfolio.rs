//! My portfolio: the home page. A CSM sees their own accounts; managers, admins and viewers see
//! the whole book.

use axum::extract::State;
use axum::response::Response;
use chrono::Duration;
use kizuna_domain::account::AccountSort;
use kizuna_domain::health::HealthBand;
use kizuna_domain::ids::UserId;
use kizuna_domain::user::Role;
use kizuna_store::AccountFilter;
use maud::html;

use crate::error::WebResult;
use crate::layout::{empty, health_badge, page, Nav, Scripts};
use crate::session::Ctx;
use crate::WebState;

/// How many rows each list shows; the link under it opens the full, filtered table.
const LIST_ROWS: i64 = 10;

pub async fn page_handler(State(state): State<WebState>, ctx: Ctx) -> WebResult<Response> {
    let i = ctx.i18n;
    let owner: Option<UserId> = (ctx.user.role == Role::Csm).then_some(ctx.user.id);
    let owner_q = owner.map(|o| format!("&owner={o}")).unwrap_or_default();
    // Three independent reads, side by side on the pool.
    let renewal_filter = AccountFilter {
        owner_id: owner,
        renewal_from: Some(ctx.today),
        renewal_to: Some(ctx.today + Duration::days(90)),
        sort: Some((AccountSort::RenewalDate, false)),
        limit: Some(LIST_ROWS),
        ..Default::default()
    };
    let my_tasks = kizuna_store::automation::TaskFilter {
        owner_id: Some(ctx.user.id.0),
        limit: Some(LIST_ROWS),
        ..Default::default()
    };
    let (bands, worse, renewals, tasks) = futures::try_join!(
        state.store.band_counts(owner),
        state.store.accounts_trending_down(owner, LIST_ROWS),
        state.store.list_accounts(&renewal_filter),
        state.store.list_tasks(&my_tasks, ctx.today),
    )?;
    let total: i64 = bands.iter().map(|b| b.accounts).sum();
    let count_of = |band: Option<HealthBand>| {
        bands
            .iter()
            .find(|b| b.band == band)
            .map(|b| (b.accounts, b.mrr))
            .unwrap_or((0, 0.0))
    };
    let currency = renewals
        .items
        .first()
        .or(worse.first())
        .map(|a| a.currency)
        .unwrap_or(kizuna_domain::money::Currency::JPY);
    let title = if owner.is_some() {
        i.tr("portfolio.title_mine")
    } else {
        i.tr("portfolio.title_all")
    };
    let body = html! {
        h1 { (title) }
        section.card #my-tasks {
            h2 { (i.tr("tasks.mine")) }
            @if tasks.items.is_empty() {
                (empty(i, "tasks.mine_empty", "tasks.mine_empty_hint"))
            } @else {
                (crate::automation::task_table(&ctx, &tasks.items, true, "/", None))
                @if tasks.total > LIST_ROWS {
                    p { a href="/tasks?scope=mine" { (i.trf("tasks.all_mine", &[("n", &i.int(tasks.total))])) } }
                }
            }
        }
        @if total == 0 {
            (empty(i, "portfolio.empty", if owner.is_some() { "portfolio.empty_hint_csm" } else { "portfolio.empty_hint" }))
        } @else {
            section.bands aria-label=(i.tr("portfolio.by_band")) {
                @for (band, key) in [(Some(HealthBand::Red), "red"), (Some(HealthBand::Yellow), "yellow"), (Some(HealthBand::Green), "green"), (None, "none")] {
                    @let (n, mrr) = count_of(band);
                    @let inner = html! {
                        span.label { (i.label("band", key)) }
                        span.n { (i.int(n)) }
                        span.sub { (i.trf("portfolio.arr", &[("arr", &i.money(mrr * 12.0, currency))])) }
                    };
                    @match band {
                        Some(b) => { a class=(format!("bandcard band-{key}")) href=(format!("/accounts?band={b}{owner_q}")) { (inner) } }
                        None => { div class=(format!("bandcard band-{key}")) { (inner) } }
                    }
                }
            }
            div.columns {
                section.card {
                    h2 { (i.tr("portfolio.worse")) }
                    @if worse.is_empty() {
                        (empty(i, "portfolio.worse_empty", "portfolio.worse_empty_hint"))
                    } @else {
                        table.list {
                            thead { tr { th { (i.tr("accounts.name")) } th { (i.tr("accounts.health")) } th.num { (i.tr("accounts.arr")) } } }
                            tbody {
                                @for a in &worse {
                                    tr {
                                        td { a href=(format!("/accounts/{}", a.id)) { (a.name) } }
                                        td { (health_badge(i, a)) }
                                        td.num { (i.money(a.arr, a.currency)) }
                                    }
                                }
                            }
                        }
                    }
                }
                section.card {
                    h2 { (i.tr("portfolio.renewals")) }
                    @if renewals.items.is_empty() {
                        (empty(i, "portfolio.renewals_empty", "portfolio.renewals_empty_hint"))
                    } @else {
                        table.list {
                            thead { tr { th { (i.tr("accounts.name")) } th { (i.tr("accounts.renewal")) } th.num { (i.tr("accounts.arr")) } th { (i.tr("accounts.health")) } } }
                            tbody {
                                @for a in &renewals.items {
                                    tr {
                                        td { a href=(format!("/accounts/{}", a.id)) { (a.name) } }
                                        td {
                                            (i.opt_date(a.renewal_date))
                                            @if let Some(d) = a.renewal_date {
                                                " " span.muted { (i.trf("account.days_left", &[("n", &i.int((d - ctx.today).num_days()))])) }
                                            }
                                        }
                                        td.num { (i.money(a.arr, a.currency)) }
                                        td { (health_badge(i, a)) }
                                    }
                                }
                            }
                        }
                        @if renewals.total > LIST_ROWS {
                            p { a href=(format!("/accounts?renewal=90{owner_q}&sort=renewal_date")) { (i.trf("portfolio.all_renewals", &[("n", &i.int(renewals.total))])) } }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, title, Nav::Portfolio, Scripts::Basic, body))
}
