//! The baseline: a bare axum hello-world on the same runtime (the binary's
//! `#[tokio::main]`), measured with the same load generator and the same
//! request bytes as the ingest (the body is read, nothing else is done).

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};

/// Serves `GET /` and `POST /webhooks/meta` with a fixed 200 until the process ends.
pub async fn serve(listener: tokio::net::TcpListener) {
    let app = Router::new()
        .route("/", get(|| async { "Hello, World!" }))
        .route(
            "/webhooks/meta",
            post(|body: Bytes| async move {
                let _ = body.len();
                "EVENT_RECEIVED"
            }),
        );
    let _ = axum::serve(listener, app).await;
}
