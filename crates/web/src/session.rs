//! Signing in and staying signed in: session cookies, CSRF tokens, the language of each request,
//! and the one middleware every UI route goes through.
//!
//! The session id is 32 random bytes in an HttpOnly, SameSite=Lax cookie (Secure behind HTTPS or
//! when configured); the database keeps only its SHA-256. Every state-changing request must carry
//! the session's CSRF token, as the `_csrf` form field or the `X-CSRF-Token` header (htmx sends
//! it from the page's `hx-headers`); the sign-in form, which has no session yet, uses a
//! double-submit cookie instead. The check sits in the middleware, so no handler can forget it.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use kizuna_domain::account::Account;
use kizuna_domain::user::{Locale, Role, User};
use kizuna_store::Actor;

use crate::error::{ErrorMarker, WebError};
use crate::i18n::{from_accept_language, I18n};
use crate::{layout, WebState};

pub const SESSION_COOKIE: &str = "kizuna_session";
/// The sign-in form's double-submit token.
pub const SIGNIN_CSRF_COOKIE: &str = "kizuna_signin_csrf";
/// The language chosen before signing in.
pub const LANG_COOKIE: &str = "kizuna_lang";
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest form body read for its CSRF field.
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// The signed-in user of a request, its CSRF token and language.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub user: User,
    pub csrf: String,
    pub i18n: I18n,
    pub session_secret: String,
    pub today: NaiveDate,
    pub secure: bool,
}

impl Ctx {
    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.user.id.0,
            email: self.user.email.to_string(),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// Admins and managers edit every account, a CSM the accounts they own, a viewer none.
    pub fn can_edit(&self, account: &Account) -> bool {
        match self.user.role {
            Role::Admin | Role::Manager => true,
            Role::Csm => account.owner_id == Some(self.user.id),
            Role::Viewer => false,
        }
    }

    pub fn require_admin(&self) -> Result<(), WebError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }

    /// Admins and managers run the team: assessments, the framework, the ladder, incentive plans.
    pub fn can_manage(&self) -> bool {
        matches!(self.user.role, Role::Admin | Role::Manager)
    }

    pub fn require_manage(&self) -> Result<(), WebError> {
        if self.can_manage() {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }

    pub fn require_edit(&self, account: &Account) -> Result<(), WebError> {
        if self.can_edit(account) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }
}

/// The language of a request made without a session (sign-in page, error pages).
#[derive(Debug, Clone, Copy)]
pub struct RequestLocale(pub I18n);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or(WebError::Forbidden)
    }
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Ctx>().cloned())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestLocale {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<RequestLocale>()
            .copied()
            .unwrap_or(RequestLocale(I18n::new(locale_of_headers(&parts.headers)))))
    }
}

/// The value of one cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language of a request without a signed-in user: the language cookie, else the browser's.
pub fn locale_of_headers(headers: &HeaderMap) -> Locale {
    cookie(headers, LANG_COOKIE)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            from_accept_language(
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok()),
            )
        })
}

/// Whether cookies get the Secure flag: as configured, else when a proxy says the browser used
/// HTTPS.
pub fn is_secure(state: &WebState, headers: &HeaderMap) -> bool {
    state.config.secure_cookies.unwrap_or_else(|| {
        headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
    })
}

/// A `Set-Cookie` value with Kizuna's flags; `max_age` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn random_token() -> String {
    let mut buf = [0u8; 32];
    OsRng.fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Hashes a password with Argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, WebError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| WebError::Internal(format!("hashing a password: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Reads the CSRF token of a request: the header, else the form field (the body is put back).
async fn presented_csrf(req: Request) -> Result<(Request, Option<String>), WebError> {
    if let Some(v) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        let v = v.to_string();
        return Ok((req, Some(v)));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((req, None));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| WebError::Invalid("the form is too large".into()))?;
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v)
        });
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}

fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// Paths reachable without signing in.
fn is_public(path: &str) -> bool {
    path == "/signin" || path.starts_with("/assets/") || is_signed_link(path)
}

/// The pages a customer reaches from an e-mail (NPS answer, unsubscribe): the signed link is the
/// credential, so they need no session and no CSRF token.
fn is_signed_link(path: &str) -> bool {
    path.starts_with("/s/") || path.starts_with("/u/")
}

/// The middleware of every UI route: finds the session, sets the language, checks the CSRF token
/// of every change, sends the signed-out to the sign-in page, and renders error pages.
pub async fn gate(State(state): State<WebState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/assets/") {
        return next.run(req).await;
    }
    let headers = req.headers().clone();
    let secure = is_secure(&state, &headers);
    let session = match cookie(&headers, SESSION_COOKIE) {
        Some(secret) => match state.store.web_session(secret).await {
            Ok(s) => s.map(|s| (secret.to_string(), s)),
            Err(e) => {
                return render_error(
                    WebError::from(e).into_response(),
                    I18n::new(locale_of_headers(&headers)),
                    None,
                    is_htmx(&headers),
                )
            }
        },
        None => None,
    };
    let i18n = I18n::new(
        session
            .as_ref()
            .map(|(_, s)| s.user.locale)
            .unwrap_or_else(|| locale_of_headers(&headers)),
    );
    let ctx = session.map(|(secret, s)| Ctx {
        user: s.user,
        csrf: s.csrf_token,
        i18n,
        session_secret: secret,
        today: chrono::Utc::now().date_naive(),
        secure,
    });
    let htmx = is_htmx(&headers);

    let mut req = req;
    if !matches!(*req.method(), Method::GET | Method::HEAD) && !is_signed_link(&path) {
        let expected = match (&ctx, path.as_str()) {
            (Some(c), _) => Some(c.csrf.clone()),
            (None, "/signin") => cookie(&headers, SIGNIN_CSRF_COOKIE).map(str::to_string),
            (None, _) => None,
        };
        let (r, presented) = match presented_csrf(req).await {
            Ok(x) => x,
            Err(e) => return render_error(e.into_response(), i18n, ctx.as_ref(), htmx),
        };
        req = r;
        let ok = matches!((&expected, &presented), (Some(e), Some(p)) if same_secret(e, p));
        if !ok && (ctx.is_some() || path == "/signin") {
            return render_error(
                WebError::StaleForm.into_response(),
                i18n,
                ctx.as_ref(),
                htmx,
            );
        }
    }

    if ctx.is_none() && !is_public(&path) {
        let target = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let location = if *req.method() == Method::GET && target != "/" {
            format!("/signin?next={}", encode_component(&target))
        } else {
            "/signin".to_string()
        };
        if htmx {
            let mut resp = StatusCode::OK.into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert("hx-redirect", v);
            }
            return resp;
        }
        return Redirect::to(&location).into_response();
    }

    req.extensions_mut().insert(RequestLocale(i18n));
    if let Some(c) = &ctx {
        req.extensions_mut().insert(c.clone());
    }
    let resp = next.run(req).await;
    let mut resp = render_error(resp, i18n, ctx.as_ref(), htmx);
    protect(resp.headers_mut());
    resp
}

/// Headers that keep pages out of frames, scripts to Kizuna's own files, and pages with
/// personal data out of shared caches.
pub fn protect(h: &mut HeaderMap) {
    const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
        img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, private"),
        );
    }
}

/// Replaces the body of an error response with the page (or, for htmx, the fragment) for it.
pub fn render_error(resp: Response, i18n: I18n, ctx: Option<&Ctx>, htmx: bool) -> Response {
    let Some(marker) = resp.extensions().get::<ErrorMarker>().cloned() else {
        return resp;
    };
    let status = marker.kind.status();
    let body = if htmx {
        layout::error_fragment(i18n, &marker)
    } else {
        layout::error_page(i18n, ctx, &marker)
    };
    let mut out = (status, body).into_response();
    if htmx {
        // htmx leaves 4xx/5xx responses out of the page unless told; the fragment is meant to show.
        out.headers_mut()
            .insert("hx-reswap", HeaderValue::from_static("innerHTML"));
    }
    out
}

/// Percent-encodes a query-string component.
pub fn encode_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; kizuna_session=abc; kizuna_lang=en"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
        assert_eq!(locale_of_headers(&h), Locale::En);
    }

    #[test]
    fn session_cookies_carry_the_security_flags() {
        let v = set_cookie(SESSION_COOKIE, "x", 60, true);
        let s = v.to_str().unwrap();
        assert!(s.contains("HttpOnly") && s.contains("SameSite=Lax") && s.ends_with("Secure"));
        let v = set_cookie(SESSION_COOKIE, "x", 60, false);
        assert!(!v.to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abcd", "abcd"));
        assert!(!same_secret("abcd", "abce"));
        assert!(!same_secret("abc", "abcd"));
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
    }
}
