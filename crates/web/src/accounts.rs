//! The accounts table: filters, sorting, paging, saved views and CSV export.
//!
//! The filter form drives htmx: a change re-renders only the results (`HX-Target: results`) and
//! pushes the query into the address bar, so every state of the table is a link. The page reads
//! one page of accounts through the same store call as `GET /api/v1/accounts`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Duration, NaiveDate};
use kizuna_domain::account::{
    Account, AccountSort, ContractValueTier, CoverageTier, LifecycleStage,
};
use kizuna_domain::health::HealthBand;
use kizuna_domain::ids::UserId;
use kizuna_domain::user::User;
use kizuna_store::AccountFilter;
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::{WebError, WebResult};
use crate::i18n::I18n;
use crate::layout::{csrf, empty, health_badge, page, pager, Nav, Scripts};
use crate::session::{encode_component, Ctx};
use crate::WebState;

pub const PAGE_SIZE: i64 = 50;
/// Rows per store call while exporting.
const EXPORT_BATCH: i64 = 500;

/// The accounts page's query string; empty values mean "any".
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub segment: String,
    #[serde(default)]
    pub tier: String,
    #[serde(default)]
    pub stage: String,
    #[serde(default)]
    pub band: String,
    #[serde(default)]
    pub owner: String,
    /// `30`, `90`, `180` (days ahead) or `overdue`.
    #[serde(default)]
    pub renewal: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub offset: Option<i64>,
}

impl ListQuery {
    /// The store filter; values that do not parse are ignored (an old link still opens).
    pub fn filter(&self, today: NaiveDate) -> AccountFilter {
        let q = self.q.trim();
        let (renewal_from, renewal_to) = match self.renewal.as_str() {
            "overdue" => (None, Some(today - Duration::days(1))),
            n => match n.parse::<i64>() {
                Ok(days) if (1..=3660).contains(&days) => {
                    (Some(today), Some(today + Duration::days(days)))
                }
                _ => (None, None),
            },
        };
        AccountFilter {
            q: (!q.is_empty()).then(|| q.to_string()),
            contract_value_tier: self.segment.parse::<ContractValueTier>().ok(),
            coverage_tier: self.tier.parse::<CoverageTier>().ok(),
            lifecycle_stage: self.stage.parse::<LifecycleStage>().ok(),
            health_band: self.band.parse::<HealthBand>().ok(),
            owner_id: self.owner.parse::<i64>().ok().map(UserId),
            unowned: self.owner == "none",
            renewal_from,
            renewal_to,
            sort: AccountSort::parse(&self.sort).ok(),
            limit: Some(PAGE_SIZE),
            offset: self.offset.map(|o| o.max(0)),
            ..Default::default()
        }
    }

    /// The query string without `offset` (and without `sort` when asked), for links.
    pub fn query_string(&self, with_sort: bool) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("q", self.q.trim()),
            ("segment", &self.segment),
            ("tier", &self.tier),
            ("stage", &self.stage),
            ("band", &self.band),
            ("owner", &self.owner),
            ("renewal", &self.renewal),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", encode_component(v)));
            }
        }
        if with_sort && !self.sort.is_empty() {
            parts.push(format!("sort={}", encode_component(&self.sort)));
        }
        parts.join("&")
    }
}

pub(crate) fn owner_names(users: &[User]) -> HashMap<UserId, String> {
    users.iter().map(|u| (u.id, u.name.clone())).collect()
}

fn select(
    i: I18n,
    name: &str,
    label_key: &str,
    vocabulary: &str,
    values: &[&str],
    current: &str,
) -> Markup {
    html! {
        label.filter {
            span { (i.tr(label_key)) }
            select name=(name) {
                option value="" { (i.tr("filter.any")) }
                @for v in values {
                    option value=(v) selected[*v == current] { (i.label(vocabulary, v)) }
                }
            }
        }
    }
}

fn sort_link(i: I18n, q: &ListQuery, key: &str, label_key: &str) -> Markup {
    let (current, desc) = match q.sort.strip_prefix('-') {
        Some(k) => (k, true),
        None => (q.sort.as_str(), false),
    };
    let active = current == key || (q.sort.is_empty() && key == "name");
    let next = if active && !desc {
        format!("-{key}")
    } else {
        key.to_string()
    };
    let base = q.query_string(false);
    let href = if base.is_empty() {
        format!("/accounts?sort={next}")
    } else {
        format!("/accounts?{base}&sort={next}")
    };
    let arrow = match (active, desc) {
        (true, false) => " ▲",
        (true, true) => " ▼",
        _ => "",
    };
    html! {
        a.sort href=(href) hx-get=(href) hx-target="#results" hx-push-url="true" { (i.tr(label_key)) (arrow) }
    }
}

fn results(
    ctx: &Ctx,
    q: &ListQuery,
    accounts: &kizuna_domain::page::Page<Account>,
    owners: &HashMap<UserId, String>,
) -> Markup {
    let i = ctx.i18n;
    html! {
        div #results {
            @if accounts.items.is_empty() {
                (empty(i, "accounts.empty", "accounts.empty_hint"))
            } @else {
                table.list.accounts {
                    thead {
                        tr {
                            th { (sort_link(i, q, "name", "accounts.name")) }
                            th { (sort_link(i, q, "health_score", "accounts.health")) }
                            th.num { (sort_link(i, q, "arr", "accounts.arr")) }
                            th { (sort_link(i, q, "renewal_date", "accounts.renewal")) }
                            th { (i.tr("accounts.stage")) }
                            th { (i.tr("accounts.segment")) }
                            th { (i.tr("accounts.tier")) }
                            th { (i.tr("accounts.owner")) }
                        }
                    }
                    tbody {
                        @for a in &accounts.items {
                            tr {
                                td { a href=(format!("/accounts/{}", a.id)) { (a.name) } }
                                td { (health_badge(i, a)) }
                                td.num { (i.money(a.arr, a.currency)) }
                                td { (i.opt_date(a.renewal_date)) }
                                td { (i.label("stage", a.lifecycle_stage.as_str())) }
                                td { @match a.contract_value_tier { Some(s) => (i.label("segment", s.as_str())), None => "—" } }
                                td { (i.label("tier", a.coverage_tier.as_str())) }
                                td { @match a.owner_id.and_then(|o| owners.get(&o)) { Some(n) => (n), None => span.muted { (i.tr("accounts.unowned")) } } }
                            }
                        }
                    }
                }
            }
            (pager(i, &q.query_string(true), accounts.offset, accounts.limit, accounts.total))
            p.export {
                @let qs = q.query_string(true);
                a href=(if qs.is_empty() { "/accounts/export.csv".to_string() } else { format!("/accounts/export.csv?{qs}") }) download { (i.tr("accounts.export")) }
            }
        }
    }
}

pub async fn page_handler(
    State(state): State<WebState>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let filter = q.filter(ctx.today);
    let (accounts, users) =
        futures::try_join!(state.store.list_accounts(&filter), state.store.list_users())?;
    let owners = owner_names(&users);
    let only_results = headers
        .get("hx-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t == "results");
    if only_results {
        return Ok(Html(results(&ctx, &q, &accounts, &owners).into_string()).into_response());
    }
    let views = state.store.saved_views(ctx.user.id).await?;
    let owner_list: Vec<&User> = users
        .iter()
        .filter(|u| u.active && u.role != kizuna_domain::user::Role::Viewer)
        .collect();
    let body = html! {
        h1 { (i.tr("accounts.title")) }
        @if !views.is_empty() {
            nav.views aria-label=(i.tr("views.title")) {
                span.muted { (i.tr("views.title")) ": " }
                @for v in &views {
                    span.view {
                        a href=(format!("/accounts?{}", v.query)) { (v.name) }
                        form.inline method="post" action=(format!("/accounts/views/{}/delete", v.id)) {
                            (csrf(&ctx))
                            button.linkish type="submit" title=(i.tr("views.delete")) aria-label=(i.tr("views.delete")) { "×" }
                        }
                    }
                }
            }
        }
        form.filters #filters method="get" action="/accounts" hx-get="/accounts" hx-target="#results" hx-push-url="true"
            hx-trigger="change, input changed delay:300ms from:find input[name=q], submit" {
            label.filter.grow {
                span { (i.tr("filter.search")) }
                input type="search" name="q" value=(q.q) placeholder=(i.tr("filter.search_placeholder"));
            }
            (select(i, "segment", "accounts.segment", "segment", ContractValueTier::NAMES, &q.segment))
            (select(i, "tier", "accounts.tier", "tier", CoverageTier::NAMES, &q.tier))
            (select(i, "stage", "accounts.stage", "stage", LifecycleStage::NAMES, &q.stage))
            (select(i, "band", "accounts.health", "band", HealthBand::NAMES, &q.band))
            label.filter {
                span { (i.tr("accounts.owner")) }
                select name="owner" {
                    option value="" { (i.tr("filter.any")) }
                    option value="none" selected[q.owner == "none"] { (i.tr("accounts.unowned")) }
                    @for u in &owner_list {
                        @let id = u.id.to_string();
                        option value=(id) selected[q.owner == id] { (u.name) }
                    }
                }
            }
            label.filter {
                span { (i.tr("accounts.renewal")) }
                select name="renewal" {
                    option value="" { (i.tr("filter.any")) }
                    @for (v, key) in [("30", "filter.renewal_30"), ("90", "filter.renewal_90"), ("180", "filter.renewal_180"), ("overdue", "filter.renewal_overdue")] {
                        option value=(v) selected[q.renewal == v] { (i.tr(key)) }
                    }
                }
            }
            input type="hidden" name="sort" value=(q.sort);
            noscript { button type="submit" { (i.tr("filter.apply")) } }
            a.button.secondary href="/accounts" { (i.tr("filter.clear")) }
        }
        form.saveview method="post" action="/accounts/views" hx-boost="false" {
            (csrf(&ctx))
            input type="hidden" name="query" value=(q.query_string(true)) data-sync-query;
            input type="text" name="name" required maxlength="100" placeholder=(i.tr("views.name_placeholder")) aria-label=(i.tr("views.name_placeholder"));
            button.secondary type="submit" { (i.tr("views.save")) }
        }
        (results(&ctx, &q, &accounts, &owners))
    };
    Ok(page(
        &ctx,
        i.tr("accounts.title"),
        Nav::Accounts,
        Scripts::Basic,
        body,
    ))
}

/// Quotes a CSV field the way spreadsheets expect (RFC 4180).
fn csv_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// Every account the filters match, as CSV: UTF-8 with a byte-order mark (so Excel reads the
/// Japanese names), headers in the user's language, codes (not labels) in the cells.
pub async fn export_csv(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let users = state.store.list_users().await?;
    let owners = owner_names(&users);
    let mut filter = q.filter(ctx.today);
    filter.limit = Some(EXPORT_BATCH);
    filter.offset = Some(0);
    let mut out = String::from("\u{feff}");
    let headers = [
        i.tr("csv.id"),
        i.tr("csv.external_id"),
        i.tr("accounts.name"),
        i.tr("accounts.owner"),
        i.tr("accounts.segment"),
        i.tr("accounts.tier"),
        i.tr("accounts.stage"),
        i.tr("accounts.arr"),
        i.tr("csv.currency"),
        i.tr("accounts.renewal"),
        i.tr("csv.health_score"),
        i.tr("csv.health_band"),
        i.tr("csv.health_trend"),
    ];
    for (n, h) in headers.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        csv_field(&mut out, h);
    }
    out.push_str("\r\n");
    loop {
        let page = state.store.list_accounts(&filter).await?;
        for a in &page.items {
            let cells = [
                a.id.to_string(),
                a.external_id.clone().unwrap_or_default(),
                a.name.clone(),
                a.owner_id
                    .and_then(|o| owners.get(&o).cloned())
                    .unwrap_or_default(),
                a.contract_value_tier
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                a.coverage_tier.as_str().to_string(),
                a.lifecycle_stage.as_str().to_string(),
                format!("{}", a.arr),
                a.currency.code().to_string(),
                a.renewal_date.map(|d| d.to_string()).unwrap_or_default(),
                a.health_score
                    .map(|s| format!("{s:.0}"))
                    .unwrap_or_default(),
                a.health_band
                    .map(|b| b.as_str().to_string())
                    .unwrap_or_default(),
                a.health_trend
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
            ];
            for (n, c) in cells.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                csv_field(&mut out, c);
            }
            out.push_str("\r\n");
        }
        match page.next_offset {
            Some(next) => filter.offset = Some(next),
            None => break,
        }
    }
    let name = format!("kizuna-accounts-{}.csv", ctx.today);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        out,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct SaveViewForm {
    name: String,
    #[serde(default)]
    query: String,
}

pub async fn save_view(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(form): Form<SaveViewForm>,
) -> WebResult<Response> {
    // Keep only what the accounts page understands, re-encoded.
    let parsed: ListQuery = serde_urlencoded::from_str(&form.query)
        .map_err(|_| WebError::Invalid(ctx.i18n.tr("views.bad_query").to_string()))?;
    let query = parsed.query_string(true);
    state
        .store
        .create_saved_view(ctx.user.id, &form.name, &query)
        .await?;
    Ok(Redirect::to(&format!("/accounts?{query}")).into_response())
}

pub async fn delete_view(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    state.store.delete_saved_view(ctx.user.id, id).await?;
    Ok(Redirect::to("/accounts").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_round_trip() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let q: ListQuery = serde_urlencoded::from_str(
            "q=%E6%A0%AA%E5%BC%8F&tier=high_touch&band=red&owner=3&renewal=90&sort=-arr&offset=50",
        )
        .unwrap();
        let f = q.filter(today);
        assert_eq!(f.q.as_deref(), Some("株式"));
        assert_eq!(f.coverage_tier, Some(CoverageTier::HighTouch));
        assert_eq!(f.health_band, Some(HealthBand::Red));
        assert_eq!(f.owner_id, Some(UserId(3)));
        assert_eq!(f.renewal_from, Some(today));
        assert_eq!(f.renewal_to, NaiveDate::from_ymd_opt(2027, 2, 20));
        assert_eq!(f.sort, Some((AccountSort::Arr, true)));
        assert_eq!(f.offset, Some(50));
        let again: ListQuery = serde_urlencoded::from_str(&q.query_string(true)).unwrap();
        assert_eq!(again.filter(today).q, f.q);
        assert_eq!(again.filter(today).sort, f.sort);
        assert_eq!(again.offset, None);
    }

    #[test]
    fn bad_values_are_ignored() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let q: ListQuery = serde_urlencoded::from_str("tier=gold&renewal=soon&sort=weird").unwrap();
        let f = q.filter(today);
        assert!(f.coverage_tier.is_none() && f.renewal_to.is_none() && f.sort.is_none());
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        let mut s = String::new();
        csv_field(&mut s, "a,\"b\"");
        assert_eq!(s, "\"a,\"\"b\"\"\"");
    }
}
