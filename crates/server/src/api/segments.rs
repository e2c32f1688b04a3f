//! `/api/v1/segments`: saved dynamic segments, conditions in CEL over account fields and
//! indicators, with live counts; and a preview of a condition before saving it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use kizuna_domain::condition::Condition;
use kizuna_domain::segmentation::SegmentationRules;
use kizuna_store::{Segment, SegmentDraft, SegmentMatch, SegmentationRun};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_segments, create_segment))
        .routes(routes!(get_segment, update_segment, delete_segment))
        .routes(routes!(segment_accounts))
        .routes(routes!(preview))
        .routes(routes!(get_rules, put_rules))
        .routes(routes!(apply_rules))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentWithCount {
    #[serde(flatten)]
    pub segment: Segment,
    /// Accounts matching now.
    pub count: usize,
}

async fn count(s: &AppState, seg: Segment) -> ApiResult<SegmentWithCount> {
    let condition = Condition::parse("expression", &seg.expression)?;
    let m = s.store.match_condition(&condition, 0).await?;
    Ok(SegmentWithCount {
        segment: seg,
        count: m.count,
    })
}

/// Every saved segment with how many accounts match it now.
#[utoipa::path(get, path = "/api/v1/segments", tag = "segments",
    responses((status = 200, body = Vec<SegmentWithCount>)))]
async fn list_segments(State(s): State<AppState>) -> ApiResult<Json<Vec<SegmentWithCount>>> {
    let mut out = Vec::new();
    for seg in s.store.list_segments().await? {
        out.push(count(&s, seg).await?);
    }
    Ok(Json(out))
}

/// Saves a segment. The condition is checked: a syntax error says the line and column, an
/// unknown field lists the known ones (422 on `expression`).
#[utoipa::path(post, path = "/api/v1/segments", tag = "segments", request_body = SegmentDraft,
    responses((status = 201, body = SegmentWithCount), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_segment(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(draft): ApiJson<SegmentDraft>,
) -> ApiResult<(StatusCode, Json<SegmentWithCount>)> {
    let seg = s.store.create_segment(draft, &caller.actor).await?;
    Ok((StatusCode::CREATED, Json(count(&s, seg).await?)))
}

#[utoipa::path(get, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = i64, Path)),
    responses((status = 200, body = SegmentWithCount), (status = 404, body = ErrorBody)))]
async fn get_segment(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<SegmentWithCount>> {
    let seg = s.store.segment(id).await?;
    Ok(Json(count(&s, seg).await?))
}

#[utoipa::path(patch, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = i64, Path)), request_body = SegmentDraft,
    responses((status = 200, body = SegmentWithCount), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_segment(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(draft): ApiJson<SegmentDraft>,
) -> ApiResult<Json<SegmentWithCount>> {
    let seg = s.store.update_segment(id, draft, &caller.actor).await?;
    Ok(Json(count(&s, seg).await?))
}

#[utoipa::path(delete, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_segment(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.delete_segment(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchParams {
    /// How many matching account ids to return (default 50, at most 1,000).
    pub limit: Option<usize>,
}

/// The accounts matching a saved segment now.
#[utoipa::path(get, path = "/api/v1/segments/{id}/accounts", tag = "segments", params(("id" = i64, Path), MatchParams),
    responses((status = 200, body = SegmentMatch), (status = 404, body = ErrorBody)))]
async fn segment_accounts(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<MatchParams>,
) -> ApiResult<Json<SegmentMatch>> {
    let seg = s.store.segment(id).await?;
    let condition = Condition::parse("expression", &seg.expression)?;
    Ok(Json(
        s.store
            .match_condition(&condition, p.limit.unwrap_or(50).min(1000))
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    pub expression: String,
    pub limit: Option<usize>,
}

/// Which accounts a condition would match, without saving it.
#[utoipa::path(post, path = "/api/v1/segments/preview", tag = "segments", request_body = PreviewBody,
    responses((status = 200, body = SegmentMatch), (status = 422, body = ErrorBody)))]
async fn preview(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<PreviewBody>,
) -> ApiResult<Json<SegmentMatch>> {
    let condition = Condition::parse("expression", &body.expression)?;
    Ok(Json(
        s.store
            .match_condition(&condition, body.limit.unwrap_or(50).min(1000))
            .await?,
    ))
}

/// The segmentation rules: per axis (contract value, growth potential, brand value, referral
/// likelihood, coverage tier), the first rule whose condition holds sets the value.
#[utoipa::path(get, path = "/api/v1/segmentation/rules", tag = "segments",
    responses((status = 200, body = SegmentationRules)))]
async fn get_rules(State(s): State<AppState>) -> ApiResult<Json<SegmentationRules>> {
    Ok(Json(s.store.segmentation_rules().await?))
}

/// Replaces the rules (admin). A bad value or condition is a 422 naming `rules[i].value` or
/// `rules[i].when`.
#[utoipa::path(put, path = "/api/v1/segmentation/rules", tag = "segments", request_body = SegmentationRules,
    responses((status = 200, body = SegmentationRules), (status = 422, body = ErrorBody)))]
async fn put_rules(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(rules): ApiJson<SegmentationRules>,
) -> ApiResult<Json<SegmentationRules>> {
    s.store
        .set_segmentation_rules(&rules, &caller.actor)
        .await?;
    Ok(Json(s.store.segmentation_rules().await?))
}

/// Applies the rules to every account now; axes a person set by hand stay as they are.
#[utoipa::path(post, path = "/api/v1/segmentation/apply", tag = "segments",
    responses((status = 200, body = SegmentationRun)))]
async fn apply_rules(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<SegmentationRun>> {
    Ok(Json(s.store.apply_segmentation_rules(&caller.actor).await?))
}
