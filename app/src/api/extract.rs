//! Request extraction with the SPEC's error shape: 400 `invalid_json` for syntax,
//! 422 `validation_error` for the wrong shape, 415 and 413 with their own codes;
//! 400 `validation_error` for a path segment or query string that does not
//! decode. Handlers use these instead of axum's `Json`, `Path` and `Query`,
//! whose rejections are plain text.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
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
        if !json_content_type(req.headers()) {
            return Err(AppError::client(
                415,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| map_rejection(e.into()))?;
        // Syntax first: serde stops at the first error, so a truncated body
        // such as `{"url": [` would otherwise count as the wrong shape (422).
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
            return Err(AppError::client(
                400,
                "invalid_json",
                format!("the body is not valid JSON: {e}"),
            ));
        }
        // Every request body is an object; serde would also fill a struct
        // from an array by position (`[null, null]` as a PATCH).
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(AppError::client(
                422,
                "validation_error",
                "the body must be a JSON object",
            ));
        }
        axum::Json::<T>::from_bytes(&bytes)
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(map_rejection)
    }
}

/// `application/json` or `application/*+json`, as axum's `Json` accepts.
/// The one test of "is this body JSON" for every door (API and sandbox).
pub fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json") || sub.to_ascii_lowercase().ends_with("+json"))
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
        JsonRejection::BytesRejection(e)
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            too_large()
        }
        other => AppError::client(400, "invalid_json", other.body_text()),
    }
}

/// Path parameters; a segment that does not decode (e.g. `%FF`, not UTF-8)
/// is a 400 `validation_error` naming the parameter.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(AppError::validation(
                format!("bad path parameter: {}", e.body_text()),
            )),
            // The route and the handler disagree: a bug, not the caller's fault.
            Err(other) => Err(AppError::Internal(other.body_text())),
        }
    }
}

/// The query string; one that does not fit (`?refresh=maybe`) is a 400
/// `validation_error` naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| {
                AppError::validation(format!("bad query string: {}", e.body_text()))
            })
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
