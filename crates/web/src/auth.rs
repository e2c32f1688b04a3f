//! Sign-in and sign-out.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Duration;
use kizuna_domain::user::Locale;
use maud::html;
use serde::Deserialize;

use crate::error::WebResult;
use crate::i18n::I18n;
use crate::layout::bare_page;
use crate::session::{
    cookie, is_secure, random_token, set_cookie, verify_password, Ctx, RequestLocale, CSRF_FIELD,
    LANG_COOKIE, SESSION_COOKIE, SIGNIN_CSRF_COOKIE,
};
use crate::WebState;

#[derive(Debug, Deserialize, Default)]
pub struct SigninQuery {
    next: Option<String>,
    lang: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SigninForm {
    email: String,
    password: String,
    next: Option<String>,
}

fn stand_in_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crate::session::hash_password(&random_token()).unwrap_or_default())
}

/// Only local paths are followed after signing in (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

fn signin_form(i: I18n, csrf: &str, next: &str, error: Option<&str>, email: &str) -> String {
    bare_page(
        i,
        i.tr("signin.title"),
        html! {
            section.card.signin {
                h1 { (i.tr("signin.title")) }
                @if let Some(e) = error { p.flash.error role="alert" { (e) } }
                form method="post" action="/signin" {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    input type="hidden" name="next" value=(next);
                    label { (i.tr("signin.email"))
                        input type="email" name="email" value=(email) required autofocus autocomplete="username";
                    }
                    label { (i.tr("signin.password"))
                        input type="password" name="password" required autocomplete="current-password";
                    }
                    button type="submit" { (i.tr("signin.submit")) }
                }
                p.langs {
                    a href="/signin?lang=ja" { "日本語" } " · " a href="/signin?lang=en" { "English" }
                }
                p.hint { (i.tr("signin.hint")) }
            }
        },
    )
    .into_string()
}

pub async fn signin_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    ctx: Option<Ctx>,
    RequestLocale(i18n): RequestLocale,
    Query(q): Query<SigninQuery>,
) -> Response {
    if ctx.is_some() && q.lang.is_none() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    let secure = is_secure(&state, &headers);
    let mut i = i18n;
    let mut cookies = Vec::new();
    if let Some(locale) = q.lang.as_deref().and_then(|l| l.parse::<Locale>().ok()) {
        i = I18n::new(locale);
        cookies.push(set_cookie(
            LANG_COOKIE,
            locale.as_str(),
            365 * 86400,
            secure,
        ));
    }
    let csrf = match cookie(&headers, SIGNIN_CSRF_COOKIE) {
        Some(c) if c.len() == 64 => c.to_string(),
        _ => {
            let c = random_token();
            cookies.push(set_cookie(SIGNIN_CSRF_COOKIE, &c, 3600, secure));
            c
        }
    };
    let next = safe_next(q.next.as_deref());
    let mut resp = Html(signin_form(i, &csrf, &next, None, "")).into_response();
    for c in cookies {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

pub async fn signin(
    State(state): State<WebState>,
    headers: HeaderMap,
    RequestLocale(i): RequestLocale,
    Form(form): Form<SigninForm>,
) -> WebResult<Response> {
    let secure = is_secure(&state, &headers);
    let found = state.store.user_by_email(form.email.trim()).await?;
    // Verify against a stand-in hash when there is no such user, so the answer takes as long
    // whether or not the e-mail is known.
    let hash = found
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| stand_in_hash().to_string());
    let password_ok = verify_password(&form.password, &hash);
    let user = found.filter(|u| u.user.active && u.password_hash.is_some() && password_ok);
    let Some(user) = user else {
        tracing::info!(email = %form.email.trim(), "web sign-in refused");
        let csrf = cookie(&headers, SIGNIN_CSRF_COOKIE).unwrap_or_default();
        let next = safe_next(form.next.as_deref());
        let page = signin_form(
            i,
            csrf,
            &next,
            Some(i.tr("signin.failed")),
            form.email.trim(),
        );
        return Ok((StatusCode::UNAUTHORIZED, Html(page)).into_response());
    };
    let days = state.config.session_days;
    let session = state
        .store
        .create_web_session(user.user.id, Duration::days(days))
        .await?;
    tracing::info!(user = user.user.id.0, "web sign-in");
    let mut resp = Redirect::to(&safe_next(form.next.as_deref())).into_response();
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &session.secret, days * 86400, secure),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(SIGNIN_CSRF_COOKIE, "", 0, secure),
    );
    Ok(resp)
}

pub async fn signout(State(state): State<WebState>, ctx: Ctx) -> WebResult<Response> {
    state.store.delete_web_session(&ctx.session_secret).await?;
    let mut resp = Redirect::to("/signin").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, ctx.secure),
    );
    // Keep the language of the signed-out page the user's.
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        ctx.i18n.lang()
    )) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/accounts?band=red")), "/accounts?band=red");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
