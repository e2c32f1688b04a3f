//! The task cockpit, the automation pages (rules with their editor and preview, playbooks and
//! runs, e-mail templates and the send log, webhooks, the scheduler's jobs, NPS results and
//! sends) and the public pages a customer reaches from an e-mail: the NPS answer page and the
//! unsubscribe page, both behind signed links.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use kizuna_domain::automation::{
    Reason, RuleSpec, TaskKind, TaskOutcome, TaskPriority, TaskStatus,
};
use kizuna_domain::template::{verify, EmailTemplateSpec};
use kizuna_domain::user::{Locale, Role};
use kizuna_store::automation::{EmailFilter, NpsSelection, Task, TaskFilter, TaskPatch};
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::{WebError, WebResult};
use crate::i18n::I18n;
use crate::layout::{bare_page, csrf, empty, json_script, page, Nav, Scripts};
use crate::session::{Ctx, RequestLocale};
use crate::WebState;

const TASK_ROWS: i64 = 50;

fn task_title(i: I18n, t: &Task) -> &str {
    match (i.locale, &t.title_ja) {
        (Locale::Ja, Some(ja)) => ja,
        _ => &t.title,
    }
}

/// Whether the signed-in user may change a task: admins and managers all, a CSM their own.
fn can_change(ctx: &Ctx, t: &Task) -> bool {
    match ctx.user.role {
        Role::Admin | Role::Manager => true,
        Role::Csm => t.owner_id == Some(ctx.user.id.0),
        Role::Viewer => false,
    }
}

/// A table of tasks with their actions; shared by the cockpit, the portfolio and Customer 360.
/// With `team`, managers and admins can hand a task to someone else.
pub fn task_table(
    ctx: &Ctx,
    tasks: &[Task],
    show_account: bool,
    back: &str,
    team: Option<&[kizuna_domain::user::User]>,
) -> Markup {
    let can_assign = ctx.can_manage();
    let i = ctx.i18n;
    html! {
        table.list.tasks {
            thead { tr {
                th { (i.tr("tasks.due")) }
                @if show_account { th { (i.tr("accounts.name")) } }
                th { (i.tr("tasks.title_col")) }
                th { (i.tr("tasks.kind")) }
                th { (i.tr("tasks.priority")) }
                th { (i.tr("tasks.reason")) }
                th { (i.tr("tasks.owner")) }
                th { (i.tr("tasks.actions")) }
            } }
            tbody {
                @for t in tasks {
                    @let overdue = t.status != TaskStatus::Closed && t.due_on.is_some_and(|d| d < ctx.today);
                    tr.overdue[overdue] {
                        td {
                            (i.opt_date(t.due_on))
                            @if overdue { " " span.tag.red { (i.tr("tasks.overdue")) } }
                        }
                        @if show_account { td { a href=(format!("/accounts/{}", t.account_id)) { (t.account_name) } } }
                        td {
                            (task_title(i, t))
                            @if let Some(values) = t.evidence.get("values").and_then(|v| v.as_object()) {
                                @if !values.is_empty() {
                                    div.muted.small {
                                        @for (k, v) in values { code { (k) "=" (v) } " " }
                                    }
                                }
                            }
                        }
                        td { (i.label("task_kind", t.kind.as_str())) }
                        td { span class=(format!("tag prio-{}", t.priority)) { (i.label("priority", t.priority.as_str())) } }
                        td { (i.label("reason", t.reason.as_str())) }
                        td { (t.owner_name.as_deref().unwrap_or("—")) }
                        td {
                            @if t.status == TaskStatus::Closed {
                                (t.outcome.map(|o| i.label("outcome", o.as_str())).unwrap_or_default())
                            } @else if can_change(ctx, t) {
                                details.actions {
                                    summary { (i.tr("tasks.act")) }
                                    form.inline method="post" action=(format!("/tasks/{}", t.id)) {
                                        (csrf(ctx))
                                        input type="hidden" name="back" value=(back);
                                        input type="hidden" name="action" value="close";
                                        select name="outcome" aria-label=(i.tr("tasks.outcome")) {
                                            @for o in TaskOutcome::ALL { option value=(o.as_str()) { (i.label("outcome", o.as_str())) } }
                                        }
                                        button type="submit" { (i.tr("tasks.close")) }
                                    }
                                    form.inline method="post" action=(format!("/tasks/{}", t.id)) {
                                        (csrf(ctx))
                                        input type="hidden" name="back" value=(back);
                                        input type="hidden" name="action" value="snooze";
                                        input type="date" name="until" required aria-label=(i.tr("tasks.snooze_until")) min=((ctx.today + chrono::Duration::days(1)).to_string());
                                        button.secondary type="submit" { (i.tr("tasks.snooze")) }
                                    }
                                    @if let (true, Some(team)) = (can_assign, team) {
                                        form.inline method="post" action=(format!("/tasks/{}", t.id)) {
                                            (csrf(ctx))
                                            input type="hidden" name="back" value=(back);
                                            input type="hidden" name="action" value="assign";
                                            select name="owner_id" aria-label=(i.tr("tasks.owner")) {
                                                @for u in team.iter().filter(|u| u.active && u.role != Role::Viewer) {
                                                    option value=(u.id.0) selected[t.owner_id == Some(u.id.0)] { (u.name) }
                                                }
                                            }
                                            button.secondary type="submit" { (i.tr("tasks.assign")) }
                                        }
                                    }
                                }
                            } @else {
                                span.muted { (i.label("task_status", t.status.as_str())) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct TaskQuery {
    /// `mine` or `all`.
    pub scope: Option<String>,
    /// `open`, `overdue`, `snoozed`, `closed`.
    pub view: Option<String>,
    pub kind: Option<String>,
    pub offset: Option<i64>,
}

pub async fn tasks_page(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(q): Query<TaskQuery>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let default_scope = if ctx.user.role == Role::Csm {
        "mine"
    } else {
        "all"
    };
    let scope = q.scope.as_deref().unwrap_or(default_scope);
    let view = q.view.as_deref().unwrap_or("open");
    let kind: Option<TaskKind> = q
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .and_then(|k| k.parse().ok());
    let filter = TaskFilter {
        owner_id: (scope == "mine").then_some(ctx.user.id.0),
        status: Some(match view {
            "overdue" => "open".into(),
            v @ ("snoozed" | "closed") => v.into(),
            _ => "open".into(),
        }),
        overdue: view == "overdue",
        kind,
        limit: Some(TASK_ROWS),
        offset: q.offset,
        ..Default::default()
    };
    let (tasks, summary, team) = futures::try_join!(
        state.store.list_tasks(&filter, ctx.today),
        state.store.task_summary(ctx.today),
        state.store.list_users(),
    )?;
    let base = format!(
        "scope={scope}&view={view}&kind={}",
        kind.map(|k| k.as_str()).unwrap_or("")
    );
    let back = format!("/tasks?{base}");
    let offset = q.offset.unwrap_or(0).max(0);
    let body = html! {
        h1 { (i.tr("tasks.title")) }
        nav.tabs {
            @for (v, key) in [("open", "tasks.view_open"), ("overdue", "tasks.view_overdue"), ("snoozed", "tasks.view_snoozed"), ("closed", "tasks.view_closed")] {
                a href=(format!("/tasks?scope={scope}&view={v}")) .current[view == v] { (i.tr(key)) }
            }
            a href="/tasks/coverage" { (i.tr("tasks.coverage_tab")) }
        }
        form.filters method="get" action="/tasks" {
            input type="hidden" name="view" value=(view);
            label { (i.tr("tasks.scope"))
                select name="scope" data-autosubmit {
                    option value="mine" selected[scope == "mine"] { (i.tr("tasks.scope_mine")) }
                    option value="all" selected[scope == "all"] { (i.tr("tasks.scope_all")) }
                }
            }
            label { (i.tr("tasks.kind"))
                select name="kind" data-autosubmit {
                    option value="" { (i.tr("filter.any")) }
                    @for k in TaskKind::ALL { option value=(k.as_str()) selected[kind == Some(*k)] { (i.label("task_kind", k.as_str())) } }
                }
            }
            noscript { button type="submit" { (i.tr("filter.apply")) } }
        }
        @if tasks.items.is_empty() {
            (empty(i, "tasks.empty", "tasks.empty_hint"))
        } @else {
            (task_table(&ctx, &tasks.items, true, &back, Some(&team)))
            (pager_for("/tasks", i, &base, offset, TASK_ROWS, tasks.total))
        }
        @if ctx.user.role != Role::Csm && !summary.is_empty() {
            section.card {
                h2 { (i.tr("tasks.by_owner")) }
                table.list {
                    thead { tr { th { (i.tr("tasks.owner")) } th.num { (i.tr("tasks.open")) } th.num { (i.tr("tasks.view_overdue")) } th.num { (i.label("task_kind", "risk")) } th.num { (i.label("task_kind", "opportunity")) } } }
                    tbody {
                        @for s in &summary {
                            tr {
                                td { (s.owner_name.as_deref().unwrap_or_else(|| i.tr("tasks.unowned"))) }
                                td.num { (i.int(s.open)) }
                                td.num { (i.int(s.overdue)) }
                                td.num { (i.int(s.risk)) }
                                td.num { (i.int(s.opportunity)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        &ctx,
        i.tr("tasks.title"),
        Nav::Tasks,
        Scripts::Basic,
        body,
    ))
}

/// Engagement coverage per CSM: accounts on their tier's cadence, overdue engagements, and the
/// time spent in touchpoints over 90 days.
pub async fn coverage_page(State(state): State<WebState>, ctx: Ctx) -> WebResult<Response> {
    let i = ctx.i18n;
    // The last cadence pass's figures (it runs daily); computed now when there is none yet.
    let snapshot = match state.store.coverage_snapshot().await? {
        Some(s) => s,
        None => kizuna_store::automation::CoverageSnapshot {
            computed_at: chrono::Utc::now(),
            rows: state.store.engagement_coverage(ctx.today).await?,
        },
    };
    let coverage = snapshot.rows;
    let cadence = state.store.cadence().await?;
    let cadence_text = serde_json::to_string_pretty(&cadence).unwrap_or_default();
    let body = html! {
        h1 { (i.tr("tasks.title")) }
        nav.tabs {
            a href="/tasks" { (i.tr("tasks.view_open")) }
            a href="/tasks/coverage" .current { (i.tr("tasks.coverage_tab")) }
        }
        section.card #coverage {
            h2 { (i.tr("tasks.coverage")) }
            p.muted { (i.tr("tasks.coverage_hint")) " " (i.trf("tasks.as_of", &[("time", &i.datetime(snapshot.computed_at))])) }
            @if coverage.is_empty() {
                (empty(i, "tasks.coverage_empty", "tasks.coverage_empty_hint"))
            } @else {
                table.list {
                    thead { tr {
                        th { (i.tr("tasks.owner")) }
                        th.num { (i.tr("tasks.accounts")) }
                        th.num { (i.tr("tasks.covered")) }
                        th.num { (i.tr("tasks.overdue_engagements")) }
                        th.num { (i.tr("tasks.touchpoints_90d")) }
                        th.num { (i.tr("tasks.hours_90d")) }
                    } }
                    tbody {
                        @for c in &coverage {
                            tr {
                                td { (c.owner_name.as_deref().unwrap_or_else(|| i.tr("tasks.unowned"))) }
                                td.num { (i.int(c.accounts)) }
                                td.num { (c.coverage.map(|x| format!("{:.0}%", x * 100.0)).unwrap_or_else(|| "—".into())) }
                                td.num { (i.int(c.overdue)) }
                                td.num { (i.int(c.touchpoints_90d)) }
                                td.num { (format!("{:.1}", c.minutes_90d as f64 / 60.0)) }
                            }
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        (body)
        section.card #cadence {
            h2 { (i.tr("tasks.cadence")) }
            p.muted { (i.tr("tasks.cadence_hint")) }
            form.stack method="post" action="/tasks/cadence" {
                (csrf(&ctx))
                textarea.code name="cadence" rows="14" spellcheck="false" readonly[!ctx.is_admin()] aria-label=(i.tr("tasks.cadence")) { (cadence_text) }
                @if ctx.is_admin() { div.row { button type="submit" { (i.tr("automation.save")) } } }
            }
        }
    };
    Ok(page(
        &ctx,
        i.tr("tasks.coverage"),
        Nav::Tasks,
        Scripts::Basic,
        body,
    ))
}

#[derive(Debug, Deserialize)]
pub struct CadenceForm {
    pub cadence: String,
}

/// Saves the engagement cadence (admins); the next cadence pass raises tasks by it.
pub async fn save_cadence(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(f): Form<CadenceForm>,
) -> WebResult<Response> {
    ctx.require_admin()?;
    let cadence: kizuna_domain::automation::Cadence = parse_spec(ctx.i18n, &f.cadence)?;
    state.store.set_cadence(&cadence, &ctx.actor()).await?;
    Ok(Redirect::to("/tasks/coverage#cadence").into_response())
}

fn pager_for(path: &str, i: I18n, base: &str, offset: i64, limit: i64, total: i64) -> Markup {
    let from = if total == 0 { 0 } else { offset + 1 };
    let to = (offset + limit).min(total);
    html! {
        nav.pager {
            span.count { (i.trf("list.showing", &[("from", &i.int(from)), ("to", &i.int(to)), ("total", &i.int(total))])) }
            @if offset > 0 { a.button.secondary href=(format!("{path}?{base}&offset={}", (offset - limit).max(0))) { (i.tr("list.previous")) } }
            @if offset + limit < total { a.button.secondary href=(format!("{path}?{base}&offset={}", offset + limit)) { (i.tr("list.next")) } }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct TaskForm {
    pub action: String,
    pub outcome: Option<String>,
    pub until: Option<String>,
    pub owner_id: Option<i64>,
    pub back: Option<String>,
}

fn safe_back(back: Option<&str>) -> String {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") => b.to_string(),
        _ => "/tasks".into(),
    }
}

pub async fn update_task(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<TaskForm>,
) -> WebResult<Response> {
    let t = state.store.task(id).await?;
    if !can_change(&ctx, &t) {
        return Err(WebError::Forbidden);
    }
    let patch = match f.action.as_str() {
        "close" => TaskPatch {
            status: Some(TaskStatus::Closed),
            outcome: Some(
                f.outcome
                    .as_deref()
                    .unwrap_or("resolved")
                    .parse()
                    .map_err(|_| WebError::Invalid("outcome".into()))?,
            ),
            ..Default::default()
        },
        "snooze" => TaskPatch {
            snooze_until: Some(
                f.until
                    .as_deref()
                    .unwrap_or("")
                    .parse::<NaiveDate>()
                    .map_err(|_| {
                        WebError::Invalid(ctx.i18n.tr("tasks.snooze_until").to_string())
                    })?,
            ),
            ..Default::default()
        },
        "reopen" => TaskPatch {
            status: Some(TaskStatus::Open),
            ..Default::default()
        },
        "assign" => TaskPatch {
            owner_id: f.owner_id,
            ..Default::default()
        },
        _ => return Err(WebError::Invalid("action".into())),
    };
    state.store.update_task(id, patch, &ctx.actor()).await?;
    Ok(Redirect::to(&safe_back(f.back.as_deref())).into_response())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Rules,
    Playbooks,
    Email,
    Webhooks,
    Jobs,
    Nps,
}

fn automation_page(ctx: &Ctx, tab: Tab, scripts: Scripts, body: Markup) -> Response {
    let i = ctx.i18n;
    page(
        ctx,
        i.tr("automation.title"),
        Nav::Automation,
        scripts,
        html! {
            h1 { (i.tr("automation.title")) }
            nav.tabs {
                a href="/automation" .current[tab == Tab::Rules] { (i.tr("automation.rules")) }
                a href="/automation/playbooks" .current[tab == Tab::Playbooks] { (i.tr("automation.playbooks")) }
                a href="/automation/email" .current[tab == Tab::Email] { (i.tr("automation.email")) }
                a href="/automation/nps" .current[tab == Tab::Nps] { (i.tr("automation.nps")) }
                @if ctx.is_admin() {
                    a href="/automation/webhooks" .current[tab == Tab::Webhooks] { (i.tr("automation.webhooks")) }
                    a href="/automation/jobs" .current[tab == Tab::Jobs] { (i.tr("automation.jobs")) }
                }
            }
            (body)
        },
    )
}

fn trigger_text(i: I18n, t: &kizuna_domain::automation::Trigger) -> String {
    use kizuna_domain::automation::Trigger;
    match t {
        Trigger::Event { event } => i.trf("automation.trigger_event", &[("event", event)]),
        Trigger::Renewal { days } => {
            i.trf("automation.trigger_renewal", &[("days", &days.to_string())])
        }
        other => i.label("trigger", other.name()),
    }
}

/// A definition edited as JSON (a rule, a playbook): saved to `action` (`action/{id}` for an
/// existing one), with an optional htmx preview.
pub(crate) struct Editor<'a> {
    pub id: Option<i64>,
    pub text: &'a str,
    pub title: &'a str,
    pub hint: &'a str,
    pub action: &'a str,
    pub cancel: &'a str,
    pub preview: Option<&'a str>,
}

pub(crate) fn json_editor(ctx: &Ctx, e: Editor) -> Markup {
    let i = ctx.i18n;
    let action = match e.id {
        Some(id) => format!("{}/{id}", e.action),
        None => e.action.to_string(),
    };
    html! {
        section.card #editor {
            h2 { (i.tr(e.title)) }
            p.muted { (i.tr(e.hint)) }
            form.stack method="post" action=(action) {
                (csrf(ctx))
                textarea.code name="spec" rows="18" spellcheck="false" aria-label=(i.tr("automation.definition")) { (e.text) }
                div.row {
                    button type="submit" { (i.tr("automation.save")) }
                    @if let Some(p) = e.preview {
                        button.secondary type="submit" formaction=(p) hx-post=(p) hx-target="#preview" { (i.tr("automation.preview")) }
                    }
                    a.button.secondary href=(e.cancel) { (i.tr("automation.cancel")) }
                }
            }
            @if e.preview.is_some() { div #preview aria-live="polite" {} }
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct RulesQuery {
    pub edit: Option<i64>,
    pub new: Option<String>,
    /// The first running playbook listed (the playbooks page lists [`RUN_ROWS`] at a time).
    pub offset: Option<i64>,
}

/// Running playbooks listed on a page.
const RUN_ROWS: i64 = 50;

pub async fn rules_page(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(q): Query<RulesQuery>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let (rules, firings) = futures::try_join!(
        state.store.list_rules(),
        state.store.rule_firings(None, None, 20, 0),
    )?;
    let editing: Option<(Option<i64>, String)> = if !ctx.is_admin() {
        None
    } else if let Some(id) = q.edit {
        let r = state.store.rule(id).await?;
        Some((
            Some(id),
            serde_json::to_string_pretty(&r.spec).unwrap_or_default(),
        ))
    } else if q.new.is_some() {
        let example = serde_json::json!({
            "key": "low_adoption", "name": "Low adoption after onboarding", "enabled": true,
            "trigger": {"kind": "daily"},
            "condition": "lifecycle_stage == 'adoption' && adoption_index < 30.0",
            "actions": [{"kind": "create_task", "task_kind": "risk", "priority": "medium",
                         "title": "Adoption is low: plan a training", "title_ja": "活用度が低い：トレーニングを計画",
                         "reason": "training", "due_in_days": 7}]
        });
        Some((
            None,
            serde_json::to_string_pretty(&example).unwrap_or_default(),
        ))
    } else {
        None
    };
    let body = html! {
        @if let Some((id, text)) = &editing {
            (json_editor(&ctx, Editor {
                id: *id,
                text,
                title: if id.is_some() { "automation.edit_rule" } else { "automation.new_rule" },
                hint: "automation.editor_hint",
                action: "/automation/rules",
                cancel: "/automation",
                preview: Some("/automation/rules/preview"),
            }))
        }
        section.card {
            div.row.between {
                h2 { (i.tr("automation.rules")) }
                @if ctx.is_admin() && editing.is_none() { a.button href="/automation?new=1" { (i.tr("automation.new_rule")) } }
            }
            @if rules.is_empty() {
                (empty(i, "automation.rules_empty", "automation.rules_empty_hint"))
            } @else {
                table.list {
                    thead { tr { th { (i.tr("automation.name")) } th { (i.tr("automation.trigger")) } th { (i.tr("automation.condition")) } th { (i.tr("automation.actions")) } th { (i.tr("automation.state")) } } }
                    tbody {
                        @for r in &rules {
                            tr {
                                td {
                                    @if ctx.is_admin() { a href=(format!("/automation?edit={}#editor", r.id)) { (r.spec.name) } } @else { (r.spec.name) }
                                    div.muted.small { code { (r.spec.key) } }
                                }
                                td { (trigger_text(i, &r.spec.trigger)) }
                                td { code { (r.spec.condition) } }
                                td {
                                    @for a in &r.spec.actions {
                                        @let kind = serde_json::to_value(a).ok().and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string)).unwrap_or_default();
                                        span.tag { (i.label("action", &kind)) } " "
                                    }
                                }
                                td {
                                    @if r.spec.enabled { span.tag.green { (i.tr("automation.enabled")) } } @else { span.tag { (i.tr("automation.disabled")) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (i.tr("automation.firings")) }
            @if firings.items.is_empty() {
                (empty(i, "automation.firings_empty", "automation.firings_empty_hint"))
            } @else {
                table.list {
                    thead { tr { th { (i.tr("automation.fired_at")) } th { (i.tr("automation.rule")) } th { (i.tr("accounts.name")) } th { (i.tr("automation.matched")) } } }
                    tbody {
                        @for f in &firings.items {
                            tr {
                                td { (i.datetime(f.fired_at)) }
                                td { code { (f.rule_key) } }
                                td { a href=(format!("/accounts/{}", f.account_id)) { (f.account_name) } }
                                td.small {
                                    @if let Some(m) = f.matched.as_object() { @for (k, v) in m { code { (k) "=" (v) } " " } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(automation_page(&ctx, Tab::Rules, Scripts::Basic, body))
}

#[derive(Debug, Deserialize)]
pub struct SpecForm {
    pub spec: String,
}

/// A definition written as JSON in an editor (rule, playbook, cadence, journey); a syntax or
/// shape error is shown to the user with its position.
pub(crate) fn parse_spec<T: serde::de::DeserializeOwned>(
    i: I18n,
    text: &str,
) -> Result<T, WebError> {
    serde_json::from_str(text)
        .map_err(|e| WebError::Invalid(i.trf("automation.bad_json", &[("error", &e.to_string())])))
}

pub async fn preview_rule(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(f): Form<SpecForm>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let body = match parse_spec::<RuleSpec>(i, &f.spec)
        .and_then(|s| s.validate().map_err(|e| WebError::Invalid(e.to_string())))
    {
        Err(WebError::Invalid(msg)) => html! { p.flash.error role="alert" { (msg) } },
        Err(e) => return Err(e),
        Ok(rule) => {
            let m = state.store.preview_rule(&rule, 20).await?;
            html! {
                p.flash.ok role="status" { (i.trf("automation.preview_result", &[("n", &i.int(m.count as i64)), ("checked", &i.int(m.accounts_checked as i64))])) }
                @if !m.account_ids.is_empty() {
                    p { @for id in &m.account_ids { a href=(format!("/accounts/{id}")) { "#" (id) } " " } }
                }
            }
        }
    };
    Ok(axum::response::Html(body.into_string()).into_response())
}

pub async fn save_playbook(
    State(state): State<WebState>,
    ctx: Ctx,
    id: Option<Path<i64>>,
    Form(f): Form<SpecForm>,
) -> WebResult<Response> {
    ctx.require_admin()?;
    let spec: kizuna_domain::automation::PlaybookSpec = parse_spec(ctx.i18n, &f.spec)?;
    match id {
        Some(Path(id)) => state.store.update_playbook(id, spec, &ctx.actor()).await?,
        None => state.store.create_playbook(spec, &ctx.actor()).await?,
    };
    Ok(Redirect::to("/automation/playbooks").into_response())
}

pub async fn save_rule(
    State(state): State<WebState>,
    ctx: Ctx,
    id: Option<Path<i64>>,
    Form(f): Form<SpecForm>,
) -> WebResult<Response> {
    ctx.require_admin()?;
    let spec = parse_spec(ctx.i18n, &f.spec)?;
    match id {
        Some(Path(id)) => state.store.update_rule(id, spec, &ctx.actor()).await?,
        None => state.store.create_rule(spec, &ctx.actor()).await?,
    };
    Ok(Redirect::to("/automation").into_response())
}

pub async fn playbooks_page(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(q): Query<RulesQuery>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let offset = q.offset.unwrap_or(0).max(0);
    let (books, (total_runs, runs)) = futures::try_join!(
        state.store.list_playbooks(),
        state
            .store
            .playbook_runs_page(None, None, Some("active"), RUN_ROWS, offset, true),
    )?;
    // The editor: a playbook as JSON (key, name, anchor, steps with day offsets and owner roles).
    let editing: Option<(Option<i64>, String)> = if !ctx.is_admin() {
        None
    } else if let Some(id) = q.edit {
        let p = state.store.playbook(id).await?;
        Some((
            Some(id),
            serde_json::to_string_pretty(&p.spec).unwrap_or_default(),
        ))
    } else if q.new.is_some() {
        let example = serde_json::json!({
            "key": "adoption_push", "name": "Adoption push", "name_ja": "活用促進", "anchor": "start",
            "steps": [
                {"offset_days": 0, "kind": "task", "title": "Find the unused key features", "title_ja": "未使用の主要機能を確認", "reason": "training"},
                {"offset_days": 3, "kind": "email", "template": "low_usage", "to": "champion"},
                {"offset_days": 10, "kind": "touchpoint", "touchpoint": "training", "title": "Run a feature training", "owner_role": "csm"}
            ]
        });
        Some((
            None,
            serde_json::to_string_pretty(&example).unwrap_or_default(),
        ))
    } else {
        None
    };
    let body = html! {
        @if let Some((id, text)) = &editing {
            (json_editor(&ctx, Editor {
                id: *id,
                text,
                title: if id.is_some() { "automation.edit_playbook" } else { "automation.new_playbook" },
                hint: "automation.playbook_hint",
                action: "/automation/playbooks",
                cancel: "/automation/playbooks",
                preview: None,
            }))
        }
        section.card {
            div.row.between {
                h2 { (i.tr("automation.playbooks")) }
                @if ctx.is_admin() && editing.is_none() { a.button href="/automation/playbooks?new=1#editor" { (i.tr("automation.new_playbook")) } }
            }
            @if books.is_empty() {
                (empty(i, "automation.playbooks_empty", "automation.playbooks_empty_hint"))
            }
            @for p in &books {
                details.playbook {
                    summary {
                        strong { (match (i.locale, &p.spec.name_ja) { (Locale::Ja, Some(n)) => n.as_str(), _ => p.spec.name.as_str() }) }
                        " " span.muted { (i.trf("automation.active_runs", &[("n", &i.int(p.active_runs))])) }
                        @if ctx.is_admin() { " " a.small href=(format!("/automation/playbooks?edit={}#editor", p.id)) { (i.tr("automation.edit")) } }
                    }
                    ol.steps {
                        @for s in &p.spec.steps {
                            @let v = serde_json::to_value(&s.action).unwrap_or_default();
                            li {
                                span.tag { (i.trf("automation.day", &[("n", &s.offset_days.to_string())])) } " "
                                (i.label("step", v.get("kind").and_then(|k| k.as_str()).unwrap_or("")))
                                ": "
                                (v.get(if i.locale == Locale::Ja { "title_ja" } else { "title" }).and_then(|t| t.as_str())
                                    .or_else(|| v.get("title").and_then(|t| t.as_str()))
                                    .or_else(|| v.get("template").and_then(|t| t.as_str())).unwrap_or(""))
                                " " span.muted { "(" (i.label("owner_role", s.owner_role.as_str())) ")" }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (i.tr("automation.runs")) }
            @if runs.is_empty() {
                (empty(i, "automation.runs_empty", "automation.runs_empty_hint"))
            } @else {
                table.list {
                    thead { tr { th { (i.tr("accounts.name")) } th { (i.tr("automation.playbook")) } th { (i.tr("automation.started")) } th { (i.tr("automation.progress")) } } }
                    tbody {
                        @for r in &runs {
                            tr {
                                td { a href=(format!("/accounts/{}", r.account_id)) { (r.account_name) } }
                                td { (r.playbook_name) }
                                td { (i.date(r.started_on)) }
                                td {
                                    progress value=(r.completed_steps) max=(r.total_steps.max(1)) {}
                                    " " (r.completed_steps) " / " (r.total_steps)
                                }
                            }
                        }
                    }
                }
                (pager_for("/automation/playbooks", i, "runs=active", offset, RUN_ROWS, total_runs))
            }
        }
    };
    Ok(automation_page(&ctx, Tab::Playbooks, Scripts::Basic, body))
}

#[derive(Debug, Deserialize, Default)]
pub struct EmailQuery {
    pub template: Option<String>,
    pub status: Option<String>,
    pub offset: Option<i64>,
}

pub async fn email_page(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(q): Query<EmailQuery>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let filter = EmailFilter {
        status: q.status.clone().filter(|s| !s.is_empty()),
        limit: Some(TASK_ROWS),
        offset: q.offset,
        ..Default::default()
    };
    let (templates, log) = futures::try_join!(
        state.store.list_templates(),
        state.store.list_emails(&filter)
    )?;
    let editing = q
        .template
        .as_deref()
        .and_then(|k| templates.iter().find(|t| t.spec.key == k))
        .filter(|_| ctx.is_admin());
    let status = q.status.clone().unwrap_or_default();
    let body = html! {
        @if let Some(t) = editing {
            section.card #editor {
                h2 { (i.tr("automation.edit_template")) " " code { (t.spec.key) } }
                p.muted { (i.tr("automation.template_hint")) }
                form.stack method="post" action=(format!("/automation/email/{}", t.spec.key)) {
                    (csrf(&ctx))
                    input type="hidden" name="key" value=(t.spec.key);
                    label { (i.tr("automation.name")) input name="name" value=(t.spec.name) required; }
                    label.radio { input type="checkbox" name="customer_facing" value="1" checked[t.spec.customer_facing]; " " (i.tr("automation.customer_facing")) }
                    div.columns {
                        div.stack {
                            label { (i.tr("automation.subject_ja")) input name="subject_ja" value=(t.spec.subject_ja) required; }
                            label { (i.tr("automation.body_ja")) textarea.code name="body_ja" rows="10" { (t.spec.body_ja) } }
                        }
                        div.stack {
                            label { (i.tr("automation.subject_en")) input name="subject_en" value=(t.spec.subject_en) required; }
                            label { (i.tr("automation.body_en")) textarea.code name="body_en" rows="10" { (t.spec.body_en) } }
                        }
                    }
                    div.row {
                        button type="submit" { (i.tr("automation.save")) }
                        label { (i.tr("automation.preview_account")) " "
                            input type="number" name="preview_account" min="1" value="1" aria-label=(i.tr("automation.preview_account"));
                        }
                        select name="preview_locale" aria-label=(i.tr("nav.language")) {
                            option value="ja" { "日本語" } option value="en" { "English" }
                        }
                        button.secondary type="submit" formaction="/automation/email/preview" hx-post="/automation/email/preview" hx-target="#template-preview" { (i.tr("automation.preview")) }
                        a.button.secondary href="/automation/email" { (i.tr("automation.cancel")) }
                    }
                }
                div #template-preview aria-live="polite" {}
            }
        }
        section.card {
            h2 { (i.tr("automation.templates")) }
            table.list {
                thead { tr { th { (i.tr("automation.name")) } th { (i.tr("automation.subject")) } th { (i.tr("automation.audience")) } } }
                tbody {
                    @for t in &templates {
                        tr {
                            td {
                                @if ctx.is_admin() { a href=(format!("/automation/email?template={}#editor", t.spec.key)) { (t.spec.name) } } @else { (t.spec.name) }
                                div.muted.small { code { (t.spec.key) } }
                            }
                            td { (if i.locale == Locale::Ja { &t.spec.subject_ja } else { &t.spec.subject_en }) }
                            td { @if t.spec.customer_facing { (i.tr("automation.customers")) } @else { (i.tr("automation.team")) } }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (i.tr("automation.send_log")) }
            form.filters method="get" action="/automation/email" {
                label { (i.tr("automation.state"))
                    select name="status" data-autosubmit {
                        option value="" { (i.tr("filter.any")) }
                        @for s in ["queued", "sent", "failed", "suppressed"] { option value=(s) selected[status == s] { (i.label("email_status", s)) } }
                    }
                }
                noscript { button type="submit" { (i.tr("filter.apply")) } }
            }
            @if log.items.is_empty() {
                (empty(i, "automation.log_empty", "automation.log_empty_hint"))
            } @else {
                table.list {
                    thead { tr { th { (i.tr("automation.created")) } th { (i.tr("automation.to")) } th { (i.tr("automation.subject")) } th { (i.tr("automation.state")) } th.num { (i.tr("automation.attempts")) } th { (i.tr("automation.last_error")) } } }
                    tbody {
                        @for m in &log.items {
                            tr {
                                td { (i.datetime(m.created_at)) }
                                td { (m.to_address) }
                                td { details.mail { summary { (m.subject) } pre.small.mailbody { (m.body) } } }
                                td { span class=(format!("tag email-{}", m.status)) { (i.label("email_status", &m.status)) } }
                                td.num { (m.attempts) }
                                td.small { (m.last_error.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
                (pager_for("/automation/email", i, &format!("status={status}"), q.offset.unwrap_or(0).max(0), TASK_ROWS, log.total))
            }
        }
    };
    Ok(automation_page(&ctx, Tab::Email, Scripts::Basic, body))
}

#[derive(Debug, Deserialize)]
pub struct TemplateForm {
    pub name: String,
    pub customer_facing: Option<String>,
    pub subject_ja: String,
    pub body_ja: String,
    pub subject_en: String,
    pub body_en: String,
}

#[derive(Debug, Deserialize)]
pub struct TemplatePreviewForm {
    pub key: String,
    pub name: String,
    pub customer_facing: Option<String>,
    pub subject_ja: String,
    pub body_ja: String,
    pub subject_en: String,
    pub body_en: String,
    pub preview_account: i64,
    pub preview_locale: String,
}

/// The template as written in the editor, rendered for an account (not sent, not saved).
pub async fn preview_template(
    State(state): State<WebState>,
    _ctx: Ctx,
    Form(f): Form<TemplatePreviewForm>,
) -> WebResult<Response> {
    let spec = EmailTemplateSpec {
        key: f.key,
        name: f.name,
        customer_facing: f.customer_facing.is_some(),
        subject_ja: f.subject_ja,
        body_ja: f.body_ja.replace("\r\n", "\n"),
        subject_en: f.subject_en,
        body_en: f.body_en.replace("\r\n", "\n"),
    };
    let locale = f
        .preview_locale
        .parse()
        .unwrap_or(kizuna_domain::template::Locale::Ja);
    let body = match state
        .store
        .preview_spec(&spec, f.preview_account, locale, &state.config.automation)
        .await
    {
        Ok(r) => {
            html! { div.mailpreview { p { strong { (r.subject) } } pre.mailbody { (r.body) } } }
        }
        Err(kizuna_store::StoreError::Invalid(e)) => {
            html! { p.flash.error role="alert" { (e.to_string()) } }
        }
        Err(e) => return Err(e.into()),
    };
    Ok(axum::response::Html(body.into_string()).into_response())
}

pub async fn save_template(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(key): Path<String>,
    Form(f): Form<TemplateForm>,
) -> WebResult<Response> {
    ctx.require_admin()?;
    let spec = EmailTemplateSpec {
        key: key.clone(),
        name: f.name,
        customer_facing: f.customer_facing.is_some(),
        subject_ja: f.subject_ja,
        body_ja: f.body_ja.replace("\r\n", "\n"),
        subject_en: f.subject_en,
        body_en: f.body_en.replace("\r\n", "\n"),
    };
    state.store.put_template(spec, &ctx.actor()).await?;
    Ok(Redirect::to("/automation/email").into_response())
}

pub async fn webhooks_page(State(state): State<WebState>, ctx: Ctx) -> WebResult<Response> {
    ctx.require_admin()?;
    let i = ctx.i18n;
    let (hooks, deliveries) = futures::try_join!(
        state.store.list_webhooks(),
        state.store.webhook_deliveries(None, 30, 0),
    )?;
    let names: HashMap<i64, String> = hooks.iter().map(|h| (h.id, h.name.clone())).collect();
    let body = html! {
        section.card {
            h2 { (i.tr("automation.webhooks")) }
            @if hooks.is_empty() {
                (empty(i, "automation.webhooks_empty", "automation.webhooks_empty_hint"))
            } @else {
                table.list {
                    thead { tr { th { (i.tr("automation.name")) } th { "URL" } th { (i.tr("automation.format")) } } }
                    tbody { @for h in &hooks { tr { td { (h.name) } td.small { (h.url) } td { (h.format) } } } }
                }
            }
            form.inline method="post" action="/automation/webhooks" {
                (csrf(&ctx))
                input name="name" required placeholder=(i.tr("automation.name")) aria-label=(i.tr("automation.name"));
                input name="url" type="url" required placeholder="https://hooks.slack.com/…" aria-label="URL";
                select name="format" aria-label=(i.tr("automation.format")) { option value="slack" { "Slack" } option value="generic" { (i.tr("automation.generic")) } }
                button type="submit" { (i.tr("automation.add")) }
            }
        }
        section.card {
            h2 { (i.tr("automation.deliveries")) }
            @if deliveries.items.is_empty() {
                (empty(i, "automation.deliveries_empty", "automation.deliveries_empty_hint"))
            } @else {
                table.list {
                    thead { tr { th { (i.tr("automation.created")) } th { (i.tr("automation.name")) } th { (i.tr("automation.event")) } th { (i.tr("automation.state")) } th.num { (i.tr("automation.attempts")) } th { (i.tr("automation.last_error")) } } }
                    tbody {
                        @for d in &deliveries.items {
                            tr {
                                td { (i.datetime(d.created_at)) }
                                td { (names.get(&d.webhook_id).map(String::as_str).unwrap_or("—")) }
                                td { code { (d.event) } }
                                td { (d.status) @if let Some(s) = d.last_status { " (HTTP " (s) ")" } }
                                td.num { (d.attempts) }
                                td.small { (d.last_error.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(automation_page(&ctx, Tab::Webhooks, Scripts::Basic, body))
}

#[derive(Debug, Deserialize)]
pub struct WebhookForm {
    pub name: String,
    pub url: String,
    pub format: String,
}

pub async fn create_webhook(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(f): Form<WebhookForm>,
) -> WebResult<Response> {
    ctx.require_admin()?;
    state
        .store
        .create_webhook(
            kizuna_store::automation::WebhookDraft {
                name: f.name,
                url: f.url,
                format: f.format,
                secret: None,
                enabled: Some(true),
            },
            &ctx.actor(),
        )
        .await?;
    Ok(Redirect::to("/automation/webhooks").into_response())
}

pub async fn jobs_page(State(state): State<WebState>, ctx: Ctx) -> WebResult<Response> {
    ctx.require_admin()?;
    let i = ctx.i18n;
    let (jobs, failures) =
        futures::try_join!(state.store.jobs(), state.store.job_history(None, true, 20))?;
    let body = html! {
        section.card {
            h2 { (i.tr("automation.jobs")) }
            @if jobs.is_empty() {
                (empty(i, "automation.jobs_empty", "automation.jobs_empty_hint"))
            } @else {
                table.list {
                    thead { tr { th { (i.tr("automation.job")) } th { (i.tr("automation.next_run")) } th { (i.tr("automation.last_run")) } th { (i.tr("automation.state")) } th.num { (i.tr("automation.runs_n")) } th.num { (i.tr("automation.failures")) } th {} } }
                    tbody {
                        @for j in &jobs {
                            tr {
                                td { code { (j.name) } @if let Some(o) = &j.lease_owner { div.muted.small { (i.tr("automation.running_on")) " " (o) } } }
                                td { (i.datetime(j.next_run_at)) }
                                td { (j.last_finished_at.map(|t| i.datetime(t)).unwrap_or_else(|| "—".into())) }
                                td {
                                    @match j.last_status.as_deref() {
                                        Some("ok") => span.tag.green { (i.tr("automation.ok")) },
                                        Some(_) => span.tag.red title=(j.last_error.as_deref().unwrap_or("")) { (i.tr("automation.failed")) },
                                        None => "—",
                                    }
                                }
                                td.num { (i.int(j.runs)) }
                                td.num { (i.int(j.failures)) }
                                td {
                                    form.inline method="post" action=(format!("/automation/jobs/{}/run", j.name)) {
                                        (csrf(&ctx))
                                        button.secondary type="submit" { (i.tr("automation.run_now")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (i.tr("automation.recent_failures")) }
            @if failures.is_empty() {
                (empty(i, "automation.failures_empty", "automation.failures_empty_hint"))
            } @else {
                table.list {
                    thead { tr { th { (i.tr("automation.job")) } th { (i.tr("automation.last_run")) } th { (i.tr("automation.last_error")) } } }
                    tbody { @for f in &failures { tr { td { code { (f.job) } } td { (i.datetime(f.started_at)) } td.small { (f.detail.as_deref().unwrap_or("")) } } } }
                }
            }
        }
    };
    Ok(automation_page(&ctx, Tab::Jobs, Scripts::Basic, body))
}

pub async fn run_job(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> WebResult<Response> {
    ctx.require_admin()?;
    state.store.make_job_due(&name).await?;
    Ok(Redirect::to("/automation/jobs").into_response())
}

pub async fn nps_page(State(state): State<WebState>, ctx: Ctx) -> WebResult<Response> {
    let i = ctx.i18n;
    let (s, segments) = futures::try_join!(
        state.store.nps_summary(ctx.today),
        state.store.list_segments()
    )?;
    let chart = serde_json::json!({
        "x_name": i.tr("automation.month"),
        "y_name": "NPS",
        "labels": s.by_month.iter().map(|r| r.group.clone()).collect::<Vec<_>>(),
        "series": [
            {"name": "NPS", "type": "line", "data": s.by_month.iter().map(|r| r.nps).collect::<Vec<_>>()},
            {"name": i.tr("automation.responses"), "type": "bar", "y2": true, "data": s.by_month.iter().map(|r| r.responses).collect::<Vec<_>>()}
        ]
    });
    let nps = |v: Option<f64>| v.map(|n| format!("{n:+.0}")).unwrap_or_else(|| "—".into());
    let table = |rows: &[kizuna_store::automation::NpsSummaryRow],
                 label: &str,
                 vocabulary: Option<&str>| {
        html! {
            table.list {
                thead { tr { th { (label) } th.num { "NPS" } th.num { (i.tr("automation.responses")) } th.num { (i.label("nps", "promoter")) } th.num { (i.label("nps", "passive")) } th.num { (i.label("nps", "detractor")) } } }
                tbody {
                    @for r in rows {
                        tr {
                            td { @match vocabulary { Some(v) => (i.label(v, &r.group)), None => (r.group) } }
                            td.num { strong { (nps(r.nps)) } }
                            td.num { (i.int(r.responses)) }
                            td.num { (i.int(r.promoters)) }
                            td.num { (i.int(r.passives)) }
                            td.num { (i.int(r.detractors)) }
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        div.columns {
            section.card {
                h2 { (i.tr("automation.nps_overall")) }
                p.bignum { (nps(s.overall.nps)) }
                p.muted { (i.trf("automation.nps_basis", &[("n", &i.int(s.overall.responses))])) }
            }
            @if ctx.user.role != Role::Viewer {
                section.card {
                    h2 { (i.tr("automation.nps_send")) }
                    form.stack method="post" action="/automation/nps/send" {
                        (csrf(&ctx))
                        label { (i.tr("automation.campaign")) input name="campaign" required value=(format!("nps-{}", ctx.today.format("%Y-%m"))); }
                        label { (i.tr("accounts.stage"))
                            select name="lifecycle_stage" {
                                option value="" { (i.tr("filter.any")) }
                                @for st in kizuna_domain::account::LifecycleStage::NAMES { option value=(st) { (i.label("stage", st)) } }
                            }
                        }
                        label { (i.tr("accounts.tier"))
                            select name="coverage_tier" {
                                option value="" { (i.tr("filter.any")) }
                                @for t in kizuna_domain::account::CoverageTier::NAMES { option value=(t) { (i.label("tier", t)) } }
                            }
                        }
                        label { (i.tr("automation.segment"))
                            select name="segment_id" {
                                option value="" { (i.tr("filter.any")) }
                                @for sg in &segments { option value=(sg.id) { (sg.name) } }
                            }
                        }
                        button type="submit" { (i.tr("automation.send")) }
                    }
                }
            }
        }
        section.card {
            h2 { (i.tr("automation.nps_by_month")) }
            @if s.by_month.is_empty() {
                (empty(i, "automation.nps_empty", "automation.nps_empty_hint"))
            } @else {
                (json_script("nps-data", &chart))
                div.chart data-combo-chart="nps-data" role="img" aria-label=(i.tr("automation.nps_by_month")) {}
                (table(&s.by_month, i.tr("automation.month"), None))
            }
        }
        div.columns {
            section.card { h2 { (i.tr("automation.nps_by_tier")) } (table(&s.by_tier, i.tr("accounts.tier"), Some("tier"))) }
            section.card {
                h2 { (i.tr("automation.nps_by_segment")) }
                @if s.by_segment.is_empty() { (empty(i, "automation.segments_empty", "automation.segments_empty_hint")) } @else { (table(&s.by_segment, i.tr("automation.segment"), None)) }
            }
        }
        @if !s.campaigns.is_empty() {
            section.card {
                h2 { (i.tr("automation.campaigns")) }
                table.list {
                    thead { tr { th { (i.tr("automation.campaign")) } th.num { (i.tr("automation.invited")) } th.num { (i.tr("automation.answered")) } } }
                    tbody { @for c in &s.campaigns { tr { td { (c.campaign) } td.num { (i.int(c.invited)) } td.num { (i.int(c.answered)) } } } }
                }
            }
        }
    };
    Ok(automation_page(&ctx, Tab::Nps, Scripts::Charts, body))
}

#[derive(Debug, Deserialize)]
pub struct NpsForm {
    pub campaign: String,
    pub lifecycle_stage: Option<String>,
    pub coverage_tier: Option<String>,
    pub segment_id: Option<String>,
}

pub async fn send_nps(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(f): Form<NpsForm>,
) -> WebResult<Response> {
    if ctx.user.role == Role::Viewer {
        return Err(WebError::Forbidden);
    }
    let sel = NpsSelection {
        campaign: Some(f.campaign),
        lifecycle_stage: f.lifecycle_stage.filter(|s| !s.is_empty()),
        coverage_tier: f.coverage_tier.filter(|s| !s.is_empty()),
        segment_id: f.segment_id.and_then(|s| s.parse().ok()),
        ..Default::default()
    };
    state
        .store
        .send_nps(&sel, &state.config.automation, &ctx.actor())
        .await?;
    Ok(Redirect::to("/automation/nps").into_response())
}

/// The language of a public page: `?lang=`, else the invitation's, else the browser's.
fn public_locale(q: &PublicQuery, fallback: Locale) -> Locale {
    q.lang
        .as_deref()
        .and_then(|l| l.parse().ok())
        .unwrap_or(fallback)
}

#[derive(Debug, Deserialize, Default)]
pub struct PublicQuery {
    pub lang: Option<String>,
}

fn split_token(token: &str) -> Option<(&str, &str)> {
    token.split_once('.')
}

async fn invitation_of(
    state: &WebState,
    token: &str,
) -> Result<kizuna_store::automation::SurveyInvitation, WebError> {
    let (id, sig) = split_token(token).ok_or(WebError::NotFound)?;
    let secret = state.store.signing_secret().await?;
    if !verify(&secret, "survey", id, sig) {
        return Err(WebError::NotFound);
    }
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    Ok(state.store.survey_invitation(id).await?)
}

fn survey_body(
    i: I18n,
    token: &str,
    inv: &kizuna_store::automation::SurveyInvitation,
    thanks: bool,
) -> Markup {
    html! {
        main.public {
            h1 { (i.tr("survey.title")) }
            @if thanks || inv.answered_at.is_some() {
                p.flash.ok role="status" { (i.tr("survey.thanks")) }
                @if let Some(s) = inv.score { p.muted { (i.trf("survey.your_answer", &[("score", &s.to_string())])) } }
            } @else {
                p { (i.trf("survey.question", &[("company", &inv.account_name)])) }
                form.stack method="post" action=(format!("/s/{token}?lang={}", i.lang())) {
                    fieldset.scale {
                        legend { (i.tr("survey.scale")) }
                        div.scale-row {
                            @for n in 0..=10 {
                                label.scale-option { input type="radio" name="score" value=(n) required; span { (n) } }
                            }
                        }
                        div.row.between.small.muted { span { (i.tr("survey.unlikely")) } span { (i.tr("survey.likely")) } }
                    }
                    label { (i.tr("survey.comment")) textarea name="comment" rows="4" maxlength="4000" {} }
                    button type="submit" { (i.tr("survey.submit")) }
                }
            }
            p.muted.small {
                a href=(format!("/s/{token}?lang=ja")) lang="ja" { "日本語" } " · " a href=(format!("/s/{token}?lang=en")) lang="en" { "English" }
            }
        }
    }
}

pub async fn survey_page(
    State(state): State<WebState>,
    Path(token): Path<String>,
    Query(q): Query<PublicQuery>,
) -> WebResult<Response> {
    let inv = invitation_of(&state, &token).await?;
    let i = I18n::new(public_locale(&q, inv.locale_ui()));
    Ok(axum::response::Html(
        bare_page(i, i.tr("survey.title"), survey_body(i, &token, &inv, false)).into_string(),
    )
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct SurveyForm {
    pub score: i64,
    pub comment: Option<String>,
}

pub async fn answer_survey(
    State(state): State<WebState>,
    Path(token): Path<String>,
    Query(q): Query<PublicQuery>,
    Form(f): Form<SurveyForm>,
) -> WebResult<Response> {
    let inv = invitation_of(&state, &token).await?;
    if !(0..=10).contains(&f.score) {
        return Err(WebError::Invalid("score".into()));
    }
    state
        .store
        .answer_survey(inv.id, f.score, f.comment)
        .await?;
    let inv = state.store.survey_invitation(inv.id).await?;
    let i = I18n::new(public_locale(&q, inv.locale_ui()));
    Ok(axum::response::Html(
        bare_page(i, i.tr("survey.title"), survey_body(i, &token, &inv, true)).into_string(),
    )
    .into_response())
}

fn unsubscribe_address(secret: &[u8], token: &str) -> Option<String> {
    let (who, sig) = split_token(token)?;
    let address = String::from_utf8(hex::decode(who).ok()?).ok()?;
    verify(secret, "unsubscribe", &address, sig).then_some(address)
}

pub async fn unsubscribe_page(
    State(state): State<WebState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    locale: Option<axum::Extension<RequestLocale>>,
) -> WebResult<Response> {
    let secret = state.store.signing_secret().await?;
    let address = unsubscribe_address(&secret, &token).ok_or(WebError::NotFound)?;
    let i = locale
        .map(|l| l.0 .0)
        .unwrap_or_else(|| I18n::new(crate::session::locale_of_headers(&headers)));
    let done = state.store.is_unsubscribed(&address).await?;
    let body = html! {
        main.public {
            h1 { (i.tr("survey.unsubscribe_title")) }
            @if done {
                p.flash.ok role="status" { (i.trf("survey.unsubscribed", &[("email", &address)])) }
            } @else {
                p { (i.trf("survey.unsubscribe_confirm", &[("email", &address)])) }
                form method="post" action=(format!("/u/{token}")) { button type="submit" { (i.tr("survey.unsubscribe")) } }
            }
        }
    };
    Ok(
        axum::response::Html(bare_page(i, i.tr("survey.unsubscribe_title"), body).into_string())
            .into_response(),
    )
}

pub async fn unsubscribe(
    State(state): State<WebState>,
    Path(token): Path<String>,
) -> WebResult<Response> {
    let secret = state.store.signing_secret().await?;
    let address = unsubscribe_address(&secret, &token).ok_or(WebError::NotFound)?;
    state.store.unsubscribe(&address).await?;
    Ok(Redirect::to(&format!("/u/{token}")).into_response())
}

trait InvitationLocale {
    fn locale_ui(&self) -> Locale;
}

impl InvitationLocale for kizuna_store::automation::SurveyInvitation {
    fn locale_ui(&self) -> Locale {
        match self.locale {
            kizuna_domain::template::Locale::Ja => Locale::Ja,
            kizuna_domain::template::Locale::En => Locale::En,
        }
    }
}

/// Task kinds, priorities, reasons and outcomes, for the label test.
pub const VOCABULARIES: &[(&str, &[&str])] = &[
    ("task_kind", TaskKind::NAMES),
    ("priority", TaskPriority::NAMES),
    ("reason", Reason::NAMES),
    ("outcome", TaskOutcome::NAMES),
    ("task_status", TaskStatus::NAMES),
    (
        "trigger",
        &[
            "daily",
            "health_change",
            "lifecycle_change",
            "nps_response",
            "champion_change",
        ],
    ),
    (
        "action",
        &[
            "create_task",
            "start_playbook",
            "send_email",
            "call_webhook",
            "set_field",
        ],
    ),
    ("step", &["task", "email", "touchpoint"]),
    ("owner_role", &["csm", "manager"]),
    ("email_status", &["queued", "sent", "failed", "suppressed"]),
];
