//! `POST /api/v1/import/{kind}`: the CSV import over HTTP. The body is the file (UTF-8 or
//! Shift_JIS), spooled to a temporary file as it arrives so its size does not become memory.

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use futures::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::bad_param;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import_csv))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `true` writes the good rows even when some rows are bad.
    pub partial: Option<bool>,
}

/// The import's outcome (also in the body of a 422).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ImportReport)]
pub struct ImportReportSchema {
    pub kind: String,
    pub encoding: String,
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub rejected: u64,
    pub committed: bool,
    /// Each bad row: `line`, `field`, `message` (the first 1,000).
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<serde_json::Value>,
}

/// Imports a CSV file of `accounts`, `contacts`, `subscriptions`, `tickets`, `nps` or `touchpoints`.
/// Rows are matched on `external_id`. Without `partial`, a file with any bad row writes nothing
/// and answers 422 with every bad row's line, field and reason.
#[utoipa::path(post, path = "/api/v1/import/{kind}", tag = "records", params(("kind" = String, Path), ImportParams),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReportSchema), (status = 422, body = ImportReportSchema), (status = 400, body = ErrorBody)))]
async fn import_csv(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(kind): ApiPath<String>,
    ApiQuery(params): ApiQuery<ImportParams>,
    body: Body,
) -> ApiResult<(StatusCode, Json<kizuna_import::ImportReport>)> {
    let kind: kizuna_import::Kind = kind.parse().map_err(|e: String| bad_param("kind", e))?;
    let dir = tempfile::tempdir().map_err(ApiError::internal)?;
    let path = dir.path().join("upload.csv");
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(ApiError::internal)?;
    let mut stream = body.into_data_stream();
    let mut size = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("cannot read the upload: {e}")))?;
        size += chunk.len();
        if size > s.config.max_import_bytes {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "an import may be at most {} MB; use `kizuna import` for larger files",
                    s.config.max_import_bytes >> 20
                ),
            ));
        }
        file.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    file.flush().await.map_err(ApiError::internal)?;
    if size == 0 {
        return Err(ApiError::bad_request(
            "the body is empty; send the CSV file as the body",
        ));
    }
    let options = kizuna_import::ImportOptions {
        partial: params.partial.unwrap_or(false),
    };
    let report =
        kizuna_import::import_file(&s.store, kind, &path, options, &caller.actor, &|_, _, _| {})
            .await
            .map_err(|e| match e {
                kizuna_import::ImportError::Store(e) => ApiError::from(e),
                other => ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    other.to_string(),
                ),
            })?;
    let status = if report.rejected > 0 && !report.committed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)))
}
