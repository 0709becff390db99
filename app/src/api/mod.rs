//! The REST API under `/api/v1`: extract → services → JSON. Errors are `{detail, code}`.

pub mod account;
pub mod auth;
pub mod channels;
pub mod extract;
pub mod openapi;
pub mod redirects;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Method;
use axum::middleware;
use axum::routing::{get, post};

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
        .route("/redirects", get(redirects::list).post(redirects::create))
        .route("/redirects/{id}", axum::routing::delete(redirects::delete))
        .route("/channels", get(channels::list))
        .route("/channels/setup-url", post(channels::setup_url))
        .route("/channels/exchange-code", post(channels::exchange_code))
        .route("/channels/manual", post(channels::manual))
        .route(
            "/channels/{id}",
            get(channels::get)
                .patch(channels::patch)
                .delete(channels::delete),
        )
        .route("/channels/{id}/register", post(channels::register))
        .route("/channels/{id}/health", get(channels::health))
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
