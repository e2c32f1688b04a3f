//! `/api/v1/metrics`: numeric time series for accounts and contacts (Planhat-style metrics).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{Duration, NaiveDate, Utc};
use kizuna_domain::ids::AccountId;
use kizuna_domain::metric::{MetricDraft, MetricPoint, NewMetric};
use kizuna_domain::ValidationError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::{bad_param, parse_param};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record_metrics))
        .routes(routes!(account_metrics))
}

/// One value, or many under `metrics`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MetricsBody {
    Many { metrics: Vec<MetricDraft> },
    One(MetricDraft),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsStored {
    pub stored: usize,
}

/// Stores metric values, all or none. Sending the same (subject, dimension, date) again replaces
/// the value, so a retry never counts twice.
#[utoipa::path(post, path = "/api/v1/metrics", tag = "usage", request_body = MetricsBody,
    responses((status = 200, body = MetricsStored), (status = 422, body = ErrorBody)))]
async fn record_metrics(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<MetricsBody>,
) -> ApiResult<(StatusCode, Json<MetricsStored>)> {
    let (drafts, prefixed) = match body {
        MetricsBody::Many { metrics } => (metrics, true),
        MetricsBody::One(m) => (vec![m], false),
    };
    if drafts.len() > 10_000 {
        return Err(
            ValidationError::single("metrics", "send at most 10,000 values per request").into(),
        );
    }
    let mut parsed = Vec::with_capacity(drafts.len());
    let mut errors = Vec::new();
    for (i, d) in drafts.into_iter().enumerate() {
        match NewMetric::parse(d) {
            Ok(m) => parsed.push(m),
            Err(e) if prefixed => errors.extend(e.prefixed(&format!("metrics[{i}].")).errors),
            Err(e) => errors.extend(e.errors),
        }
    }
    if !errors.is_empty() {
        return Err(ValidationError { errors }.into());
    }
    let stored = s.store.record_metrics(&parsed).await?;
    Ok((StatusCode::OK, Json(MetricsStored { stored })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricParams {
    /// Only this dimension.
    pub dimension: Option<String>,
    /// First day (YYYY-MM-DD); default 90 days before `to`.
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD); default today.
    pub to: Option<String>,
}

/// The account's metric values (its own and its contacts'), by dimension and day.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/metrics", tag = "usage", params(("id" = i64, Path), MetricParams),
    responses((status = 200, body = Vec<MetricPoint>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn account_metrics(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<MetricParams>,
) -> ApiResult<Json<Vec<MetricPoint>>> {
    let to: NaiveDate =
        parse_param("to", p.to.as_deref())?.unwrap_or_else(|| Utc::now().date_naive());
    let from: NaiveDate =
        parse_param("from", p.from.as_deref())?.unwrap_or(to - Duration::days(90));
    if from > to {
        return Err(bad_param("from", format!("{from} is after `to` ({to})")));
    }
    s.store.account(AccountId(id)).await?;
    Ok(Json(
        s.store
            .account_metrics(AccountId(id), p.dimension.as_deref(), from, to)
            .await?,
    ))
}
