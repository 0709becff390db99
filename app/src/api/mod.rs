//! The REST API under `/api/v1`: extract → services → JSON. Errors are `{detail, code}`.

pub mod account;
pub mod auth;
pub mod channels;
pub mod deliveries;
pub mod event_endpoints;
pub mod extract;
pub mod media;
pub mod messages;
pub mod onboarding_links;
pub mod openapi;
pub mod redirects;
pub mod templates;

use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri};
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
        .route(
            "/channels/{id}/templates",
            get(templates::list).post(templates::create),
        )
        .route(
            "/channels/{id}/templates/{template_id}",
            get(templates::get)
                .put(templates::edit)
                .delete(templates::delete),
        )
        .route("/channels/{id}/profile/{user_id}", get(templates::profile))
        .route("/messages/send-template", post(templates::send_template))
        .route(
            "/event-endpoints",
            get(event_endpoints::list).post(event_endpoints::create),
        )
        .route(
            "/event-endpoints/{id}",
            get(event_endpoints::get).delete(event_endpoints::delete),
        )
        .route("/channels/{id}/replay", post(deliveries::replay))
        .route("/channels/{id}/test-event", post(deliveries::test_event))
        .route("/messages/send", post(messages::send))
        .route("/messages/read", post(messages::read))
        .route(
            "/onboarding-links",
            get(onboarding_links::list).post(onboarding_links::create),
        )
        .route(
            "/onboarding-links/{id}",
            get(onboarding_links::get).delete(onboarding_links::delete),
        )
        .route("/deliveries", get(deliveries::list))
        .route("/deliveries/{id}", get(deliveries::get))
        .route("/deliveries/{id}/retry", post(deliveries::retry))
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
        // Media uploads (SPEC §5.1) bring their own, larger body limit.
        .merge(media::router(state))
        // Last, so it reaches every route above (it applies to the routes
        // present when it is called), also openapi.json and the media upload.
        .method_not_allowed_fallback(method_not_allowed)
}

/// Unknown paths under `/api/v1` (also `/api/v1/` itself, routed here by the
/// server because a nested router's fallback does not see it).
pub async fn not_found(method: Method, OriginalUri(uri): OriginalUri) -> AppError {
    AppError::client(
        404,
        "not_found",
        format!("no API route {} {}", method, uri.path()),
    )
}

async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> AppError {
    AppError::client(
        405,
        "method_not_allowed",
        format!("{} is not allowed on {}", method, uri.path()),
    )
}
