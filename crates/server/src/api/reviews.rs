//! Champions and business reviews over the API: each account's contacts scored as champions,
//! and QBR / EBR documents — the CSM's text with the period's figures, as JSON or as a PDF in
//! Japanese or English.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use chrono::{NaiveDate, Utc};
use kizuna_domain::champion::ChampionScore;
use kizuna_domain::ids::AccountId;
use kizuna_domain::review::{BusinessReview, ReviewDraft, ReviewFacts};
use kizuna_domain::user::Locale;
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
        .routes(routes!(champions))
        .routes(routes!(list_reviews, create_review))
        .routes(routes!(get_review, update_review, delete_review))
        .routes(routes!(review_pdf))
}

#[derive(Debug, Deserialize, IntoParams)]
struct OnQuery {
    /// The day to score as of (default today).
    on: Option<NaiveDate>,
}

/// Every contact of the account scored as a champion (usage in 90 days, role, touchpoints in
/// 180 days, recency), best first; `tagged` and `suggested` mark the champions, `status` says
/// whether each is active, quiet (no use for 30 days) or has left.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/champions", tag = "reviews", params(("id" = i64, Path), OnQuery),
    responses((status = 200, body = Vec<ChampionScore>), (status = 404, body = ErrorBody)))]
async fn champions(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<OnQuery>,
) -> ApiResult<Json<Vec<ChampionScore>>> {
    let on = q.on.unwrap_or_else(|| Utc::now().date_naive());
    Ok(Json(s.store.account_champions(AccountId(id), on).await?))
}

/// The account's business reviews, the latest period first.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/reviews", tag = "reviews", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<BusinessReview>), (status = 404, body = ErrorBody)))]
async fn list_reviews(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<BusinessReview>>> {
    Ok(Json(s.store.list_reviews(AccountId(id)).await?))
}

/// Creates a review: kind (`qbr` by default), period, title, and the goals, value delivered and
/// next steps (one point per line).
#[utoipa::path(post, path = "/api/v1/accounts/{id}/reviews", tag = "reviews", params(("id" = i64, Path)), request_body = ReviewDraft,
    responses((status = 201, body = BusinessReview), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_review(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(draft): ApiJson<ReviewDraft>,
) -> ApiResult<(StatusCode, Json<BusinessReview>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.store
                .create_review(AccountId(id), draft, &c.actor)
                .await?,
        ),
    ))
}

/// A review with the figures of its period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewWithFacts {
    pub review: BusinessReview,
    pub facts: ReviewFacts,
}

#[utoipa::path(get, path = "/api/v1/reviews/{id}", tag = "reviews", params(("id" = i64, Path)),
    responses((status = 200, body = ReviewWithFacts), (status = 404, body = ErrorBody)))]
async fn get_review(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ReviewWithFacts>> {
    let (review, facts) = s
        .store
        .review_with_facts(id, &s.config.health.adoption)
        .await?;
    Ok(Json(ReviewWithFacts { review, facts }))
}

/// Changes the fields the body carries.
#[utoipa::path(patch, path = "/api/v1/reviews/{id}", tag = "reviews", params(("id" = i64, Path)), request_body = ReviewDraft,
    responses((status = 200, body = BusinessReview), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_review(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<ReviewDraft>,
) -> ApiResult<Json<BusinessReview>> {
    Ok(Json(s.store.update_review(id, patch, &c.actor).await?))
}

#[utoipa::path(delete, path = "/api/v1/reviews/{id}", tag = "reviews", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_review(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.delete_review(id, &c.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
struct LangQuery {
    /// `ja` (default) or `en`.
    lang: Option<String>,
}

/// The review as an A4 PDF in Japanese or English.
#[utoipa::path(get, path = "/api/v1/reviews/{id}/pdf", tag = "reviews", params(("id" = i64, Path), LangQuery),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn review_pdf(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<LangQuery>,
) -> ApiResult<Response> {
    let locale = match q.lang.as_deref() {
        None => Locale::Ja,
        Some(l) => l
            .parse::<Locale>()
            .map_err(|_| bad_param("lang", "must be `ja` or `en`"))?,
    };
    let (review, facts) = s
        .store
        .review_with_facts(id, &s.config.health.adoption)
        .await?;
    let i = kizuna_web::i18n::I18n::new(locale);
    let bytes = kizuna_web::review::pdf_of(i, &review, &facts, Utc::now().date_naive())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(kizuna_web::review::pdf_response(bytes, &review, i))
}
