//! Admin-scope endpoints: API tokens, team members, the audit log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use kizuna_domain::ids::{TokenId, UserId};
use kizuna_domain::token::{ApiToken, TokenDraft};
use kizuna_domain::user::{NewUser, User, UserDraft};
use kizuna_store::AuditEntry;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::Paging;
use crate::auth::{hash_password, Caller};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(audit_log))
}

/// A new token and its secret. The secret is shown this once; store it now.
#[derive(Serialize, ToSchema)]
struct IssuedTokenBody {
    token: ApiToken,
    secret: String,
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "admin", responses((status = 200, body = Vec<ApiToken>), (status = 403, body = ErrorBody)))]
async fn list_tokens(State(s): State<AppState>) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(s.store.list_tokens().await?))
}

/// Issues a token; `scope` is `read`, `write` or `admin`.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", request_body = TokenDraft,
    responses((status = 201, body = IssuedTokenBody), (status = 422, body = ErrorBody)))]
async fn create_token(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiJson(draft): ApiJson<TokenDraft>,
) -> ApiResult<(StatusCode, Json<IssuedTokenBody>)> {
    let scope = draft
        .scope
        .ok_or_else(|| ApiError::invalid("scope", "is required: read, write or admin"))?;
    let name = draft.name.unwrap_or_else(|| format!("{scope} token"));
    let issued = s.store.issue_token(&name, scope, &c.actor).await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedTokenBody {
            token: issued.token,
            secret: issued.secret,
        }),
    ))
}

/// Revokes a token at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = ApiToken), (status = 404, body = ErrorBody)))]
async fn revoke_token(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ApiToken>> {
    Ok(Json(s.store.revoke_token(TokenId(id), &c.actor).await?))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "admin", responses((status = 200, body = Vec<User>)))]
async fn list_users(State(s): State<AppState>) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(s.store.list_users().await?))
}

/// Adds a team member; without a password they cannot sign in until one is set.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = UserDraft,
    responses((status = 201, body = User), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiJson(draft): ApiJson<UserDraft>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let new = NewUser::parse(draft)?;
    let hash = new
        .password
        .as_ref()
        .map(|p| hash_password(p.expose()))
        .transpose()?;
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_user(new, hash, &c.actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
async fn get_user(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<User>> {
    Ok(Json(s.store.user(UserId(id)).await?))
}

/// Changes a team member: role, name, locale, active, or a new password.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "admin", params(("id" = i64, Path)), request_body = UserDraft,
    responses((status = 200, body = User), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_user(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<UserDraft>,
) -> ApiResult<Json<User>> {
    let hash = match patch.password.as_deref() {
        None => None,
        Some(p) => {
            let p = kizuna_domain::user::Password::parse(p)
                .map_err(|e| ApiError::invalid("password", e))?;
            Some(hash_password(p.expose())?)
        }
    };
    Ok(Json(
        s.store
            .update_user(UserId(id), patch, hash, &c.actor)
            .await?,
    ))
}

#[derive(Serialize, ToSchema)]
struct AuditEntryBody {
    id: i64,
    at: chrono::DateTime<chrono::Utc>,
    actor: String,
    action: String,
    subject_type: String,
    subject_id: Option<i64>,
    detail: Option<String>,
}

impl From<AuditEntry> for AuditEntryBody {
    fn from(e: AuditEntry) -> Self {
        AuditEntryBody {
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            subject_type: e.subject_type,
            subject_id: e.subject_id,
            detail: e.detail,
        }
    }
}

/// Who changed what, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(Paging), responses((status = 200, body = Vec<AuditEntryBody>)))]
async fn audit_log(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Vec<AuditEntryBody>>> {
    let (limit, offset) = p.checked()?;
    let entries = s
        .store
        .audit_log(limit.unwrap_or(50), offset.unwrap_or(0))
        .await?;
    Ok(Json(entries.into_iter().map(Into::into).collect()))
}
