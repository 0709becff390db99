//! The REST API under `/api/v1`: extract → services → JSON. Errors are `{detail, code}`.

pub mod account;
pub mod auth;
pub mod extract;
pub mod openapi;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Method;
use axum::middleware;
use axum::routing::get;

use crate::error::AppError;
use crate::state::AppState;

/// `/api/v1` bodies are limited to 1 MB (Meta's webhook endpoint accepts more).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router<AppState> {
    let authed = Router::new()
        .route(
            "/account",
            get(account::get_account).patch(account::patch_account),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ));
    Router::new()
        .route("/openapi.json", get(openapi::openapi_json))
        .merge(authed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(extract::reject_oversized))
}

async fn not_found(method: Method, req: Request) -> AppError {
    AppError::client(
        404,
        "not_found",
        format!("no API route {} {}", method, req.uri().path()),
    )
}

async fn method_not_allowed(method: Method, req: Request) -> AppError {
    AppError::client(
        405,
        "method_not_allowed",
        format!("{} is not allowed on {}", method, req.uri().path()),
    )
}
