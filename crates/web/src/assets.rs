//! Static files embedded in the binary: htmx and ECharts (installed from npm by `build.rs`) and
//! Kizuna's own stylesheet and script.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/node_modules/htmx.org/dist/htmx.min.js"
        )),
    },
    Asset {
        name: "echarts.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/node_modules/echarts/dist/echarts.min.js"
        )),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/app.js"),
    },
];

/// Part of every asset URL: a new build gets new URLs, so browsers may cache assets for long.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn url(name: &str) -> String {
    format!("/assets/{VERSION}/{name}")
}

pub async fn serve(Path((_version, name)): Path<(String, String)>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=604800, immutable"),
            ],
            a.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
