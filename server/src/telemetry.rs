//! JSON (or pretty) logs through tracing, and the per-request middleware that
//! tags every request with an id and records its latency.

use std::time::Instant;

use app::config::LogFormat;
use app::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing_subscriber::EnvFilter;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    // A second init (tests start several apps in one process) is harmless.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Which part of the product a path belongs to, for metrics labels with bounded cardinality.
pub fn route_group(path: &str) -> &'static str {
    if path.starts_with("/api/v1") {
        "api"
    } else if path.starts_with("/rpc/") {
        "rpc"
    } else if path.starts_with("/webhooks/") {
        "webhooks"
    } else if path.starts_with("/sandbox/") {
        "sandbox"
    } else if path.starts_with("/pkg/") {
        "static"
    } else if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        "ops"
    } else {
        "portal"
    }
}

pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let group = route_group(req.uri().path());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let res = next.run(req).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    state
        .metrics
        .observe_request(group, res.status().as_u16(), ms);
    if group != "static" && group != "ops" {
        tracing::info!(request_id = %request_id, method = %method, path = %path, status = res.status().as_u16(), latency_ms = ms, "request");
    }
    res
}
