//! The report builder over the API: the catalogue of subjects and fields, running an ad-hoc
//! definition, saved reports (list, read, create, change, delete, run) and CSV exports.
//!
//! Running and exporting change nothing, so a `read` token may POST a definition to
//! `/api/v1/reports/run` and `/api/v1/reports/export` (the scope check knows). Saving needs a
//! `write` token: the report belongs to the user who created the token, and a `write` token
//! changes only that user's reports; an `admin` token sees and changes every report. Shared
//! reports are visible to every token, private ones to their owner's.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::Utc;
use futures::TryStreamExt;
use kizuna_domain::insight::report::{
    self, Field, ReportDefinition, ReportDraft, ReportResult, Subject,
};
use kizuna_domain::page::Page;
use kizuna_domain::token::TokenScope;
use kizuna_domain::user::Role;
use kizuna_store::{Actor, ReportInput, ReportReader, SavedReport};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::{bad_param, Paging};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(catalogue))
        .routes(routes!(run_adhoc))
        .routes(routes!(export_adhoc))
        .routes(routes!(list_reports, create_report))
        .routes(routes!(get_report, update_report, delete_report))
        .routes(routes!(run_saved))
        .routes(routes!(export_saved))
}

/// One subject and the fields a report on it can use.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogueSubject {
    pub subject: Subject,
    pub label_en: &'static str,
    pub label_ja: &'static str,
    pub fields: Vec<Field>,
}

/// Every subject with its fields, types and labels in English and Japanese.
#[utoipa::path(get, path = "/api/v1/reports/catalogue", tag = "reports",
    responses((status = 200, body = [CatalogueSubject])))]
async fn catalogue() -> Json<Vec<CatalogueSubject>> {
    Json(
        Subject::ALL
            .iter()
            .map(|s| CatalogueSubject {
                subject: *s,
                label_en: s.label(false),
                label_ja: s.label(true),
                fields: s.fields().to_vec(),
            })
            .collect(),
    )
}

/// The caller as the report rules see it: an admin token acts as an admin, a write token as a
/// CSM for the user who created it, a read token as a viewer.
struct ReportCaller {
    role: Role,
    user_id: Option<i64>,
    actor: Actor,
}

async fn report_caller(s: &AppState, caller: &Caller) -> ApiResult<ReportCaller> {
    let user_id = match &caller.actor {
        Actor::Token { id, .. } => s.store.token_creator(*id).await?,
        other => other.user_id(),
    };
    let role = match caller.scope {
        TokenScope::Admin => Role::Admin,
        TokenScope::Write => Role::Csm,
        TokenScope::Read => Role::Viewer,
    };
    Ok(ReportCaller {
        role,
        user_id,
        actor: caller.actor.clone(),
    })
}

fn parse_definition(draft: &ReportDraft) -> ApiResult<ReportDefinition> {
    ReportDefinition::parse(draft).map_err(|e| ApiError::from(e.prefixed("definition.")))
}

/// A definition to run, with the page of the row view.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    pub definition: ReportDraft,
    /// Rows to skip in the row view (default 0).
    #[serde(default)]
    pub offset: Option<i64>,
    /// Rows per page of the row view, 1 to 500 (default 50).
    #[serde(default)]
    pub limit: Option<i64>,
}

fn check_page(offset: Option<i64>, limit: Option<i64>) -> ApiResult<(i64, Option<i64>)> {
    Paging { limit, offset }
        .checked()
        .map(|(l, o)| (o.unwrap_or(0), l))
}

/// Runs a definition without saving it: one page of rows, or every group (up to 1,000).
#[utoipa::path(post, path = "/api/v1/reports/run", tag = "reports", request_body = RunRequest,
    responses((status = 200, body = ReportResult),
              (status = 422, body = ErrorBody, description = "the definition names every bad field")))]
async fn run_adhoc(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<RunRequest>,
) -> ApiResult<Json<ReportResult>> {
    let def = parse_definition(&body.definition)?;
    let (offset, limit) = check_page(body.offset, body.limit)?;
    let today = Utc::now().date_naive();
    Ok(Json(s.store.run_report(&def, today, offset, limit).await?))
}

/// The language of an export's header row.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `ja` (default) or `en`.
    pub lang: Option<String>,
}

fn japanese(lang: Option<&str>) -> ApiResult<bool> {
    match lang.map(str::trim) {
        None | Some("") | Some("ja") => Ok(true),
        Some("en") => Ok(false),
        Some(other) => Err(bad_param("lang", format!("`{other}` is not ja or en"))),
    }
}

/// Streams a report as CSV: UTF-8 with a byte-order mark (Excel opens Japanese text right),
/// the header in the chosen language, rows read a page at a time.
fn csv_response(s: &AppState, def: ReportDefinition, japanese: bool, name: &str) -> Response {
    let today = Utc::now().date_naive();
    let stream = s
        .store
        .report_csv(def, today, japanese)
        .map_ok(Bytes::from)
        .inspect_err(|e| tracing::error!(error = %e, "report export failed midway"));
    let file = format!("kizuna-{name}-{today}.csv");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// Exports a definition without saving it, as CSV.
#[utoipa::path(post, path = "/api/v1/reports/export", tag = "reports", request_body = ReportDraft,
    params(ExportParams),
    responses((status = 200, content_type = "text/csv", body = String,
               description = "UTF-8 with a byte-order mark; header row in `lang`"),
              (status = 422, body = ErrorBody)))]
async fn export_adhoc(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ExportParams>,
    ApiJson(body): ApiJson<ReportDraft>,
) -> ApiResult<Response> {
    let ja = japanese(q.lang.as_deref())?;
    let def = ReportDefinition::parse(&body)?;
    Ok(csv_response(&s, def, ja, "report"))
}

/// Saved reports the caller may see: shared ones and the caller's own (every one for an admin
/// token), the shipped ones first.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", params(Paging),
    responses((status = 200, body = Page<SavedReport>), (status = 400, body = ErrorBody)))]
async fn list_reports(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Page<SavedReport>>> {
    let (limit, offset) = paging.checked()?;
    let c = report_caller(&s, &caller).await?;
    let reader = ReportReader {
        user_id: c.user_id,
        sees_all: matches!(c.role, Role::Admin | Role::Manager),
    };
    Ok(Json(s.store.list_reports(reader, limit, offset).await?))
}

/// A report to save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveRequest {
    pub name: Option<String>,
    pub definition: ReportDraft,
    /// Whether everyone sees it (default: only its owner, managers and admins).
    #[serde(default)]
    pub shared: bool,
}

fn input(body: &SaveRequest) -> ApiResult<ReportInput> {
    let name = report::parse_name(body.name.as_deref());
    let def = ReportDefinition::parse(&body.definition).map_err(|e| e.prefixed("definition."));
    match (name, def) {
        (Ok(name), Ok(definition)) => Ok(ReportInput {
            name,
            definition,
            shared: body.shared,
        }),
        (Err(mut a), Err(b)) => {
            a.errors.extend(b.errors);
            Err(a.into())
        }
        (Err(e), _) | (_, Err(e)) => Err(e.into()),
    }
}

/// Saves a report (write token); it belongs to the user who created the token.
#[utoipa::path(post, path = "/api/v1/reports", tag = "reports", request_body = SaveRequest,
    responses((status = 201, body = SavedReport), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn create_report(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<SaveRequest>,
) -> ApiResult<(StatusCode, Json<SavedReport>)> {
    let c = report_caller(&s, &caller).await?;
    if !report::may_save(c.role) {
        return Err(ApiError::forbidden("a read token cannot save reports"));
    }
    let input = input(&body)?;
    let saved = s.store.create_report(&input, c.user_id, &c.actor).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// A saved report the caller may see, else 404.
async fn visible(s: &AppState, c: &ReportCaller, id: i64) -> ApiResult<SavedReport> {
    let r = s.store.saved_report(id).await?;
    if report::may_view(c.role, c.user_id, r.owner_id, r.shared) {
        Ok(r)
    } else {
        Err(ApiError::not_found(format!("report {id}")))
    }
}

#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "reports",
    params(("id" = i64, Path, description = "Report id")),
    responses((status = 200, body = SavedReport), (status = 404, body = ErrorBody)))]
async fn get_report(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<SavedReport>> {
    let c = report_caller(&s, &caller).await?;
    Ok(Json(visible(&s, &c, id).await?))
}

/// Replaces a saved report's name, definition and sharing (its owner's write token, or admin).
#[utoipa::path(put, path = "/api/v1/reports/{id}", tag = "reports", request_body = SaveRequest,
    params(("id" = i64, Path, description = "Report id")),
    responses((status = 200, body = SavedReport), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_report(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<SaveRequest>,
) -> ApiResult<Json<SavedReport>> {
    let c = report_caller(&s, &caller).await?;
    let current = visible(&s, &c, id).await?;
    if !report::may_edit(c.role, c.user_id, current.owner_id) {
        return Err(ApiError::forbidden(
            "only the report's owner, a manager or an admin changes it",
        ));
    }
    let input = input(&body)?;
    Ok(Json(s.store.update_report(id, &input, &c.actor).await?))
}

#[utoipa::path(delete, path = "/api/v1/reports/{id}", tag = "reports",
    params(("id" = i64, Path, description = "Report id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_report(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let c = report_caller(&s, &caller).await?;
    let current = visible(&s, &c, id).await?;
    if !report::may_edit(c.role, c.user_id, current.owner_id) {
        return Err(ApiError::forbidden(
            "only the report's owner, a manager or an admin deletes it",
        ));
    }
    s.store.delete_report(id, &c.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A saved definition the catalogue no longer accepts is a conflict the owner fixes.
fn saved_definition(r: &SavedReport) -> ApiResult<ReportDefinition> {
    ReportDefinition::parse(&r.definition).map_err(|e| {
        let mut err = ApiError::new(
            StatusCode::CONFLICT,
            "stale_definition",
            format!("the saved definition is no longer valid: {e}"),
        );
        err.fields = e.prefixed("definition.").errors;
        err
    })
}

/// Runs a saved report: one page of rows, or every group (up to 1,000).
#[utoipa::path(get, path = "/api/v1/reports/{id}/run", tag = "reports", params(("id" = i64, Path, description = "Report id"), Paging),
    responses((status = 200, body = ReportResult), (status = 404, body = ErrorBody)))]
async fn run_saved(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<ReportResult>> {
    let (offset, limit) = check_page(paging.offset, paging.limit)?;
    let c = report_caller(&s, &caller).await?;
    let r = visible(&s, &c, id).await?;
    let def = saved_definition(&r)?;
    let today = Utc::now().date_naive();
    Ok(Json(s.store.run_report(&def, today, offset, limit).await?))
}

/// Exports a saved report as CSV (UTF-8 with a byte-order mark).
#[utoipa::path(get, path = "/api/v1/reports/{id}/export", tag = "reports",
    params(("id" = i64, Path, description = "Report id"), ExportParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = ErrorBody)))]
async fn export_saved(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let ja = japanese(q.lang.as_deref())?;
    let c = report_caller(&s, &caller).await?;
    let r = visible(&s, &c, id).await?;
    let def = saved_definition(&r)?;
    Ok(csv_response(&s, def, ja, &format!("report-{id}")))
}
