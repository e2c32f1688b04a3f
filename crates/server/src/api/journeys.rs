//! `/api/v1/journeys`: journey maps (milestones with target days, per segment) and each account's
//! progress on them (on track / behind / stuck, time to first value).

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{NaiveDate, Utc};
use kizuna_domain::ids::AccountId;
use kizuna_domain::journey::JourneyDef;
use kizuna_store::{AccountJourney, Journey};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_journeys, create_journey))
        .routes(routes!(get_journey, replace_journey, delete_journey))
        .routes(routes!(account_journeys))
        .routes(routes!(complete_milestone, clear_milestone))
}

/// Every journey (the shipped onboarding journey is installed when there is none).
#[utoipa::path(get, path = "/api/v1/journeys", tag = "journeys", responses((status = 200, body = Vec<Journey>)))]
async fn list_journeys(State(s): State<AppState>) -> ApiResult<Json<Vec<Journey>>> {
    s.store.ensure_default_journey().await?;
    Ok(Json(s.store.list_journeys().await?))
}

#[utoipa::path(post, path = "/api/v1/journeys", tag = "journeys", request_body = JourneyDef,
    responses((status = 201, body = Journey), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_journey(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(def): ApiJson<JourneyDef>,
) -> ApiResult<(StatusCode, Json<Journey>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_journey(def, &caller.actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}", tag = "journeys", params(("id" = i64, Path)),
    responses((status = 200, body = Journey), (status = 404, body = ErrorBody)))]
async fn get_journey(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Journey>> {
    Ok(Json(s.store.journey(id).await?))
}

#[utoipa::path(put, path = "/api/v1/journeys/{id}", tag = "journeys", params(("id" = i64, Path)), request_body = JourneyDef,
    responses((status = 200, body = Journey), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replace_journey(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(def): ApiJson<JourneyDef>,
) -> ApiResult<Json<Journey>> {
    Ok(Json(s.store.update_journey(id, def, &caller.actor).await?))
}

#[utoipa::path(delete, path = "/api/v1/journeys/{id}", tag = "journeys", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_journey(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.delete_journey(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The journeys the account follows, with each milestone's due day, completion and status.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/journeys", tag = "journeys", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AccountJourney>), (status = 404, body = ErrorBody)))]
async fn account_journeys(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<AccountJourney>>> {
    Ok(Json(s.store.account_journeys(AccountId(id)).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    /// The day it was reached; default today.
    pub completed_on: Option<NaiveDate>,
}

/// Marks a milestone reached by hand.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/journeys/{journey_id}/milestones/{key}", tag = "journeys",
    params(("id" = i64, Path), ("journey_id" = i64, Path), ("key" = String, Path)), request_body = CompleteBody,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn complete_milestone(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((id, journey_id, key)): ApiPath<(i64, i64, String)>,
    ApiJson(body): ApiJson<CompleteBody>,
) -> ApiResult<StatusCode> {
    let day = body.completed_on.unwrap_or_else(|| Utc::now().date_naive());
    s.store
        .set_milestone(AccountId(id), journey_id, &key, Some(day), &caller.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/accounts/{id}/journeys/{journey_id}/milestones/{key}", tag = "journeys",
    params(("id" = i64, Path), ("journey_id" = i64, Path), ("key" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn clear_milestone(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((id, journey_id, key)): ApiPath<(i64, i64, String)>,
) -> ApiResult<StatusCode> {
    s.store
        .set_milestone(AccountId(id), journey_id, &key, None, &caller.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
