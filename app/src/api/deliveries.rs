//! `/api/v1/deliveries…` and the channel routes that create deliveries
//! (replay, test event). Handlers only extract and map; rules live in
//! `services::deliveries`.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::domain::ErrorBody;
use crate::domain::deliveries::{DeliveryList, DeliveryView, Replayed, TestEventView};
use crate::error::AppResult;
use crate::services::deliveries::{self, ListParams, ReplayInput};
use crate::services::keys::KeyContext;
use crate::state::AppState;

/// Query of `GET /api/v1/deliveries` for the API reference (the handler reads
/// `ListParams`, which keeps the raw strings to name a bad value); every filter is optional.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListQuery {
    /// Only this channel's deliveries.
    channel_id: Option<String>,
    /// `pending`, `delivered`, `failed`, `exhausted` or `held`.
    status: Option<String>,
    /// An event name, e.g. `message.received`.
    event: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// Lists deliveries newest first, each with its attempts. Page with `cursor`.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "deliveries",
    params(ListQuery),
    responses(
        (status = 200, body = DeliveryList),
        (status = 400, body = ErrorBody, description = "invalid_status, invalid_event, invalid_cursor, invalid_limit"),
        (status = 404, body = ErrorBody, description = "channel_id is unknown or another account's"),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> AppResult<axum::Json<DeliveryList>> {
    Ok(axum::Json(
        deliveries::list(&state, &key.account_id, &q).await?,
    ))
}

/// One delivery with every attempt (including the first 1 KB of each
/// response) and the event's JSON while the event is kept.
#[utoipa::path(get, path = "/api/v1/deliveries/{id}", tag = "deliveries",
    params(("id" = String, Path)),
    responses((status = 200, body = DeliveryView), (status = 404, body = ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath(id): ApiPath<String>,
) -> AppResult<axum::Json<DeliveryView>> {
    Ok(axum::Json(
        deliveries::get(&state, &key.account_id, &id).await?,
    ))
}

/// Delivers the same stored event again, as a new delivery to the target's
/// current URL (and secret). Answers 202 with the new delivery (`pending`, or
/// `held` without an active license); the relay attempts it right away.
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/retry", tag = "deliveries",
    params(("id" = String, Path)),
    responses(
        (status = 202, body = DeliveryView, description = "the new delivery"),
        (status = 400, body = ErrorBody, description = "channel_inactive"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "event_purged, webhook_url_missing, endpoint_missing"),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn retry(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath(id): ApiPath<String>,
) -> AppResult<(StatusCode, axum::Json<DeliveryView>)> {
    let v = deliveries::retry(&state, &key.account_id, &id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(v)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// RFC 3339, inclusive: events stored at or after this time.
    pub since: String,
    /// RFC 3339, exclusive.
    pub until: String,
    /// Event names to replay; default: the events enabled on the channel now.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Only events whose latest delivery has this status (e.g. `exhausted`).
    #[serde(default)]
    pub status: Option<String>,
}

/// Re-delivers the channel's stored events of a time window to its current
/// webhook URL, oldest first. At most 10,000 events per call.
#[utoipa::path(post, path = "/api/v1/channels/{id}/replay", tag = "deliveries", request_body = ReplayRequest,
    params(("id" = String, Path)),
    responses(
        (status = 202, body = Replayed),
        (status = 400, body = ErrorBody, description = "invalid_timestamp, invalid_window, invalid_event, invalid_status, replay_too_large, channel_inactive"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "webhook_url_missing"),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn replay(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReplayRequest>,
) -> AppResult<(StatusCode, axum::Json<Replayed>)> {
    let input = ReplayInput {
        since: body.since,
        until: body.until,
        events: body.events,
        status: body.status,
    };
    let replayed = deliveries::replay(&state, &key.account_id, &id, &input).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(Replayed { replayed })))
}

/// Sends a synthetic `message.received` (text "Test event from Switchboard",
/// message id `test_…`) to the channel's webhook, enabled or not.
#[utoipa::path(post, path = "/api/v1/channels/{id}/test-event", tag = "deliveries",
    params(("id" = String, Path)),
    responses(
        (status = 202, body = TestEventView),
        (status = 400, body = ErrorBody, description = "webhook_url_missing, channel_inactive"),
        (status = 404, body = ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn test_event(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath(id): ApiPath<String>,
) -> AppResult<(StatusCode, axum::Json<TestEventView>)> {
    let v = deliveries::send_test_event(&state, &key.account_id, &id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(v)))
}
