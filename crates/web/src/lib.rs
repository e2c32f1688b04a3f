//! Kizuna's web UI: server-rendered pages in Japanese and English, with htmx for partial
//! updates and Apache ECharts for charts, served by the same binary as the API.
//!
//! The crate knows HTTP and HTML, and reads and writes only through the store's calls; it does
//! not know the REST API's JSON shapes. [`router`] gives the routes (merged into the server's
//! router); every route passes the session middleware ([`session::gate`]), which signs the user in,
//! checks CSRF tokens and renders error pages. Roles are checked against the signed-in user in the
//! handlers through [`session::Ctx`] (`require_admin`, `require_edit`).

pub mod account;
pub mod accounts;
pub mod assets;
pub mod auth;
pub mod automation;
pub mod error;
pub mod health;
pub mod i18n;
pub mod insight;
pub mod layout;
pub mod pdf;
pub mod portfolio;
pub mod reports;
pub mod review;
pub mod session;
pub mod settings;
pub mod team;

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use kizuna_store::Store;

use crate::error::WebError;
use crate::i18n::I18n;

/// The web UI's settings.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Whether cookies carry `Secure`: `None` decides per request from `X-Forwarded-Proto`.
    pub secure_cookies: Option<bool>,
    /// How long a sign-in lasts.
    pub session_days: i64,
    /// How the adoption index is graded in health explanations (the server's health settings).
    pub adoption: kizuna_domain::indicator::AdoptionSettings,
    /// Links in e-mail and the default language of customer mail (the server's automation
    /// settings).
    pub automation: kizuna_store::AutomationContext,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: None,
            session_days: 14,
            adoption: Default::default(),
            automation: Default::default(),
        }
    }
}

#[derive(Clone)]
pub struct WebState {
    pub store: Store,
    pub config: Arc<WebConfig>,
}

impl WebState {
    pub fn new(store: Store, config: WebConfig) -> WebState {
        WebState {
            store,
            config: Arc::new(config),
        }
    }
}

/// Every UI route, behind the session middleware.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(portfolio::page_handler))
        .route("/signin", get(auth::signin_page).post(auth::signin))
        .route("/signout", post(auth::signout))
        .route("/accounts", get(accounts::page_handler))
        .route("/accounts/export.csv", get(accounts::export_csv))
        .route("/accounts/views", post(accounts::save_view))
        .route("/accounts/views/{id}/delete", post(accounts::delete_view))
        .route(
            "/accounts/{id}",
            get(account::page_handler).post(account::update_account),
        )
        .route("/accounts/{id}/touchpoints", post(account::log_touchpoint))
        .route("/accounts/{id}/playbooks", post(account::start_playbook))
        .route("/accounts/{id}/health", get(health::page_handler))
        .route(
            "/accounts/{id}/reviews",
            get(review::list_page).post(review::create),
        )
        .route(
            "/accounts/{id}/reviews/{rid}",
            get(review::show).post(review::update),
        )
        .route("/accounts/{id}/reviews/{rid}/delete", post(review::delete))
        .route("/accounts/{id}/reviews/{rid}/pdf", get(review::pdf))
        .route("/insight", get(insight::dashboard_handler))
        .route("/insight/renewals", get(insight::renewals_handler))
        .route("/insight/drivers", get(insight::drivers_handler))
        .route("/insight/prediction", get(insight::prediction_handler))
        .route("/team", get(team::workload_page))
        .route("/team/competency", get(team::competency_page))
        .route("/team/assessments", post(team::record_assessment))
        .route("/team/skills", post(team::create_skill))
        .route("/team/skills/{id}", post(team::update_skill))
        .route("/team/ladder", get(team::ladder_page))
        .route("/team/ladder/{id}", post(team::save_expectations))
        .route("/team/members/{id}/career", post(team::set_career))
        .route("/team/incentives", get(team::incentives_page))
        .route("/team/plans", post(team::create_plan))
        .route("/team/plans/{id}", post(team::update_plan))
        .route("/team/plans/{id}/targets/{user_id}", post(team::set_target))
        .route("/reports", get(reports::list_handler).post(reports::create))
        .route("/reports/new", get(reports::new_handler))
        .route("/reports/export.csv", get(reports::export_csv))
        .route(
            "/reports/{id}",
            get(reports::saved_handler).post(reports::update),
        )
        .route("/reports/{id}/delete", post(reports::delete))
        .route("/settings", get(settings::profile))
        .route("/settings/password", post(settings::change_password))
        .route("/settings/locale", post(settings::change_locale))
        .route("/settings/features", get(settings::features))
        .route("/settings/features/{id}", post(settings::update_feature))
        .route("/settings/scorecards", get(settings::scorecards))
        .route(
            "/settings/segments",
            get(settings::segments).post(settings::create_segment),
        )
        .route(
            "/settings/segments/preview",
            post(settings::preview_segment),
        )
        .route("/settings/journeys", post(settings::save_journey))
        .route("/settings/journeys/{id}", post(settings::save_journey))
        .route(
            "/settings/journeys/{id}/delete",
            post(settings::delete_journey),
        )
        .route(
            "/settings/scorecards/preview",
            post(settings::preview_scorecard),
        )
        .route("/settings/scorecards/{id}", post(settings::save_scorecard))
        .route(
            "/settings/users",
            get(settings::users).post(settings::create_user),
        )
        .route("/settings/users/{id}", post(settings::update_user))
        .route(
            "/settings/tokens",
            get(settings::tokens).post(settings::create_token),
        )
        .route("/settings/tokens/{id}/revoke", post(settings::revoke_token))
        .route("/tasks", get(automation::tasks_page))
        .route("/tasks/coverage", get(automation::coverage_page))
        .route("/tasks/cadence", post(automation::save_cadence))
        .route("/tasks/{id}", post(automation::update_task))
        .route("/automation", get(automation::rules_page))
        .route("/automation/rules", post(automation::save_rule))
        .route("/automation/rules/preview", post(automation::preview_rule))
        .route("/automation/rules/{id}", post(automation::save_rule))
        .route(
            "/automation/playbooks",
            get(automation::playbooks_page).post(automation::save_playbook),
        )
        .route(
            "/automation/playbooks/{id}",
            post(automation::save_playbook),
        )
        .route("/automation/email", get(automation::email_page))
        .route(
            "/automation/email/preview",
            post(automation::preview_template),
        )
        .route("/automation/email/{key}", post(automation::save_template))
        .route(
            "/automation/webhooks",
            get(automation::webhooks_page).post(automation::create_webhook),
        )
        .route("/automation/jobs", get(automation::jobs_page))
        .route("/automation/jobs/{name}/run", post(automation::run_job))
        .route("/automation/nps", get(automation::nps_page))
        .route("/automation/nps/send", post(automation::send_nps))
        .route(
            "/s/{token}",
            get(automation::survey_page).post(automation::answer_survey),
        )
        .route(
            "/u/{token}",
            get(automation::unsubscribe_page).post(automation::unsubscribe),
        )
        .route("/assets/{version}/{name}", get(assets::serve))
        .layer(middleware::from_fn_with_state(state.clone(), session::gate))
        .with_state(state)
}

/// The 404 page for a path no route serves (the server's fallback calls this for non-API paths).
pub async fn not_found(state: &WebState, req: Request) -> Response {
    use axum::response::IntoResponse;
    let headers = req.headers();
    let session = match session::cookie(headers, session::SESSION_COOKIE) {
        Some(secret) => state
            .store
            .web_session(secret)
            .await
            .ok()
            .flatten()
            .map(|s| (secret.to_string(), s)),
        None => None,
    };
    let secure = session::is_secure(state, headers);
    let ctx = session.map(|(secret, s)| session::Ctx {
        i18n: I18n::new(s.user.locale),
        user: s.user,
        csrf: s.csrf_token,
        session_secret: secret,
        today: chrono::Utc::now().date_naive(),
        secure,
    });
    let i18n = ctx
        .as_ref()
        .map(|c| c.i18n)
        .unwrap_or_else(|| I18n::new(session::locale_of_headers(headers)));
    let htmx = headers.contains_key("hx-request");
    let mut resp =
        session::render_error(WebError::NotFound.into_response(), i18n, ctx.as_ref(), htmx);
    session::protect(resp.headers_mut());
    resp
}
