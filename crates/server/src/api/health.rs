//! Health scores over the API: scorecards (managed by admins, exportable as JSON or TOML), each
//! account's score with its explanation and history, manual scores, and a recompute on demand.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{Duration, NaiveDate, Utc};
use kizuna_domain::health::{HealthBand, Trend};
use kizuna_domain::ids::AccountId;
use kizuna_domain::indicator::{AdoptionBand, Indicators};
use kizuna_domain::scorecard::{
    changes, GroupScore, ManualScore, MeasureChange, Scorecard, ScorecardDef,
};
use kizuna_domain::ValidationError;
use kizuna_store::StoredScorecard;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::bad_param;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_scorecards, create_scorecard))
        .routes(routes!(get_scorecard, replace_scorecard, delete_scorecard))
        .routes(routes!(export_scorecard))
        .routes(routes!(preview_scorecard))
        .routes(routes!(account_health))
        .routes(routes!(account_health_history))
        .routes(routes!(set_manual_score, delete_manual_score))
        .routes(routes!(recompute))
}

/// Reads a scorecard body: JSON, or TOML when the content type says `toml`.
fn read_definition(headers: &HeaderMap, body: &[u8]) -> ApiResult<Scorecard> {
    let toml = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("toml"));
    let def: ScorecardDef = if toml {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::bad_request("the TOML body is not UTF-8"))?;
        toml::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("the TOML body is not a scorecard: {e}")))?
    } else {
        let de = &mut serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            ApiError::from(ValidationError::single(
                if path == "." {
                    "body".to_string()
                } else {
                    path
                },
                e.inner().to_string(),
            ))
        })?
    };
    Ok(Scorecard::parse(def)?)
}

/// How a scorecard (JSON, or TOML with `Content-Type: application/toml`) would move the accounts
/// it applies to, without saving it: accounts per band now and with it, and the biggest moves.
#[utoipa::path(post, path = "/api/v1/scorecards/preview", tag = "health", request_body = ScorecardDef,
    responses((status = 200, body = kizuna_store::ScorecardPreview), (status = 422, body = ErrorBody)))]
async fn preview_scorecard(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<kizuna_store::ScorecardPreview>> {
    let card = read_definition(&headers, &body)?;
    Ok(Json(
        s.store
            .preview_scorecard(&card, chrono::Utc::now().date_naive())
            .await?,
    ))
}

/// Every scorecard, the default first.
#[utoipa::path(get, path = "/api/v1/scorecards", tag = "health",
    responses((status = 200, body = Vec<StoredScorecard>)))]
async fn list_scorecards(State(s): State<AppState>) -> ApiResult<Json<Vec<StoredScorecard>>> {
    s.store.ensure_default_scorecard().await?;
    Ok(Json(s.store.list_scorecards().await?))
}

/// Adds a scorecard (JSON, or TOML with `Content-Type: application/toml`). Validated: a negative
/// weight, an unknown indicator or overlapping bands is a 422 naming the field.
#[utoipa::path(post, path = "/api/v1/scorecards", tag = "health", request_body = ScorecardDef,
    responses((status = 201, body = StoredScorecard), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_scorecard(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<StoredScorecard>)> {
    let card = read_definition(&headers, &body)?;
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_scorecard(card, &caller.actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/scorecards/{id}", tag = "health", params(("id" = i64, Path)),
    responses((status = 200, body = StoredScorecard), (status = 404, body = ErrorBody)))]
async fn get_scorecard(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<StoredScorecard>> {
    Ok(Json(s.store.scorecard(id).await?))
}

/// Replaces a scorecard's whole definition; every account is rescored shortly after.
#[utoipa::path(put, path = "/api/v1/scorecards/{id}", tag = "health", params(("id" = i64, Path)), request_body = ScorecardDef,
    responses((status = 200, body = StoredScorecard), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replace_scorecard(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<StoredScorecard>> {
    let card = read_definition(&headers, &body)?;
    Ok(Json(
        s.store.update_scorecard(id, card, &caller.actor).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/scorecards/{id}", tag = "health", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "the default scorecard")))]
async fn delete_scorecard(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.delete_scorecard(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `json` (default) or `toml`.
    pub format: Option<String>,
}

/// The definition as a file to keep in version control or load into another instance.
#[utoipa::path(get, path = "/api/v1/scorecards/{id}/export", tag = "health", params(("id" = i64, Path), ExportParams),
    responses((status = 200, description = "the definition file"), (status = 404, body = ErrorBody)))]
async fn export_scorecard(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let card = s.store.scorecard(id).await?;
    let (text, kind, ext) = match p.format.as_deref().unwrap_or("json") {
        "json" => (
            serde_json::to_string_pretty(&card.definition).map_err(ApiError::internal)?,
            "application/json",
            "json",
        ),
        "toml" => (
            toml::to_string_pretty(&card.definition).map_err(ApiError::internal)?,
            "application/toml",
            "toml",
        ),
        other => return Err(bad_param("format", format!("`{other}`: use json or toml"))),
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"scorecard-{id}.{ext}\""),
            ),
        ],
        text,
    )
        .into_response())
}

/// An account's health now, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthExplanation {
    pub account_id: i64,
    pub scorecard_id: i64,
    pub scorecard_name: String,
    /// 0–100; null when no measure has data.
    pub score: Option<f64>,
    pub band: Option<HealthBand>,
    pub trend: Option<Trend>,
    /// The score of the snapshot before today.
    pub previous_score: Option<f64>,
    pub previous_day: Option<NaiveDate>,
    pub adoption_index: Option<f64>,
    pub adoption_band: Option<AdoptionBand>,
    /// Each group and measure: raw value, score, weight, share and contribution in points.
    pub groups: Vec<GroupScore>,
    /// What moved since the previous snapshot, biggest effect first.
    pub changes: Vec<MeasureChange>,
    pub indicators: Indicators,
    /// Scores set by hand (expired ones included, with their expiry).
    pub manual_scores: Vec<ManualScore>,
    /// The stored snapshot for today differs from this live figure: a recompute is queued.
    pub pending_recompute: bool,
}

/// The current score with its explanation: every group and measure with its raw value, score,
/// weight and contribution, and what changed since the previous snapshot and why.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/health", tag = "health", params(("id" = i64, Path)),
    responses((status = 200, body = HealthExplanation), (status = 404, body = ErrorBody)))]
async fn account_health(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<HealthExplanation>> {
    let account = AccountId(id);
    s.store.account(account).await?;
    let adoption = &s.config.health.adoption;
    let Some(e) = s.store.explain_account(account, adoption).await? else {
        return Err(ApiError::not_found(format!(
            "a health score for account {id} (it has churned)"
        )));
    };
    let today = Utc::now().date_naive();
    let previous = s.store.snapshot_before(account, today).await?;
    let stored = s.store.snapshot_on(account, today).await?;
    let points = e.health.points();
    let moved = previous
        .as_ref()
        .map(|p| changes(&p.measures, &points))
        .unwrap_or_default();
    let pending = stored
        .as_ref()
        .is_none_or(|st| st.day != today || st.score != e.health.score);
    Ok(Json(HealthExplanation {
        account_id: id,
        scorecard_id: e.scorecard_id,
        scorecard_name: e.scorecard_name,
        score: e.health.score,
        band: e.health.band,
        trend: e.trend,
        previous_score: previous.as_ref().and_then(|p| p.score),
        previous_day: previous.as_ref().map(|p| p.day),
        adoption_index: e.indicators.adoption_index,
        adoption_band: e.adoption_band,
        groups: e.health.groups,
        changes: moved,
        indicators: e.indicators,
        manual_scores: e.manual,
        pending_recompute: pending,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Days back from today (default 90, at most 730).
    pub days: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthPoint {
    pub day: NaiveDate,
    pub score: Option<f64>,
    pub band: Option<HealthBand>,
    pub trend: Option<Trend>,
    pub adoption_index: Option<f64>,
    pub adoption_band: Option<AdoptionBand>,
    pub scorecard_id: i64,
}

/// One point per day with a snapshot, oldest first.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/health/history", tag = "health", params(("id" = i64, Path), HistoryParams),
    responses((status = 200, body = Vec<HealthPoint>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn account_health_history(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<HistoryParams>,
) -> ApiResult<Json<Vec<HealthPoint>>> {
    let days = p.days.unwrap_or(90);
    if !(1..=730).contains(&days) {
        return Err(bad_param("days", "must be between 1 and 730"));
    }
    s.store.account(AccountId(id)).await?;
    let from = Utc::now().date_naive() - Duration::days(days);
    let history = s.store.health_history(AccountId(id), from).await?;
    Ok(Json(
        history
            .into_iter()
            .map(|h| HealthPoint {
                day: h.day,
                score: h.score,
                band: h.band,
                trend: h.trend,
                adoption_index: h.adoption_index,
                adoption_band: h.adoption_band,
                scorecard_id: h.scorecard_id,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualScoreBody {
    /// 0–100.
    pub score: f64,
    /// The score stops counting on this day; without it, it stays until removed.
    pub expires_on: Option<NaiveDate>,
    pub note: Option<String>,
}

/// Sets a score by hand for one measure (a manual measure such as `csm_sentiment`, or an override
/// of a computed one), with an optional expiry. The account is rescored within seconds.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/health/manual/{measure}", tag = "health",
    params(("id" = i64, Path), ("measure" = String, Path)), request_body = ManualScoreBody,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_manual_score(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((id, measure)): ApiPath<(i64, String)>,
    ApiJson(body): ApiJson<ManualScoreBody>,
) -> ApiResult<StatusCode> {
    let known = s.store.list_scorecards().await?.iter().any(|c| {
        c.definition
            .groups
            .iter()
            .flat_map(|g| &g.measures)
            .any(|m| m.key == measure)
    });
    if !known {
        return Err(ValidationError::single(
            "measure",
            format!("no scorecard has a measure `{measure}`"),
        )
        .into());
    }
    s.store
        .set_manual_score(
            AccountId(id),
            &ManualScore {
                measure,
                score: body.score,
                expires_on: body.expires_on,
            },
            body.note.as_deref(),
            &caller.actor,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/accounts/{id}/health/manual/{measure}", tag = "health",
    params(("id" = i64, Path), ("measure" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_manual_score(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((id, measure)): ApiPath<(i64, String)>,
) -> ApiResult<StatusCode> {
    s.store
        .delete_manual_score(AccountId(id), &measure, &caller.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecomputeResult {
    pub day: NaiveDate,
    pub accounts: usize,
    pub scored: usize,
    pub seconds: f64,
}

/// Recomputes every account's score for today now (the server also does it daily and whenever an
/// account's inputs change).
#[utoipa::path(post, path = "/api/v1/health/recompute", tag = "health",
    responses((status = 200, body = RecomputeResult)))]
async fn recompute(State(s): State<AppState>) -> ApiResult<Json<RecomputeResult>> {
    let today = Utc::now().date_naive();
    let run = s.store.score_all(today, &s.config.health.adoption).await?;
    Ok(Json(RecomputeResult {
        day: today,
        accounts: run.accounts,
        scored: run.scored,
        seconds: run.seconds,
    }))
}
