//! Who is calling, and what they may do.
//!
//! The REST API takes `Authorization: Bearer TOKEN`. A token's scope decides what it may do:
//! `read` for GET, `write` for changes, `admin` for tokens, users and settings. The check runs in
//! one middleware for the whole `/api/v1` tree, so no handler can forget it.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::Response;
use kizuna_domain::token::TokenScope;
use kizuna_store::Actor;

use crate::error::ApiError;
use crate::AppState;

/// The authenticated caller of a request, put in the request's extensions by [`require_token`].
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub scope: TokenScope,
}

/// The bearer token of a request, if it carries one.
pub fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The scope a request needs: admin for the admin areas, read for reads, write for the rest.
fn needed_scope(method: &Method, path: &str) -> TokenScope {
    const ADMIN_AREAS: &[&str] = &[
        "/api/v1/tokens",
        "/api/v1/users",
        "/api/v1/audit",
        "/api/v1/webhooks",
        "/api/v1/webhook-deliveries",
        "/api/v1/jobs",
    ];
    // Areas where reading is for everyone and changing is for admins.
    const ADMIN_WRITES: &[&str] = &[
        "/api/v1/features",
        "/api/v1/scorecards",
        "/api/v1/segmentation",
        "/api/v1/rules",
        "/api/v1/email-templates",
        "/api/v1/emails",
        "/api/v1/engagement",
    ];
    // Starting a playbook is a CSM's action; changing playbooks is an admin's.
    let playbook_admin = path.starts_with("/api/v1/playbooks") && !path.ends_with("/start");
    // The team's framework, ladder and incentive plans are an admin's; an assessment is a
    // write token's.
    let team_admin =
        path.starts_with("/api/v1/team/") && !path.starts_with("/api/v1/team/assessments");
    // Running or exporting a report reads; a definition travels in the body of a POST.
    let read_only = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || (*method == Method::POST
            && matches!(path, "/api/v1/reports/run" | "/api/v1/reports/export"));
    if ADMIN_AREAS.iter().any(|p| path.starts_with(p))
        || ((ADMIN_WRITES.iter().any(|p| path.starts_with(p)) || playbook_admin || team_admin)
            && !read_only)
        || ((path.starts_with("/api/v1/insight/settings")
            || (path.starts_with("/api/v1/insight/weight-suggestions/")
                && path.ends_with("/accept")))
            && !read_only)
    {
        TokenScope::Admin
    } else if read_only {
        TokenScope::Read
    } else {
        TokenScope::Write
    }
}

/// Middleware: authenticates the bearer token and checks its scope against the request.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(secret) = bearer(&req) else {
        return Err(ApiError::unauthorized(
            "send an API token as `Authorization: Bearer TOKEN`",
        ));
    };
    let token = state
        .store
        .authenticate_token(secret)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the API token is not valid or has been revoked"))?;
    let needed = needed_scope(req.method(), req.uri().path());
    if !token.scope.allows(needed) {
        return Err(ApiError::forbidden(format!(
            "this token has the `{}` scope; this request needs `{needed}`",
            token.scope
        )));
    }
    let caller = Caller {
        actor: Actor::Token {
            id: token.id.0,
            name: token.name.clone(),
        },
        scope: token.scope,
    };
    req.extensions_mut().insert(caller);
    Ok(next.run(req).await)
}

/// Hashes a password with Argon2id and a random salt, in the PHC string format.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

/// Whether `password` matches a stored PHC hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_method_and_area() {
        let check =
            |m: Method, p: &str, s: TokenScope| assert_eq!(needed_scope(&m, p), s, "{m} {p}");
        check(Method::GET, "/api/v1/accounts", TokenScope::Read);
        check(Method::POST, "/api/v1/accounts", TokenScope::Write);
        check(Method::PATCH, "/api/v1/accounts/1", TokenScope::Write);
        check(Method::GET, "/api/v1/tokens", TokenScope::Admin);
        check(Method::POST, "/api/v1/users", TokenScope::Admin);
        check(Method::GET, "/api/v1/features", TokenScope::Read);
        check(Method::GET, "/api/v1/team/incentives", TokenScope::Read);
        check(Method::POST, "/api/v1/team/skills", TokenScope::Admin);
        check(
            Method::PUT,
            "/api/v1/team/incentive-plans/1/targets/2",
            TokenScope::Admin,
        );
        check(Method::POST, "/api/v1/team/assessments", TokenScope::Write);
        check(Method::PATCH, "/api/v1/features/3", TokenScope::Admin);
        check(Method::GET, "/api/v1/insight/settings", TokenScope::Read);
        check(Method::PUT, "/api/v1/insight/settings", TokenScope::Admin);
        check(
            Method::POST,
            "/api/v1/insight/weight-suggestions",
            TokenScope::Write,
        );
        check(
            Method::POST,
            "/api/v1/insight/weight-suggestions/4/accept",
            TokenScope::Admin,
        );
        check(
            Method::POST,
            "/api/v1/insight/churn-model/train",
            TokenScope::Write,
        );
        check(Method::POST, "/api/v1/reports/run", TokenScope::Read);
        check(Method::POST, "/api/v1/reports/export", TokenScope::Read);
        check(Method::POST, "/api/v1/reports", TokenScope::Write);
        check(Method::DELETE, "/api/v1/reports/3", TokenScope::Write);
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(!verify_password("x", "not a hash"));
    }
}
