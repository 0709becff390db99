//! `GET /media/{id}?exp=…&sig=…` (SPEC §4.4, §10): a stored media file for
//! whoever holds a valid signed link, no API key. Single byte ranges are
//! answered with 206 (416 when unsatisfiable); the whole file otherwise.

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

/// Types a browser may show in place; anything else is served as a download
/// under a sandboxing policy, so a file a stranger sent cannot run as a page
/// on this origin.
fn shown_inline(mime: &str) -> bool {
    let base = crate::domain::media::base_mime(mime);
    matches!(
        base.as_str(),
        "image/jpeg" | "image/png" | "image/webp" | "image/gif" | "application/pdf"
    ) || base.starts_with("audio/")
        || base.starts_with("video/")
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
    let ctype = HeaderValue::from_str(&s.mime_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, ctype);
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(s.body.len() as u64),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    let inline = shown_inline(&s.mime_type);
    if !inline {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox; default-src 'none'"),
        );
    }
    let disposition = match &s.filename {
        Some(f) => format!(
            "{}; filename=\"{}\"",
            if inline { "inline" } else { "attachment" },
            media::sanitize_filename(f).replace(|c: char| !c.is_ascii(), "_")
        ),
        None if inline => "inline".to_string(),
        None => "attachment".to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some((a, b)) = s.range {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{}", s.total)) {
            h.insert(header::CONTENT_RANGE, v);
        }
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    res.into_response()
}
