//! Early warning and automation over `/api/v1`: rules (with preview and firings), tasks,
//! playbooks and their runs, e-mail templates and the e-mail log, webhooks and deliveries, the
//! engagement cadence and coverage, NPS surveys, and the scheduler's jobs.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{NaiveDate, Utc};
use kizuna_domain::automation::{Cadence, RuleSpec, TaskKind};
use kizuna_domain::page::Page;
use kizuna_domain::template::{EmailTemplateSpec, Locale, Rendered};
use kizuna_store::automation::{
    CoverageRow, EffectCounts, EmailFilter, EmailLog, Firing, JobRun, JobState, NpsSelection,
    NpsSummary, PlaybookRun, RuleRun, StoredPlaybook, StoredRule, StoredTemplate, StoredWebhook,
    Task, TaskDraft, TaskFilter, TaskPatch, TaskSummary, WebhookDelivery, WebhookDraft,
};
use kizuna_store::SegmentMatch;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(get_rule, replace_rule, delete_rule))
        .routes(routes!(preview_rule))
        .routes(routes!(run_rules))
        .routes(routes!(firings))
        .routes(routes!(list_tasks, create_task))
        .routes(routes!(task_summary))
        .routes(routes!(get_task, update_task))
        .routes(routes!(list_playbooks, create_playbook))
        .routes(routes!(get_playbook, replace_playbook, delete_playbook))
        .routes(routes!(start_playbook))
        .routes(routes!(playbook_runs))
        .routes(routes!(cancel_run))
        .routes(routes!(list_templates))
        .routes(routes!(put_template, delete_template))
        .routes(routes!(preview_template))
        .routes(routes!(list_emails))
        .routes(routes!(retry_email))
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(test_webhook))
        .routes(routes!(deliveries))
        .routes(routes!(get_cadence, put_cadence))
        .routes(routes!(coverage))
        .routes(routes!(send_nps))
        .routes(routes!(nps_summary))
        .routes(routes!(list_jobs))
        .routes(routes!(job_history))
        .routes(routes!(run_job))
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Every rule (the shipped defaults are installed on first start).
#[utoipa::path(get, path = "/api/v1/rules", tag = "automation", responses((status = 200, body = Vec<StoredRule>)))]
async fn list_rules(State(s): State<AppState>) -> ApiResult<Json<Vec<StoredRule>>> {
    Ok(Json(s.store.list_rules().await?))
}

/// Saves a rule. The condition is CEL over account fields and indicators: a syntax error says
/// the line and column, an unknown field lists the known ones (422 on `condition`).
#[utoipa::path(post, path = "/api/v1/rules", tag = "automation", request_body = RuleSpec,
    responses((status = 201, body = StoredRule), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_rule(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(spec): ApiJson<RuleSpec>,
) -> ApiResult<(StatusCode, Json<StoredRule>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_rule(spec, &caller.actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "automation", params(("id" = i64, Path)),
    responses((status = 200, body = StoredRule), (status = 404, body = ErrorBody)))]
async fn get_rule(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<StoredRule>> {
    Ok(Json(s.store.rule(id).await?))
}

#[utoipa::path(put, path = "/api/v1/rules/{id}", tag = "automation", params(("id" = i64, Path)), request_body = RuleSpec,
    responses((status = 200, body = StoredRule), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replace_rule(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(spec): ApiJson<RuleSpec>,
) -> ApiResult<Json<StoredRule>> {
    Ok(Json(s.store.update_rule(id, spec, &caller.actor).await?))
}

#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "automation", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_rule(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.delete_rule(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewParams {
    /// How many matching account ids to return (default 50, at most 1,000).
    pub limit: Option<usize>,
}

/// Which accounts a rule would fire for now, without acting or saving it.
#[utoipa::path(post, path = "/api/v1/rules/preview", tag = "automation", request_body = RuleSpec, params(PreviewParams),
    responses((status = 200, body = SegmentMatch), (status = 422, body = ErrorBody)))]
async fn preview_rule(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<PreviewParams>,
    ApiJson(spec): ApiJson<RuleSpec>,
) -> ApiResult<Json<SegmentMatch>> {
    let rule = spec.validate()?;
    Ok(Json(
        s.store
            .preview_rule(&rule, p.limit.unwrap_or(50).min(1000))
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    /// `daily` (daily and renewal rules over every account) or `changes` (queued changes).
    pub pass: String,
}

/// Runs a pass over the rules now (the scheduler runs both on its own).
#[utoipa::path(post, path = "/api/v1/rules/run", tag = "automation", request_body = RunBody,
    responses((status = 200, body = RuleRun), (status = 422, body = ErrorBody)))]
async fn run_rules(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<RunBody>,
) -> ApiResult<Json<RuleRun>> {
    let ctx = crate::automation::context(&s.config.automation);
    let run = match b.pass.as_str() {
        "daily" => s.store.run_daily_rules(today(), &ctx).await?,
        "changes" => s.store.run_change_rules(today(), &ctx, 5000).await?,
        _ => return Err(ApiError::invalid("pass", "must be `daily` or `changes`")),
    };
    Ok(Json(run))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FiringParams {
    pub rule_id: Option<i64>,
    pub account_id: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Every firing, newest first: rule, account, time, the values that matched, what it did.
#[utoipa::path(get, path = "/api/v1/rule-firings", tag = "automation", params(FiringParams),
    responses((status = 200, body = Page<Firing>)))]
async fn firings(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<FiringParams>,
) -> ApiResult<Json<Page<Firing>>> {
    Ok(Json(
        s.store
            .rule_firings(
                p.rule_id,
                p.account_id,
                p.limit.unwrap_or(50),
                p.offset.unwrap_or(0).max(0),
            )
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskParams {
    pub owner_id: Option<i64>,
    pub account_id: Option<i64>,
    /// `open` (default), `snoozed`, `closed` or `all`.
    pub status: Option<String>,
    /// Only open tasks past their due day.
    pub overdue: Option<bool>,
    pub kind: Option<TaskKind>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// The task cockpit: tasks by owner, account, status; overdue first.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "automation", params(TaskParams),
    responses((status = 200, body = Page<Task>), (status = 422, body = ErrorBody)))]
async fn list_tasks(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<TaskParams>,
) -> ApiResult<Json<Page<Task>>> {
    let f = TaskFilter {
        owner_id: p.owner_id,
        account_id: p.account_id,
        status: p.status,
        overdue: p.overdue.unwrap_or(false),
        kind: p.kind,
        limit: p.limit,
        offset: p.offset,
    };
    Ok(Json(s.store.list_tasks(&f, today()).await?))
}

#[utoipa::path(post, path = "/api/v1/tasks", tag = "automation", request_body = TaskDraft,
    responses((status = 201, body = Task), (status = 422, body = ErrorBody)))]
async fn create_task(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(d): ApiJson<TaskDraft>,
) -> ApiResult<(StatusCode, Json<Task>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_task(d, &caller.actor).await?),
    ))
}

/// Open and overdue tasks per owner.
#[utoipa::path(get, path = "/api/v1/tasks/summary", tag = "automation", responses((status = 200, body = Vec<TaskSummary>)))]
async fn task_summary(State(s): State<AppState>) -> ApiResult<Json<Vec<TaskSummary>>> {
    Ok(Json(s.store.task_summary(today()).await?))
}

#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "automation", params(("id" = i64, Path)),
    responses((status = 200, body = Task), (status = 404, body = ErrorBody)))]
async fn get_task(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Task>> {
    Ok(Json(s.store.task(id).await?))
}

/// Assigns, reschedules, snoozes (`snooze_until`), closes (`status: closed` with an `outcome`) or
/// reopens a task.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "automation", params(("id" = i64, Path)), request_body = TaskPatch,
    responses((status = 200, body = Task), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_task(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(p): ApiJson<TaskPatch>,
) -> ApiResult<Json<Task>> {
    Ok(Json(s.store.update_task(id, p, &caller.actor).await?))
}

#[utoipa::path(get, path = "/api/v1/playbooks", tag = "automation", responses((status = 200, body = Vec<StoredPlaybook>)))]
async fn list_playbooks(State(s): State<AppState>) -> ApiResult<Json<Vec<StoredPlaybook>>> {
    Ok(Json(s.store.list_playbooks().await?))
}

#[utoipa::path(post, path = "/api/v1/playbooks", tag = "automation", request_body = kizuna_domain::automation::PlaybookSpec,
    responses((status = 201, body = StoredPlaybook), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_playbook(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(spec): ApiJson<kizuna_domain::automation::PlaybookSpec>,
) -> ApiResult<(StatusCode, Json<StoredPlaybook>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_playbook(spec, &caller.actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/playbooks/{id}", tag = "automation", params(("id" = i64, Path)),
    responses((status = 200, body = StoredPlaybook), (status = 404, body = ErrorBody)))]
async fn get_playbook(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<StoredPlaybook>> {
    Ok(Json(s.store.playbook(id).await?))
}

#[utoipa::path(put, path = "/api/v1/playbooks/{id}", tag = "automation", params(("id" = i64, Path)),
    request_body = kizuna_domain::automation::PlaybookSpec,
    responses((status = 200, body = StoredPlaybook), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replace_playbook(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(spec): ApiJson<kizuna_domain::automation::PlaybookSpec>,
) -> ApiResult<Json<StoredPlaybook>> {
    Ok(Json(
        s.store.update_playbook(id, spec, &caller.actor).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/playbooks/{id}", tag = "automation", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_playbook(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.delete_playbook(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    pub account_id: i64,
}

/// Starts a playbook for an account (409 when it is running there already).
#[utoipa::path(post, path = "/api/v1/playbooks/{id}/start", tag = "automation", params(("id" = i64, Path)), request_body = StartBody,
    responses((status = 201, body = PlaybookRun), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn start_playbook(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<StartBody>,
) -> ApiResult<(StatusCode, Json<PlaybookRun>)> {
    let run = s
        .store
        .start_playbook(id, b.account_id, today(), &caller.actor)
        .await?;
    Ok((StatusCode::CREATED, Json(run)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunParams {
    pub account_id: Option<i64>,
    pub playbook_id: Option<i64>,
    /// `active`, `completed` or `cancelled`.
    pub status: Option<String>,
}

/// Playbook runs with each step's day and state, and progress.
#[utoipa::path(get, path = "/api/v1/playbook-runs", tag = "automation", params(RunParams),
    responses((status = 200, body = Vec<PlaybookRun>)))]
async fn playbook_runs(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<RunParams>,
) -> ApiResult<Json<Vec<PlaybookRun>>> {
    Ok(Json(
        s.store
            .playbook_runs(p.account_id, p.playbook_id, p.status.as_deref())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/playbook-runs/{id}/cancel", tag = "automation", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn cancel_run(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.cancel_playbook_run(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/email-templates", tag = "automation", responses((status = 200, body = Vec<StoredTemplate>)))]
async fn list_templates(State(s): State<AppState>) -> ApiResult<Json<Vec<StoredTemplate>>> {
    Ok(Json(s.store.list_templates().await?))
}

/// Creates or replaces a template (Jinja syntax: `{{ account.name }}`, `{{ contact.name }}`,
/// `{{ owner.name }}`, `{{ account.renewal_date }}`, `{{ survey_url }}` …).
#[utoipa::path(put, path = "/api/v1/email-templates/{key}", tag = "automation", params(("key" = String, Path)),
    request_body = EmailTemplateSpec, responses((status = 200, body = StoredTemplate), (status = 422, body = ErrorBody)))]
async fn put_template(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(key): ApiPath<String>,
    ApiJson(spec): ApiJson<EmailTemplateSpec>,
) -> ApiResult<Json<StoredTemplate>> {
    if spec.key != key {
        return Err(ApiError::invalid(
            "key",
            format!(
                "the body's key `{}` differs from the path's `{key}`",
                spec.key
            ),
        ));
    }
    Ok(Json(s.store.put_template(spec, &caller.actor).await?))
}

#[utoipa::path(delete, path = "/api/v1/email-templates/{key}", tag = "automation", params(("key" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_template(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.store.delete_template(&key, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePreviewBody {
    pub account_id: i64,
    pub locale: Option<Locale>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RenderedBody {
    pub subject: String,
    pub body: String,
}

impl From<Rendered> for RenderedBody {
    fn from(r: Rendered) -> Self {
        RenderedBody {
            subject: r.subject,
            body: r.body,
        }
    }
}

/// The template rendered for an account, as its first contact would get it.
#[utoipa::path(post, path = "/api/v1/email-templates/{key}/preview", tag = "automation", params(("key" = String, Path)),
    request_body = TemplatePreviewBody, responses((status = 200, body = RenderedBody), (status = 404, body = ErrorBody)))]
async fn preview_template(
    State(s): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiJson(b): ApiJson<TemplatePreviewBody>,
) -> ApiResult<Json<RenderedBody>> {
    let ctx = crate::automation::context(&s.config.automation);
    let r = s
        .store
        .preview_template(
            &key,
            b.account_id,
            b.locale.unwrap_or(ctx.default_locale),
            &ctx,
        )
        .await?;
    Ok(Json(r.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailParams {
    pub account_id: Option<i64>,
    /// `queued`, `sent`, `failed`, `suppressed`.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// The e-mail log, newest first, with each message's status, attempts and last error.
#[utoipa::path(get, path = "/api/v1/emails", tag = "automation", params(EmailParams),
    responses((status = 200, body = Page<EmailLog>)))]
async fn list_emails(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<EmailParams>,
) -> ApiResult<Json<Page<EmailLog>>> {
    let f = EmailFilter {
        account_id: p.account_id,
        status: p.status,
        limit: p.limit,
        offset: p.offset,
    };
    Ok(Json(s.store.list_emails(&f).await?))
}

/// Queues a failed e-mail again.
#[utoipa::path(post, path = "/api/v1/emails/{id}/retry", tag = "automation", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn retry_email(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.retry_email(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "automation", responses((status = 200, body = Vec<StoredWebhook>)))]
async fn list_webhooks(State(s): State<AppState>) -> ApiResult<Json<Vec<StoredWebhook>>> {
    Ok(Json(s.store.list_webhooks().await?))
}

/// Adds a webhook: `slack` posts `{"text": …}` to an incoming-webhook URL; `generic` posts JSON
/// signed with `X-Kizuna-Signature: sha256=HMAC(secret, timestamp + "." + body)`.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "automation", request_body = WebhookDraft,
    responses((status = 201, body = StoredWebhook), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_webhook(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(d): ApiJson<WebhookDraft>,
) -> ApiResult<(StatusCode, Json<StoredWebhook>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_webhook(d, &caller.actor).await?),
    ))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "automation", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_webhook(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.delete_webhook(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues a test delivery.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "automation", params(("id" = i64, Path)),
    responses((status = 202), (status = 404, body = ErrorBody)))]
async fn test_webhook(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.test_webhook(id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    pub webhook_id: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// The delivery log: each attempt's status, HTTP answer and error.
#[utoipa::path(get, path = "/api/v1/webhook-deliveries", tag = "automation", params(DeliveryParams),
    responses((status = 200, body = Page<WebhookDelivery>)))]
async fn deliveries(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<DeliveryParams>,
) -> ApiResult<Json<Page<WebhookDelivery>>> {
    Ok(Json(
        s.store
            .webhook_deliveries(
                p.webhook_id,
                p.limit.unwrap_or(50),
                p.offset.unwrap_or(0).max(0),
            )
            .await?,
    ))
}

/// Touchpoint cadence per coverage tier (days between touchpoints of each kind).
#[utoipa::path(get, path = "/api/v1/engagement/cadence", tag = "automation", responses((status = 200, body = Cadence)))]
async fn get_cadence(State(s): State<AppState>) -> ApiResult<Json<Cadence>> {
    Ok(Json(s.store.cadence().await?))
}

#[utoipa::path(put, path = "/api/v1/engagement/cadence", tag = "automation", request_body = Cadence,
    responses((status = 200, body = Cadence), (status = 422, body = ErrorBody)))]
async fn put_cadence(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(c): ApiJson<Cadence>,
) -> ApiResult<Json<Cadence>> {
    s.store.set_cadence(&c, &caller.actor).await?;
    Ok(Json(s.store.cadence().await?))
}

/// Engagement coverage per CSM: accounts with every engagement on time, overdue engagements,
/// touchpoints and minutes in the last 90 days.
#[utoipa::path(get, path = "/api/v1/engagement/coverage", tag = "automation", responses((status = 200, body = Vec<CoverageRow>)))]
async fn coverage(State(s): State<AppState>) -> ApiResult<Json<Vec<CoverageRow>>> {
    Ok(Json(s.store.engagement_coverage(today()).await?))
}

/// Invites contacts to an NPS survey by e-mail (template `nps_survey`), once per campaign.
#[utoipa::path(post, path = "/api/v1/surveys/nps/send", tag = "automation", request_body = NpsSelection,
    responses((status = 200, body = EffectCounts), (status = 422, body = ErrorBody)))]
async fn send_nps(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(sel): ApiJson<NpsSelection>,
) -> ApiResult<Json<EffectCounts>> {
    let ctx = crate::automation::context(&s.config.automation);
    Ok(Json(s.store.send_nps(&sel, &ctx, &caller.actor).await?))
}

/// NPS over the last 12 months: overall, by month, coverage tier and saved segment; campaigns'
/// response counts.
#[utoipa::path(get, path = "/api/v1/surveys/nps/summary", tag = "automation", responses((status = 200, body = NpsSummary)))]
async fn nps_summary(State(s): State<AppState>) -> ApiResult<Json<NpsSummary>> {
    Ok(Json(s.store.nps_summary(today()).await?))
}

/// The scheduler's jobs: when each is due, who runs it now, its last result and failures.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "automation", responses((status = 200, body = Vec<JobState>)))]
async fn list_jobs(State(s): State<AppState>) -> ApiResult<Json<Vec<JobState>>> {
    Ok(Json(s.store.jobs().await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    pub job: Option<String>,
    /// Only failed runs.
    pub failed: Option<bool>,
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/jobs/history", tag = "automation", params(HistoryParams),
    responses((status = 200, body = Vec<JobRun>)))]
async fn job_history(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<HistoryParams>,
) -> ApiResult<Json<Vec<JobRun>>> {
    Ok(Json(
        s.store
            .job_history(
                p.job.as_deref(),
                p.failed.unwrap_or(false),
                p.limit.unwrap_or(50),
            )
            .await?,
    ))
}

/// Makes a job due now; the scheduler runs it at its next look (within seconds).
#[utoipa::path(post, path = "/api/v1/jobs/{name}/run", tag = "automation", params(("name" = String, Path)),
    responses((status = 202), (status = 404, body = ErrorBody)))]
async fn run_job(
    State(s): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    if !crate::automation::job_names().contains(&name.as_str()) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no job named `{name}`"),
        ));
    }
    s.store.make_job_due(&name).await?;
    Ok(StatusCode::ACCEPTED)
}
