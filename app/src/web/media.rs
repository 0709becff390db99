//! `GET /media/{id}?exp=…&sig=…` (SPEC §4.4, §10): a stored media file for
//! whoever holds a valid signed link, no API key. Single byte ranges are
//! answered with 206 (416 when unsatisfiable); the whole file otherwise.
//! Every answer is inert ([`inert_headers`]): a file someone sent never runs
//! as a page on this origin.

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::AppError;
use crate::services::media;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/media/{id}", get(serve))
}

/// The policy sent with every body a tenant, an end user or Meta supplied:
/// even a type a browser would render as a page runs in a unique opaque
/// origin with no scripts, forms or plugins, and loads nothing.
pub const INERT_CSP: &str = "sandbox; default-src 'none'";

/// Types a browser may show in place; anything else is a download.
fn shown_inline(essence: &str) -> bool {
    matches!(
        essence,
        "image/jpeg" | "image/png" | "image/webp" | "image/gif"
    ) || essence.starts_with("audio/")
        || essence.starts_with("video/")
}

/// The headers of a user-supplied body served from this origin (media,
/// logos, the sandbox's files): `Content-Type` is the essence of `mime`
/// (parameters dropped, malformed types served as
/// `application/octet-stream`), `nosniff`, [`INERT_CSP`], and a
/// `Content-Disposition` that makes anything but plain images, audio and
/// video a download. One place, so every such route answers alike.
pub fn inert_headers(h: &mut HeaderMap, mime: &str, filename: Option<&str>) {
    let essence = crate::domain::media::essence_or_binary(mime);
    let inline = shown_inline(&essence);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&essence)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(INERT_CSP),
    );
    let name = filename
        .map(|f| media::sanitize_filename(f).replace(|c: char| !c.is_ascii(), "_"))
        .filter(|f| !f.is_empty());
    let disposition = match (inline, name) {
        (true, Some(f)) => format!("inline; filename=\"{f}\""),
        (false, Some(f)) => format!("attachment; filename=\"{f}\""),
        (true, None) => "inline".to_string(),
        (false, None) => "attachment".to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
}

async fn serve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let served = media::open(
        &state,
        &id,
        q.get("exp").map(String::as_str),
        q.get("sig").map(String::as_str),
        range,
    )
    .await;
    let s = match served {
        Ok(s) => s,
        Err(e) => {
            let total_hint = matches!(&e, AppError::Client { status: 416, .. });
            let mut res = e.into_response();
            if total_hint && let Ok(Some(m)) = crate::store::media::get(&state.db, &id).await {
                let v = format!("bytes */{}", m.size.unwrap_or(0));
                if let Ok(v) = HeaderValue::from_str(&v) {
                    res.headers_mut().insert(header::CONTENT_RANGE, v);
                }
            }
            return res;
        }
    };
    let mut res = Response::new(Body::from(s.body.clone()));
    let h = res.headers_mut();
    inert_headers(h, &s.mime_type, s.filename.as_deref());
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(s.body.len() as u64),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    if let Some((a, b)) = s.range {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{}", s.total)) {
            h.insert(header::CONTENT_RANGE, v);
        }
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    res.into_response()
}
