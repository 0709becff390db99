//! `/api/v1/messages/send` (SPEC §5.1): extract → `services::messages` → JSON.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::extract::ApiJson;
use crate::domain;
use crate::error::{AppError, AppResult};
use crate::services::keys::KeyContext;
use crate::services::messages::read::{self, ReadRequest, ReadResult};
use crate::services::messages::{self, SendRequest, SendResult};
use crate::state::AppState;

/// Sends a text, reaction or interactive message. With an `Idempotency-Key`
/// (remembered 24 h) a repeated request gets the first answer again, marked
/// by the `Idempotent-Replayed: true` header, and nothing is sent twice.
#[utoipa::path(post, path = "/api/v1/messages/send", tag = "messages", request_body = SendRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Any unique string (a UUID); the same key with the same body within 24 h returns the first answer")),
    responses(
        (status = 200, body = SendResult, description = "Sent, or queued when Meta is throttling (a message.sent or message.failed event follows)"),
        (status = 400, body = domain::ErrorBody, description = "channel_inactive, text_too_long, invalid_recipient, outside_window, not_supported, validation_error"),
        (status = 402, body = domain::ErrorBody, description = "subscription_required"),
        (status = 404, body = domain::ErrorBody, description = "not_found: no such channel in this account"),
        (status = 409, body = domain::ErrorBody, description = "idempotency_conflict"),
        (status = 422, body = domain::ErrorBody, description = "validation_error: the JSON does not fit the schema"),
        (status = 502, body = domain::ErrorBody, description = "meta_error: Meta refused; detail has Meta's code and message"),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn send(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SendRequest>,
) -> AppResult<Response> {
    let result = messages::send(&state, &key.account_id, &body, idempotency_key(&headers)?).await?;
    Ok(send_answer(result))
}

/// Marks an inbound message read (blue ticks on WhatsApp, "seen" on
/// Messenger and Instagram), optionally with the typing indicator.
#[utoipa::path(post, path = "/api/v1/messages/read", tag = "messages", request_body = ReadRequest,
    responses(
        (status = 200, body = ReadResult, description = "Meta accepted the read receipt (and typing indicator)"),
        (status = 400, body = domain::ErrorBody, description = "channel_inactive, validation_error, meta_token_invalid"),
        (status = 402, body = domain::ErrorBody, description = "subscription_required: the channel holds no license"),
        (status = 404, body = domain::ErrorBody, description = "not_found: no such channel in this account, or (Messenger, Instagram) no such inbound message on it"),
        (status = 422, body = domain::ErrorBody, description = "validation_error: the JSON does not fit the schema"),
        (status = 502, body = domain::ErrorBody, description = "meta_error: Meta refused (e.g. WhatsApp does not know the message id); detail has Meta's code and message"),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn read(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiJson(body): ApiJson<ReadRequest>,
) -> AppResult<axum::Json<ReadResult>> {
    Ok(axum::Json(
        read::mark_read(&state, &key.account_id, &body).await?,
    ))
}

/// The `Idempotency-Key` header of a send, when given. Its length and
/// characters are checked by the send service; a value that is not text at
/// all is refused here.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> AppResult<Option<&str>> {
    headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str().map_err(|_| {
                AppError::validation("Idempotency-Key: 1 to 255 visible ASCII characters")
            })
        })
        .transpose()
}

/// A send's answer: the result, marked `Idempotent-Replayed: true` when it
/// is the stored answer of an earlier request with the same key.
pub(crate) fn send_answer(result: SendResult) -> Response {
    let replayed = result.replayed;
    let mut res = axum::Json(result).into_response();
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}
