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

/// Ready for traffic: database reachable, migrations applied, not shutting
/// down, and every background worker beat within its threshold
/// ([`app::heartbeat::Worker::stale_after`]). A 503 names what failed.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let accepting = state.accepting.load(Ordering::SeqCst);
    let db = state.db.ping().await.is_ok();
    let migrations = state.db.migrations_applied().await.unwrap_or(false);
    let workers = state.heartbeats.check();
    let stale: Vec<&str> = workers
        .iter()
        .filter(|c| !c.alive)
        .map(|c| c.worker.name())
        .collect();
    let ready = accepting && db && migrations && stale.is_empty();
    let worker_report: serde_json::Map<String, serde_json::Value> = workers
        .iter()
        .map(|c| {
            (
                c.worker.name().to_string(),
                json!({
                    "alive": c.alive,
                    "last_tick_ms_ago": c.silent_ms,
                    "stale_after_ms": c.worker.stale_after().as_millis() as u64,
                }),
            )
        })
        .collect();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": {
            "database": db,
            "migrations": migrations,
            "accepting": accepting,
            "workers": stale.is_empty(),
        },
        "workers": worker_report,
    });
    if ready {
        return (StatusCode::OK, Json(body)).into_response();
    }
    let mut failed: Vec<String> = [
        (!db).then_some("database unreachable"),
        (!migrations).then_some("migrations not applied"),
        (!accepting).then_some("shutting down"),
    ]
    .into_iter()
    .flatten()
    .map(String::from)
    .collect();
    failed.extend(
        stale
            .iter()
            .map(|w| format!("worker {w} has not ticked recently")),
    );
    let mut b = body;
    b["detail"] = json!(format!("not ready: {}", failed.join("; ")));
    b["code"] = json!("not_ready");
    b["stale_workers"] = json!(stale);
    (StatusCode::SERVICE_UNAVAILABLE, Json(b)).into_response()
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
