//! `GET/POST /api/v1/event-endpoints`, `GET/DELETE /api/v1/event-endpoints/{id}`:
//! where account events (SPEC §6) are delivered.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::extract::{ApiJson, ApiPath};
use crate::domain;
use crate::error::AppResult;
use crate::services::event_endpoints::{self, CreatedEndpoint, EventEndpointView, NewEndpoint};
use crate::services::keys::KeyContext;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventEndpointCreate {
    /// An https URL (plain http only in sandbox mode); private addresses are refused.
    pub url: String,
    /// Account events to deliver: `channel.connected`, `channel.disconnected`,
    /// `channel.token_expiring`, `template.status_updated`, `delivery.exhausted`,
    /// `phone_number.connected`.
    pub events: Vec<String>,
    /// `standard` (default: retries for 20 minutes) or `extended` (24 hours).
    #[serde(default)]
    pub retry_policy: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventEndpointList {
    pub event_endpoints: Vec<EventEndpointView>,
    pub total: usize,
}

/// Adds an endpoint. The answer carries its signing `secret`, shown only here.
#[utoipa::path(post, path = "/api/v1/event-endpoints", tag = "event-endpoints",
    request_body = EventEndpointCreate,
    responses(
        (status = 201, body = CreatedEndpoint),
        (status = 400, body = domain::ErrorBody, description = "invalid_event, invalid_webhook_url, webhook_target_forbidden, validation_error"),
        (status = 422, body = domain::ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiJson(body): ApiJson<EventEndpointCreate>,
) -> AppResult<(StatusCode, axum::Json<CreatedEndpoint>)> {
    let created = event_endpoints::create(
        &state,
        &key.account_id,
        NewEndpoint {
            url: body.url,
            events: body.events,
            retry_policy: body.retry_policy,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

#[utoipa::path(get, path = "/api/v1/event-endpoints", tag = "event-endpoints",
    responses((status = 200, body = EventEndpointList)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
) -> AppResult<axum::Json<EventEndpointList>> {
    let event_endpoints = event_endpoints::list(&state, &key.account_id).await?;
    Ok(axum::Json(EventEndpointList {
        total: event_endpoints.len(),
        event_endpoints,
    }))
}

#[utoipa::path(get, path = "/api/v1/event-endpoints/{id}", tag = "event-endpoints",
    params(("id" = String, Path, description = "Event endpoint id")),
    responses((status = 200, body = EventEndpointView), (status = 404, body = domain::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath(id): ApiPath<String>,
) -> AppResult<axum::Json<EventEndpointView>> {
    Ok(axum::Json(
        event_endpoints::get(&state, &key.account_id, &id).await?,
    ))
}

/// Deletes the endpoint; deliveries still queued for it are given up.
#[utoipa::path(delete, path = "/api/v1/event-endpoints/{id}", tag = "event-endpoints",
    params(("id" = String, Path, description = "Event endpoint id")),
    responses((status = 204), (status = 404, body = domain::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath(id): ApiPath<String>,
) -> AppResult<StatusCode> {
    event_endpoints::delete(&state, &key.account_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
