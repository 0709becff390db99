//! Operator endpoints: liveness, readiness, Prometheus metrics.

use std::sync::atomic::Ordering;

use app::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The process is up.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok", "version": app::VERSION}))
}

/// Ready for traffic: database reachable, migrations applied, not shutting down.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let accepting = state.accepting.load(Ordering::SeqCst);
    let db = state.db.ping().await.is_ok();
    let migrations = state.db.migrations_applied().await.unwrap_or(false);
    let ready = accepting && db && migrations;
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": {"database": db, "migrations": migrations, "accepting": accepting},
    });
    if ready {
        (StatusCode::OK, Json(body)).into_response()
    } else {
        let mut b = body;
        b["detail"] = json!("not ready: see checks");
        b["code"] = json!("not_ready");
        (StatusCode::SERVICE_UNAVAILABLE, Json(b)).into_response()
    }
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = state.metrics.render();
    // Read at scrape time: the queue lives in the database, shared by every process.
    if let Ok(depth) = app::store::deliveries::queue_depth(&state.db).await {
        text.push_str(
            "# HELP switchboard_delivery_queue_depth Deliveries waiting for an attempt (all processes).\n\
             # TYPE switchboard_delivery_queue_depth gauge\n",
        );
        text.push_str(&format!("switchboard_delivery_queue_depth {depth}\n"));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
