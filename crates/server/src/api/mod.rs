//! The REST API under `/api/v1`. Every handler carries a `#[utoipa::path]` so `/openapi.json`
//! is generated from the code that serves it.

pub mod accounts;
pub mod admin;
pub mod automation;
pub mod health;
pub mod import;
pub mod insight;
pub mod journeys;
pub mod metrics;
pub mod params;
pub mod records;
pub mod reports;
pub mod reviews;
pub mod segments;
pub mod team;

use axum::middleware;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::{auth, AppState};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kizuna REST API",
        description = "Customer success data: accounts, contacts, subscriptions, usage, tickets, NPS, touchpoints. \
                       Authenticate with `Authorization: Bearer TOKEN`; `read` tokens may GET, `write` tokens may \
                       change data, `admin` tokens manage tokens, users and the feature catalogue. Errors are \
                       `{\"error\": {\"code\", \"message\", \"fields\"}}`.",
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "accounts", description = "Customer companies"),
        (name = "records", description = "Contacts, subscriptions, tickets, survey responses, touchpoints"),
        (name = "usage", description = "Product usage rollups and the feature catalogue"),
        (name = "health", description = "Scorecards, health scores with their explanation and history, manual scores"),
        (name = "segments", description = "Saved dynamic segments: CEL conditions over account fields and indicators"),
        (name = "journeys", description = "Journey maps and each account's progress on them"),
        (name = "automation", description = "Rules, tasks, playbooks, e-mail, webhooks, engagement cadence, NPS surveys and the scheduler's jobs"),
        (name = "insight", description = "Executive dashboard, renewal map and forecast, churn drivers, churn prediction"),
        (name = "reviews", description = "Champions per account, and business reviews (QBR / EBR) as JSON or PDF in Japanese or English"),
        (name = "team", description = "CSM workload, competency framework and assessments, career ladder, incentive plans and the incentive calculator"),
        (name = "reports", description = "Report builder: the field catalogue, ad-hoc and saved reports (table, groups, chart), CSV export"),
        (name = "admin", description = "Tokens, users, audit log"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// Every `/api/v1` route, behind the token check.
pub fn router(state: AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(accounts::routes())
        .merge(records::routes())
        .merge(admin::routes())
        .merge(metrics::routes())
        .merge(health::routes())
        .merge(segments::routes())
        .merge(journeys::routes())
        .merge(automation::routes())
        .merge(insight::routes())
        .merge(reviews::routes())
        .merge(team::routes())
        .merge(reports::routes())
        .merge(import::routes().layer(axum::extract::DefaultBodyLimit::disable()))
        .layer(middleware::from_fn_with_state(state, auth::require_token))
}
