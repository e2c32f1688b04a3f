//! Customer 360: one account on one page — header figures, usage charts, contacts, contracts and
//! revenue movements, tickets, NPS, one timeline, and the form to log a touchpoint.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use kizuna_domain::account::{Account, AccountDraft, CoverageTier, LifecycleStage};
use kizuna_domain::ids::{AccountId, UserId};
use kizuna_domain::money::Currency;
use kizuna_domain::revenue::RevenueMovement;
use kizuna_domain::survey::SurveyResponse;
use kizuna_domain::ticket::Ticket;
use kizuna_domain::touchpoint::{Sentiment, TouchpointDraft, TouchpointKind};
use kizuna_domain::usage::AccountUsage;
use kizuna_domain::user::{Role, User};
use kizuna_store::UsageQuery;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

use crate::error::{WebError, WebResult};
use crate::i18n::I18n;
use crate::layout::{csrf, empty, health_badge, json_script, page, Nav, Scripts};
use crate::session::Ctx;
use crate::WebState;

/// Days of usage the charts show.
const USAGE_DAYS: i64 = 90;
/// Rows read for each list of the page (the page shows what it reads, no more).
const TICKETS: i64 = 20;
const SURVEYS: i64 = 10;
const TOUCHPOINTS: i64 = 30;
const TIMELINE: usize = 40;

/// One entry of the timeline.
struct Moment {
    at: DateTime<Utc>,
    kind: &'static str,
    title: String,
    detail: Option<String>,
    tone: &'static str,
}

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN).and_utc()
}

/// Weeks whose usage moved by at least this share against the week before are notable.
const NOTABLE_CHANGE: f64 = 0.4;
/// ... provided the week before had at least this many events (small numbers swing wildly).
const NOTABLE_MIN_EVENTS: i64 = 20;

/// Notable week-over-week changes of usage, as timeline moments, from daily activity.
fn usage_moments(
    i: I18n,
    days: &[kizuna_domain::usage::AccountDay],
    today: NaiveDate,
) -> Vec<Moment> {
    // Whole weeks ending today, oldest first.
    let mut weeks: Vec<i64> = vec![0; 13];
    for d in days {
        let age = (today - d.day).num_days();
        if (0..13 * 7).contains(&age) {
            weeks[12 - (age / 7) as usize] += d.events;
        }
    }
    let mut out = Vec::new();
    for n in 1..weeks.len() {
        let (before, after) = (weeks[n - 1], weeks[n]);
        if before < NOTABLE_MIN_EVENTS {
            continue;
        }
        let change = (after - before) as f64 / before as f64;
        if change.abs() < NOTABLE_CHANGE {
            continue;
        }
        let week_end = today - Duration::days(((12 - n) * 7) as i64);
        let percent = format!("{:.0}", change.abs() * 100.0);
        out.push(Moment {
            at: day_start(week_end),
            kind: "usage",
            title: if change < 0.0 {
                i.trf("timeline.usage_down", &[("percent", &percent)])
            } else {
                i.trf("timeline.usage_up", &[("percent", &percent)])
            },
            detail: Some(i.trf(
                "timeline.usage_weeks",
                &[("before", &i.int(before)), ("after", &i.int(after))],
            )),
            tone: if change < 0.0 { "bad" } else { "good" },
        });
    }
    out
}

/// What the timeline is made of besides touchpoints and lifecycle changes, read by the caller
/// (the page shows these lists too).
struct TimelineInputs<'a> {
    team: &'a [User],
    movements: &'a [RevenueMovement],
    tickets: &'a [Ticket],
    surveys: &'a [SurveyResponse],
    usage: &'a AccountUsage,
    currency: Currency,
}

async fn timeline(
    state: &WebState,
    i: I18n,
    account: AccountId,
    inputs: &TimelineInputs<'_>,
    today: NaiveDate,
) -> WebResult<Vec<Moment>> {
    let store = &state.store;
    let (touchpoints, lifecycle) = futures::try_join!(
        store.list_touchpoints(account, Some(TOUCHPOINTS), None),
        store.lifecycle_history(account),
    )?;
    let mut out = usage_moments(i, &inputs.usage.days, today);
    let users: HashMap<UserId, &str> = inputs
        .team
        .iter()
        .map(|u| (u.id, u.name.as_str()))
        .collect();
    for t in touchpoints.items {
        let who = t.author_id.and_then(|a| users.get(&a).copied());
        let mut detail = t.notes.clone().unwrap_or_default();
        if let Some(w) = who {
            if !detail.is_empty() {
                detail.push_str(" — ");
            }
            detail.push_str(w);
        }
        out.push(Moment {
            at: t.occurred_at,
            kind: "touchpoint",
            title: format!("{}: {}", i.label("tp_kind", t.kind.as_str()), t.subject),
            detail: (!detail.is_empty()).then_some(detail),
            tone: match t.sentiment {
                Some(Sentiment::Positive) => "good",
                Some(Sentiment::Negative) => "bad",
                _ => "neutral",
            },
        });
    }
    for l in lifecycle {
        out.push(Moment {
            at: l.changed_at,
            kind: "lifecycle",
            title: i.trf(
                "timeline.stage_changed",
                &[("stage", &i.label("stage", l.to_stage.as_str()))],
            ),
            detail: l.reason.clone(),
            tone: if l.to_stage == LifecycleStage::Churned {
                "bad"
            } else {
                "neutral"
            },
        });
    }
    let currency = inputs.currency;
    for m in inputs.movements {
        out.push(Moment {
            at: day_start(m.effective_on),
            kind: "revenue",
            title: format!(
                "{}: {}",
                i.label("movement", m.kind.as_str()),
                i.money(m.mrr_delta, currency)
            ),
            detail: Some(i.trf(
                "timeline.mrr_now",
                &[("mrr", &i.money(m.mrr_after, currency))],
            )),
            tone: if m.mrr_delta < 0.0 { "bad" } else { "good" },
        });
    }
    for t in inputs.tickets {
        out.push(Moment {
            at: t.opened_at,
            kind: "ticket",
            title: i.trf("timeline.ticket", &[("subject", &t.subject)]),
            detail: Some(format!(
                "{} · {}",
                i.label("severity", t.severity.as_str()),
                i.label("ticket_status", t.status.as_str())
            )),
            tone: "neutral",
        });
    }
    for s in inputs.surveys {
        out.push(Moment {
            at: s.responded_at,
            kind: "nps",
            title: i.trf("timeline.nps", &[("score", &s.score.value().to_string())]),
            detail: s.comment.clone(),
            tone: match s.score.value() {
                9..=10 => "good",
                0..=6 => "bad",
                _ => "neutral",
            },
        });
    }
    out.sort_by_key(|m| std::cmp::Reverse(m.at));
    out.truncate(TIMELINE);
    Ok(out)
}

fn timeline_markup(i: I18n, moments: &[Moment], flash: Option<&str>) -> Markup {
    html! {
        section.card #timeline {
            h2 { (i.tr("account.timeline")) }
            @if let Some(f) = flash { p.flash.ok role="status" { (f) } }
            @if moments.is_empty() {
                (empty(i, "account.timeline_empty", "account.timeline_empty_hint"))
            } @else {
                ol.timeline {
                    @for m in moments {
                        li class=(format!("moment kind-{} tone-{}", m.kind, m.tone)) {
                            span.when { (i.date(m.at.date_naive())) }
                            span.kind { (i.label("moment", m.kind)) }
                            span.what { (m.title) }
                            @if let Some(d) = &m.detail { span.detail { (d) } }
                        }
                    }
                }
            }
        }
    }
}

/// The chart data: events per day per feature and per module, active users per day, seats.
fn usage_json(
    i: I18n,
    usage: &AccountUsage,
    features: &HashMap<String, (String, Option<String>)>,
    seats: i64,
) -> serde_json::Value {
    let days: Vec<NaiveDate> = usage
        .from
        .iter_days()
        .take_while(|d| *d <= usage.to)
        .collect();
    let index: HashMap<NaiveDate, usize> = days.iter().enumerate().map(|(n, d)| (*d, n)).collect();
    let mut by_feature: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut by_module: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for f in &usage.features {
        let Some(&n) = index.get(&f.day) else {
            continue;
        };
        let (name, module) = features
            .get(&f.feature)
            .cloned()
            .unwrap_or_else(|| (f.feature.clone(), None));
        by_feature
            .entry(name)
            .or_insert_with(|| vec![0; days.len()])[n] += f.events;
        let module = module.unwrap_or_else(|| i.tr("account.no_module").to_string());
        by_module
            .entry(module)
            .or_insert_with(|| vec![0; days.len()])[n] += f.events;
    }
    let mut active = vec![0; days.len()];
    for d in &usage.days {
        if let Some(&n) = index.get(&d.day) {
            active[n] = d.active_users;
        }
    }
    let series = |m: BTreeMap<String, Vec<i64>>| -> Vec<serde_json::Value> {
        m.into_iter()
            .map(|(name, data)| json!({"name": name, "data": data}))
            .collect()
    };
    json!({
        "days": days.iter().map(|d| i.date(*d)).collect::<Vec<_>>(),
        "features": series(by_feature),
        "modules": series(by_module),
        "active_users": active,
        "seats": seats,
        "labels": {
            "events": i.tr("chart.events"),
            "users": i.tr("chart.users"),
            "active_users": i.tr("chart.active_users"),
            "seats": i.tr("chart.seats"),
        }
    })
}

fn touchpoint_form(ctx: &Ctx, account: &Account) -> Markup {
    let i = ctx.i18n;
    html! {
        section.card #log {
            h2 { (i.tr("touchpoint.title")) }
            form.stack hx-post=(format!("/accounts/{}/touchpoints", account.id)) hx-target="#timeline" hx-swap="outerHTML"
                method="post" action=(format!("/accounts/{}/touchpoints", account.id))
                data-reset-on-success {
                (csrf(ctx))
                div.row {
                    label { (i.tr("touchpoint.kind"))
                        select name="kind" {
                            @for k in TouchpointKind::ALL {
                                option value=(k.as_str()) selected[*k == TouchpointKind::Note] { (i.label("tp_kind", k.as_str())) }
                            }
                        }
                    }
                    label { (i.tr("touchpoint.date"))
                        input type="date" name="date" value=(ctx.today.to_string()) required;
                    }
                    label { (i.tr("touchpoint.duration"))
                        input type="number" name="duration_minutes" min="0" max="1440" value="30";
                    }
                    label { (i.tr("touchpoint.sentiment"))
                        select name="sentiment" {
                            option value="" { "—" }
                            @for s in Sentiment::ALL { option value=(s.as_str()) { (i.label("sentiment", s.as_str())) } }
                        }
                    }
                }
                label { (i.tr("touchpoint.subject"))
                    input type="text" name="subject" required maxlength="500";
                }
                label { (i.tr("touchpoint.notes"))
                    textarea name="notes" rows="3" {}
                }
                button type="submit" { (i.tr("touchpoint.submit")) }
            }
        }
    }
}

fn edit_form(ctx: &Ctx, account: &Account, owners: &[kizuna_domain::user::User]) -> Markup {
    let i = ctx.i18n;
    let may_reassign = matches!(ctx.user.role, Role::Admin | Role::Manager);
    html! {
        section.card #edit {
            h2 { (i.tr("account.edit")) }
            form.row method="post" action=(format!("/accounts/{}", account.id)) {
                (csrf(ctx))
                label { (i.tr("accounts.stage"))
                    select name="lifecycle_stage" {
                        @for st in LifecycleStage::ALL { option value=(st.as_str()) selected[*st == account.lifecycle_stage] { (i.label("stage", st.as_str())) } }
                    }
                }
                label.grow { (i.tr("account.stage_reason"))
                    input type="text" name="stage_reason" maxlength="500";
                }
                label { (i.tr("accounts.tier"))
                    select name="coverage_tier" {
                        @for t in CoverageTier::ALL { option value=(t.as_str()) selected[*t == account.coverage_tier] { (i.label("tier", t.as_str())) } }
                    }
                }
                @if may_reassign {
                    label { (i.tr("accounts.owner"))
                        select name="owner" {
                            option value="" { (i.tr("accounts.unowned")) }
                            @for u in owners.iter().filter(|u| u.active && u.role != Role::Viewer) {
                                option value=(u.id.to_string()) selected[Some(u.id) == account.owner_id] { (u.name) }
                            }
                        }
                    }
                }
                button type="submit" { (i.tr("settings.save")) }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct AccountForm {
    lifecycle_stage: String,
    #[serde(default)]
    stage_reason: String,
    coverage_tier: String,
    /// Only admins and managers send it; a CSM does not hand accounts over.
    owner: Option<String>,
}

/// Changes an account's stage (with the reason, kept in its lifecycle history), coverage tier
/// and, for admins and managers, its owner.
pub async fn update_account(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<AccountForm>,
) -> WebResult<Response> {
    let id = AccountId(id);
    let account = state.store.account(id).await?;
    ctx.require_edit(&account)?;
    let bad = |_| WebError::Invalid(ctx.i18n.tr("account.bad_value").to_string());
    let stage: LifecycleStage = form.lifecycle_stage.parse().map_err(bad)?;
    let tier: CoverageTier = form.coverage_tier.parse().map_err(bad)?;
    let mut draft = AccountDraft {
        lifecycle_stage: Some(stage),
        coverage_tier: Some(tier),
        stage_reason: Some(form.stage_reason.trim().to_string()).filter(|r| !r.is_empty()),
        ..Default::default()
    };
    if let Some(owner) = form.owner.as_deref() {
        if !matches!(ctx.user.role, Role::Admin | Role::Manager) {
            return Err(WebError::Forbidden);
        }
        match owner {
            "" => {
                if account.owner_id.is_some() {
                    // Clearing an owner is not expressible as an overlay; keep the current one.
                    return Err(WebError::Invalid(
                        ctx.i18n.tr("account.owner_required").to_string(),
                    ));
                }
            }
            o => {
                draft.owner_id = Some(UserId(o.parse().map_err(|_| {
                    WebError::Invalid(ctx.i18n.tr("account.bad_value").to_string())
                })?))
            }
        }
    }
    state.store.update_account(id, draft, &ctx.actor()).await?;
    Ok(axum::response::Redirect::to(&format!("/accounts/{id}")).into_response())
}

pub async fn page_handler(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let id = AccountId(id);
    let store = &state.store;
    let from = ctx.today - Duration::days(USAGE_DAYS - 1);
    let usage_query = UsageQuery {
        from,
        to: ctx.today,
        feature: None,
    };
    // Independent reads, side by side on the pool.
    let (detail, team, usage, catalogue, movements, tickets, surveys) = futures::try_join!(
        store.account_detail(id, ctx.today),
        store.list_users(),
        store.account_usage(id, &usage_query),
        store.list_features(),
        store.list_revenue_movements(id),
        store.list_tickets(id, Some(TICKETS), None),
        store.list_survey_responses(id, Some(SURVEYS), None),
    )?;
    let task_filter = kizuna_store::automation::TaskFilter {
        account_id: Some(id.0),
        limit: Some(20),
        ..Default::default()
    };
    let (tasks, runs, playbooks, journeys, champions) = futures::try_join!(
        store.list_tasks(&task_filter, ctx.today),
        store.playbook_runs(Some(id.0), None, Some("active")),
        store.list_playbooks(),
        store.account_journeys(id),
        store.account_champions(id, ctx.today),
    )?;
    let a = &detail.account;
    let owner = a
        .owner_id
        .and_then(|o| team.iter().find(|u| u.id == o))
        .map(|u| u.name.clone());
    let features: HashMap<String, (String, Option<String>)> = catalogue
        .iter()
        .map(|f| (f.key.clone(), (f.display_name.clone(), f.module.clone())))
        .collect();
    // Adoption: key features used in the last 30 days out of all key features.
    let key_features: BTreeSet<&str> = catalogue
        .iter()
        .filter(|f| f.is_key)
        .map(|f| f.key.as_str())
        .collect();
    let recent = ctx.today - Duration::days(29);
    let used_key: BTreeSet<&str> = usage
        .features
        .iter()
        .filter(|f| f.day >= recent && f.events > 0 && key_features.contains(f.feature.as_str()))
        .map(|f| f.feature.as_str())
        .collect();
    let latest_active = usage.days.last().map(|d| d.active_users);
    let moments = timeline(
        &state,
        i,
        id,
        &TimelineInputs {
            team: &team,
            movements: &movements,
            tickets: &tickets.items,
            surveys: &surveys.items,
            usage: &usage,
            currency: a.currency,
        },
        ctx.today,
    )
    .await?;
    let chart = usage_json(i, &usage, &features, a.seats);
    let has_usage = !usage.features.is_empty() || !usage.days.is_empty();
    let can_edit = ctx.can_edit(a);

    let body = html! {
        nav.crumbs { a href="/accounts" { (i.tr("nav.accounts")) } " / " }
        header.account-head {
            div.title {
                h1 { (a.name) }
                p.muted {
                    @if let Some(d) = &a.domain { (d) " · " }
                    @if let Some(ind) = &a.industry { (ind) " · " }
                    (i.label("tier", a.coverage_tier.as_str()))
                    @if let Some(s) = a.contract_value_tier { " · " (i.label("segment", s.as_str())) }
                }
            }
            dl.kpis {
                div { dt { (i.tr("accounts.health")) } dd {
                    a #health-link href=(format!("/accounts/{}/health", a.id)) title=(i.tr("health.explain")) { (health_badge(i, a)) }
                    " " a.small href=(format!("/accounts/{}/health", a.id)) { (i.tr("health.explain")) }
                    br; a.small #reviews-link href=(format!("/accounts/{}/reviews", a.id)) { (i.tr("review.list")) }
                } }
                div { dt { (i.tr("accounts.arr")) } dd.big { (i.money(a.arr, a.currency)) } }
                div { dt { (i.tr("accounts.renewal")) } dd {
                    (i.opt_date(a.renewal_date))
                    @if let Some(n) = detail.days_to_renewal {
                        br; span class=(if n < 0 { "muted bad" } else if n <= 90 { "muted warn" } else { "muted" }) {
                            @if n >= 0 { (i.trf("account.days_left", &[("n", &i.int(n))])) } @else { (i.trf("account.days_overdue", &[("n", &i.int(-n))])) }
                        }
                    }
                } }
                div { dt { (i.tr("accounts.stage")) } dd { (i.label("stage", a.lifecycle_stage.as_str())) } }
                div { dt { (i.tr("accounts.owner")) } dd { @match &owner { Some(o) => (o), None => span.muted { (i.tr("accounts.unowned")) } } } }
                div { dt { (i.tr("account.seats")) } dd {
                    @match latest_active { Some(n) => (i.trf("account.active_of_seats", &[("active", &i.int(n)), ("seats", &i.int(a.seats))])), None => (i.int(a.seats)) }
                } }
                div { dt { (i.tr("account.adoption")) } dd {
                    @if key_features.is_empty() { span.muted { "—" } }
                    @else { (i.trf("account.adoption_value", &[("used", &i.int(used_key.len() as i64)), ("total", &i.int(key_features.len() as i64))])) }
                } }
            }
        }
        @if !can_edit {
            p.flash.info { (i.tr("account.read_only")) }
        }
        section.card {
            h2 { (i.tr("account.usage")) }
            @if has_usage {
                div.chart-tools {
                    button.secondary.small type="button" data-usage-by="features" aria-pressed="true" { (i.tr("chart.by_feature")) }
                    button.secondary.small type="button" data-usage-by="modules" aria-pressed="false" { (i.tr("chart.by_module")) }
                }
                div.chart #usage-chart role="img" aria-label=(i.tr("account.usage")) {}
                h3 { (i.tr("chart.active_vs_seats")) }
                div.chart.short #users-chart role="img" aria-label=(i.tr("chart.active_vs_seats")) {}
                (json_script("usage-data", &chart))
            } @else {
                (empty(i, "account.usage_empty", "account.usage_empty_hint"))
            }
        }
        @if !journeys.is_empty() {
            section.card #journey {
                h2 { (i.tr("account.journey")) }
                @for j in &journeys {
                    h3 {
                        (j.name) " "
                        span class=(format!("tag journey-{}", j.progress.status)) { (i.label("journey_status", j.progress.status.as_str())) }
                        " " span.muted.small { (i.trf("account.journey_done", &[("done", &j.progress.completed.to_string()), ("total", &j.progress.total.to_string()), ("since", &i.date(j.progress.started_on))])) }
                    }
                    ol.milestones {
                        @for m in &j.progress.milestones {
                            li class=(format!("milestone-{}", m.status)) {
                                span class=(format!("tag journey-{}", m.status)) { (i.label("journey_status", m.status.as_str())) } " "
                                (m.name) " "
                                span.muted.small {
                                    @match m.completed_on {
                                        Some(d) => (i.trf("account.milestone_done", &[("date", &i.date(d))])),
                                        None => (i.trf("account.milestone_due", &[("date", &i.date(m.due_on))])),
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card #tasks {
            h2 { (i.tr("tasks.account_tasks")) }
            @if tasks.items.is_empty() {
                (empty(i, "tasks.account_empty", "tasks.account_empty_hint"))
            } @else {
                (crate::automation::task_table(&ctx, &tasks.items, false, &format!("/accounts/{}#tasks", a.id), Some(&team)))
            }
            @if !runs.is_empty() {
                h3 { (i.tr("tasks.running")) }
                ul.runs {
                    @for r in &runs {
                        li {
                            (r.playbook_name) " "
                            progress value=(r.completed_steps) max=(r.total_steps.max(1)) {}
                            " " (r.completed_steps) " / " (r.total_steps)
                            " " span.muted { (i.date(r.started_on)) }
                        }
                    }
                }
            }
            @if can_edit && !playbooks.is_empty() {
                form.inline method="post" action=(format!("/accounts/{}/playbooks", a.id)) {
                    (csrf(&ctx))
                    label { (i.tr("tasks.start_playbook")) " "
                        select name="playbook_id" {
                            @for p in &playbooks {
                                option value=(p.id) { (match (i.locale, &p.spec.name_ja) { (kizuna_domain::user::Locale::Ja, Some(n)) => n.as_str(), _ => p.spec.name.as_str() }) }
                            }
                        }
                    }
                    button.secondary type="submit" { (i.tr("tasks.start")) }
                }
            }
        }
        div.columns {
            div {
                @if can_edit { (touchpoint_form(&ctx, a)) (edit_form(&ctx, a, &team)) }
                (timeline_markup(i, &moments, None))
            }
            div {
                (champions_card(i, &champions))
                section.card {
                    h2 { (i.tr("account.contacts")) }
                    @if detail.contacts.is_empty() {
                        (empty(i, "account.contacts_empty", "account.contacts_empty_hint"))
                    } @else {
                        table.list {
                            thead { tr { th { (i.tr("contact.name")) } th { (i.tr("contact.title")) } th { (i.tr("contact.roles")) } } }
                            tbody {
                                @for c in &detail.contacts {
                                    @let champion = c.roles.contains(&kizuna_domain::contact::ContactRole::Champion);
                                    tr.left[c.left_at.is_some()] {
                                        td {
                                            @if champion { span.champion title=(i.label("contact_role", "champion")) { "★ " } }
                                            (c.name.as_deref().unwrap_or("—"))
                                            @if let Some(e) = &c.email { br; span.muted.small { (e.as_str()) } }
                                        }
                                        td { (c.title.as_deref().unwrap_or("—")) }
                                        td {
                                            @for r in &c.roles { span.tag.role-tag[*r == kizuna_domain::contact::ContactRole::Champion] { (i.label("contact_role", r.as_str())) } " " }
                                            @if c.left_at.is_some() { span.tag.gone { (i.tr("contact.left")) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                section.card {
                    h2 { (i.tr("account.subscriptions")) }
                    @if detail.subscriptions.is_empty() {
                        (empty(i, "account.subscriptions_empty", "account.subscriptions_empty_hint"))
                    } @else {
                        table.list {
                            thead { tr { th { (i.tr("subscription.product")) } th.num { (i.tr("subscription.mrr")) } th.num { (i.tr("account.seats")) } th { (i.tr("subscription.term")) } th { (i.tr("subscription.status")) } } }
                            tbody {
                                @for s in detail.subscriptions.iter().rev() {
                                    tr {
                                        td { (s.product) @if let Some(p) = &s.plan { " · " (p) } }
                                        td.num { (i.money(s.mrr, s.currency)) }
                                        td.num { (i.int(s.seats)) }
                                        td { (i.date(s.start_date)) " – " (i.date(s.end_date)) }
                                        td { (i.label("sub_status", s.status.as_str())) }
                                    }
                                }
                            }
                        }
                    }
                    h3 { (i.tr("account.movements")) }
                    @if movements.is_empty() {
                        p.muted { (i.tr("account.movements_empty")) }
                    } @else {
                        table.list {
                            thead { tr { th { (i.tr("movement.date")) } th { (i.tr("movement.kind")) } th.num { (i.tr("movement.delta")) } th.num { (i.tr("movement.after")) } } }
                            tbody {
                                @for m in movements.iter().rev() {
                                    tr {
                                        td { (i.date(m.effective_on)) }
                                        td { span class=(format!("tag mv-{}", m.kind)) { (i.label("movement", m.kind.as_str())) } }
                                        td.num { (i.money(m.mrr_delta, a.currency)) }
                                        td.num { (i.money(m.mrr_after, a.currency)) }
                                    }
                                }
                            }
                        }
                    }
                }
                section.card {
                    h2 { (i.tr("account.tickets")) }
                    @if tickets.items.is_empty() {
                        p.muted { (i.tr("account.tickets_empty")) }
                    } @else {
                        table.list {
                            thead { tr { th { (i.tr("ticket.subject")) } th { (i.tr("ticket.severity")) } th { (i.tr("ticket.status")) } th { (i.tr("ticket.opened")) } } }
                            tbody {
                                @for t in &tickets.items {
                                    tr {
                                        td { (t.subject) }
                                        td { span class=(format!("tag sev-{}", t.severity)) { (i.label("severity", t.severity.as_str())) } }
                                        td { (i.label("ticket_status", t.status.as_str())) }
                                        td { (i.date(t.opened_at.date_naive())) }
                                    }
                                }
                            }
                        }
                        @if tickets.total > TICKETS { p.muted { (i.trf("list.more", &[("n", &i.int(tickets.total - TICKETS))])) } }
                    }
                }
                section.card {
                    h2 { (i.tr("account.nps")) }
                    @if surveys.items.is_empty() {
                        p.muted { (i.tr("account.nps_empty")) }
                    } @else {
                        ul.nps {
                            @for s in &surveys.items {
                                li {
                                    span class=(format!("npsscore nps-{}", s.category)) { (s.score.value()) }
                                    " " span.muted { (i.date(s.responded_at.date_naive())) " · " (i.label("nps", s.category.as_str())) }
                                    @if let Some(c) = &s.comment { br; q { (c) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let scripts = if has_usage {
        Scripts::Charts
    } else {
        Scripts::Basic
    };
    Ok(page(&ctx, &a.name, Nav::Accounts, scripts, body))
}

#[derive(Debug, Deserialize)]
pub struct TouchpointForm {
    kind: String,
    subject: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    sentiment: String,
    date: String,
    #[serde(default)]
    duration_minutes: String,
}

/// Logs a touchpoint or a note; answers with the refreshed timeline (htmx) or the page again.
/// The account's contacts ranked as champions (the first eight), with why.
fn champions_card(i: I18n, scores: &[kizuna_domain::champion::ChampionScore]) -> Markup {
    html! {
        section.card #champions {
            h2 { (i.tr("champion.title")) }
            p.muted.small { (i.tr("champion.intro")) }
            @if scores.is_empty() {
                (empty(i, "champion.empty", "champion.empty_hint"))
            } @else {
                table.list {
                    thead { tr {
                        th { (i.tr("contact.name")) } th.num { (i.tr("champion.score")) } th.num { (i.tr("champion.usage")) }
                        th { (i.tr("champion.last_active")) } th.num { (i.tr("champion.touchpoints")) }
                    } }
                    tbody {
                        @for c in scores.iter().take(8) {
                            tr.left[c.status == kizuna_domain::champion::ChampionStatus::Left] {
                                td {
                                    (c.name.as_deref().or(c.email.as_deref()).unwrap_or("—"))
                                    @if c.tagged { " " span.tag.role-tag { "★ " (i.tr("champion.tagged")) } }
                                    @if c.suggested { " " span.tag.suggested { (i.tr("champion.suggested")) } }
                                    @if c.is_champion() || c.status == kizuna_domain::champion::ChampionStatus::Left {
                                        " " span class=(format!("tag status-{}", c.status.as_str())) { (i.label("champion_status", c.status.as_str())) }
                                    }
                                    @if let Some(t) = &c.title { br; span.muted.small { (t) } }
                                }
                                td.num { strong { (i.decimal(c.score, 0)) } }
                                td.num { (i.int(c.events_90d)) }
                                td { @match c.last_active { Some(d) => (i.date(d)), None => span.muted { (i.tr("champion.never")) } } }
                                td.num { (i.int(c.touchpoints_180d)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn log_touchpoint(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: axum::http::HeaderMap,
    Form(form): Form<TouchpointForm>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let id = AccountId(id);
    let account = state.store.account(id).await?;
    ctx.require_edit(&account)?;
    let kind: TouchpointKind = form
        .kind
        .parse()
        .map_err(|_| WebError::Invalid(i.tr("touchpoint.bad_kind").to_string()))?;
    let date = NaiveDate::parse_from_str(form.date.trim(), "%Y-%m-%d")
        .map_err(|_| WebError::Invalid(i.tr("touchpoint.bad_date").to_string()))?;
    let duration = match form.duration_minutes.trim() {
        "" => None,
        d => Some(
            d.parse::<i64>()
                .map_err(|_| WebError::Invalid(i.tr("touchpoint.bad_duration").to_string()))?,
        ),
    };
    // A touchpoint logged for today keeps the time it was logged; another day gets noon UTC.
    let occurred_at = if date == ctx.today {
        Utc::now()
    } else {
        date.and_hms_opt(12, 0, 0).unwrap_or_default().and_utc()
    };
    let draft = TouchpointDraft {
        kind: Some(kind),
        subject: Some(form.subject.trim().to_string()),
        notes: Some(form.notes.trim().to_string()).filter(|n| !n.is_empty()),
        sentiment: form.sentiment.parse::<Sentiment>().ok(),
        occurred_at: Some(occurred_at),
        duration_minutes: duration,
        author_id: Some(ctx.user.id),
        ..Default::default()
    };
    state
        .store
        .create_touchpoint(Some(id), draft, &ctx.actor())
        .await?;
    if headers.contains_key("hx-request") {
        let store = &state.store;
        let usage_query = UsageQuery {
            from: ctx.today - Duration::days(USAGE_DAYS - 1),
            to: ctx.today,
            feature: None,
        };
        let (team, usage, movements, tickets, surveys) = futures::try_join!(
            store.list_users(),
            store.account_usage(id, &usage_query),
            store.list_revenue_movements(id),
            store.list_tickets(id, Some(TICKETS), None),
            store.list_survey_responses(id, Some(SURVEYS), None),
        )?;
        let inputs = TimelineInputs {
            team: &team,
            movements: &movements,
            tickets: &tickets.items,
            surveys: &surveys.items,
            usage: &usage,
            currency: account.currency,
        };
        let moments = timeline(&state, i, id, &inputs, ctx.today).await?;
        return Ok(Html(
            timeline_markup(i, &moments, Some(i.tr("touchpoint.saved"))).into_string(),
        )
        .into_response());
    }
    Ok(axum::response::Redirect::to(&format!("/accounts/{id}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kizuna_domain::usage::AccountDay;
    use kizuna_domain::user::Locale;

    fn weeks_of(events_per_week: &[i64], today: NaiveDate) -> Vec<AccountDay> {
        // Oldest week first; all of a week's events on its last day.
        let n = events_per_week.len() as i64;
        events_per_week
            .iter()
            .enumerate()
            .map(|(k, events)| AccountDay {
                day: today - Duration::days((n - 1 - k as i64) * 7),
                events: *events,
                active_users: 1,
            })
            .collect()
    }

    #[test]
    fn only_large_weekly_changes_of_enough_usage_are_notable() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let i = I18n::new(Locale::En);
        let check = |weeks: &[i64], expected: &[&str]| {
            let got: Vec<String> = usage_moments(i, &weeks_of(weeks, today), today)
                .into_iter()
                .map(|m| m.title)
                .collect();
            assert_eq!(got, expected, "{weeks:?}");
        };
        check(&[100, 100, 100], &[]);
        check(&[100, 50], &["Usage down 50% on the week before"]);
        check(&[100, 61], &[]);
        check(&[100, 150], &["Usage up 50% on the week before"]);
        check(&[10, 1], &[]);
        check(&[0, 500], &[]);
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct StartPlaybookForm {
    pub playbook_id: i64,
}

/// Starts a playbook for the account (a CSM on their own accounts, managers and admins on all).
pub async fn start_playbook(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<StartPlaybookForm>,
) -> WebResult<Response> {
    let account = state.store.account(AccountId(id)).await?;
    ctx.require_edit(&account)?;
    state
        .store
        .start_playbook(f.playbook_id, id, ctx.today, &ctx.actor())
        .await?;
    Ok(axum::response::Redirect::to(&format!("/accounts/{id}#tasks")).into_response())
}
