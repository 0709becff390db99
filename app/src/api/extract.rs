//! Request extraction with the SPEC's error shape: 400 `invalid_json` for syntax,
//! 422 `validation_error` for the wrong shape, 415 and 413 with their own codes.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

use super::MAX_BODY_BYTES;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(map_rejection(rejection)),
        }
    }
}

fn map_rejection(r: JsonRejection) -> AppError {
    match r {
        JsonRejection::JsonDataError(e) => AppError::client(
            422,
            "validation_error",
            format!("the JSON does not fit the schema: {}", e.body_text()),
        ),
        JsonRejection::JsonSyntaxError(e) => AppError::client(
            400,
            "invalid_json",
            format!("the body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::MissingJsonContentType(_) => AppError::client(
            415,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(e)
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            too_large()
        }
        other => AppError::client(400, "invalid_json", other.body_text()),
    }
}

fn too_large() -> AppError {
    AppError::client(
        413,
        "payload_too_large",
        format!("the body is larger than {} bytes", MAX_BODY_BYTES),
    )
}

/// Refuses a declared oversized body before anything reads it.
pub async fn reject_oversized(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large().into_response();
    }
    next.run(req).await
}
