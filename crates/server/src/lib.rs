//! Kizuna's HTTP side: the REST API (`/api/v1`, with its OpenAPI document), health checks, and
//! the application object that binds a port, serves, and shuts down cleanly.
//!
//! Only this crate knows HTTP and JSON shapes of requests; it turns them into domain drafts and
//! store calls, and store errors into HTTP statuses in one place (`error.rs`).

pub mod api;
pub mod auth;
pub mod automation;
pub mod bootstrap;
pub mod config;
pub mod error;
pub mod extract;
pub mod ingest;
pub mod scoring;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kizuna_store::Store;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use config::Config;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    /// Group commit of usage events.
    pub committer: ingest::committer::Committer,
    /// Write keys verified lately.
    pub keys: Arc<ingest::KeyCache>,
    /// Executive dashboards computed in the last minute.
    pub insight_cache: Arc<api::insight::DashboardCache>,
}

impl AppState {
    /// Starts the background parts (the usage committers) for a store. Needs a Tokio runtime.
    pub fn new(store: Store, config: Config) -> AppState {
        let segment = &config.segment;
        let workers = match (segment.committers, store.backend()) {
            (0, kizuna_store::Backend::Sqlite) => 1,
            (0, kizuna_store::Backend::Postgres) => 2,
            (n, _) => n,
        };
        let committer = ingest::committer::Committer::start(
            store.clone(),
            workers,
            segment.max_queued_events,
            segment.max_commit_events,
        );
        AppState {
            store,
            config: Arc::new(config),
            committer,
            keys: Arc::default(),
            insight_cache: Arc::default(),
        }
    }
}

/// The whole HTTP application as a router, for tests that want no socket.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api::router(state.clone()).split_for_parts();
    let openapi_json = Arc::new(openapi);
    let web = kizuna_web::WebState::new(
        state.store.clone(),
        kizuna_web::WebConfig {
            secure_cookies: state.config.secure_cookies,
            adoption: state.config.health.adoption,
            automation: automation::context(&state.config.automation),
            ..Default::default()
        },
    );
    let web_for_404 = web.clone();
    Router::new()
        .merge(api)
        .merge(ingest::routes())
        .route("/healthz", get(healthz))
        .route(
            "/openapi.json",
            get(move || {
                let doc = openapi_json.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .with_state(state.clone())
        .merge(kizuna_web::router(web))
        .fallback(move |req: Request| not_found(web_for_404.clone(), req))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(TraceLayer::new_for_http())
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(
                serde_json::json!({"status": "ok", "database": state.store.backend().to_string()}),
            ),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    serde_json::json!({"status": "unavailable", "database": state.store.backend().to_string()}),
                ),
            )
        }
    }
}

/// An unknown API path answers the JSON error; any other path the web UI's 404 page.
async fn not_found(web: kizuna_web::WebState, req: Request) -> Response {
    let path = req.uri().path();
    let api = ["/api/", "/v1/", "/openapi.json", "/healthz", "/metrics"]
        .iter()
        .any(|p| path.starts_with(p));
    if api {
        return error::ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such endpoint; see /openapi.json",
        )
        .into_response();
    }
    kizuna_web::not_found(&web, req).await
}

/// A bound, ready-to-run server. Bind port 0 to let the system pick one (tests do).
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Opens the store (applying migrations) and binds the listen address.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let store = Store::connect_with(&config.database_url, &config.store_options()).await?;
        Application::with_store(config, store).await
    }

    /// Binds the listen address for an already opened store.
    pub async fn with_store(config: Config, store: Store) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(&config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        let state = AppState::new(store, config);
        Ok(Application {
            router: router(state.clone()),
            listener,
            state,
        })
    }

    /// The state the handlers share (for benchmarks that run a job's work directly).
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let scorer = tokio::spawn(scoring::run(self.state.clone()));
        let scheduler = tokio::spawn(automation::run(self.state.clone()));
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        scorer.abort();
        scheduler.abort();
        served?;
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
