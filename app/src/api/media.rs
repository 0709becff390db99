//! `POST /api/v1/media` (SPEC §5.1): a multipart upload of a file to send
//! later with `messages/send` (`media.media_id`). The only `/api/v1` route
//! past the 1 MB body limit: files go up to WhatsApp's 100 MB for documents,
//! each kind held to its own limit (reference §6.3).

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Router, middleware};

use crate::domain::billing::Tier;
use crate::domain::media::{MAX_UPLOAD_BYTES, MediaKind, UploadedMedia};
use crate::domain::{self};
use crate::error::{AppError, AppResult};
use crate::services::keys::KeyContext;
use crate::services::{licenses, media};
use crate::state::AppState;

/// Its own router so it gets its own body limit (merged after the API's 1 MB layers).
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/media", post(upload))
        .route_layer(middleware::from_fn_with_state(
            state,
            super::auth::require_key,
        ))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES as usize + 64 * 1024))
}

/// The multipart form of an upload (for the API reference).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file, with its own `Content-Type` (curl's `-F file=@photo.jpg` sets it).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// `image`, `video`, `audio`, `document` or `sticker`: the kind whose
    /// limits apply; by default the kind the MIME type suggests.
    #[schema(rename = "type")]
    kind: Option<String>,
}

fn bad_form(detail: impl Into<String>) -> AppError {
    AppError::bad_request("invalid_multipart", detail)
}

/// Uploads a file for sending. Limits as WhatsApp's (image 5 MB JPEG/PNG,
/// video 16 MB MP4/3GPP, audio 16 MB AAC/AMR/MP3/M4A/OGG, sticker 500 KB
/// WebP, document 100 MB PDF/Office/text). `pro` tier only.
#[utoipa::path(post, path = "/api/v1/media", tag = "messages",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = UploadedMedia, description = "Stored; send it with media.media_id"),
        (status = 400, body = domain::ErrorBody, description = "media_too_large (the detail names the limit), unsupported_media_type, invalid_multipart, validation_error"),
        (status = 402, body = domain::ErrorBody, description = "plan_required (media needs the pro tier), subscription_required"),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    form: Result<Multipart, MultipartRejection>,
) -> AppResult<(StatusCode, axum::Json<UploadedMedia>)> {
    licenses::require_tier(&state, &key.account_id, Tier::Pro).await?;
    let mut form = form.map_err(|e| {
        bad_form(format!(
            "send the file as multipart/form-data with a `file` part ({})",
            e.body_text()
        ))
    })?;
    let mut file: Option<(Vec<u8>, String, Option<String>)> = None;
    let mut kind: Option<String> = None;
    while let Some(mut field) = form.next_field().await.map_err(|e| {
        bad_form(format!(
            "the multipart body is malformed: {}",
            e.body_text()
        ))
    })? {
        match field.name().unwrap_or_default() {
            "file" => {
                let mime = field
                    .content_type()
                    .map(str::to_string)
                    .filter(|m| !m.is_empty() && m != "application/octet-stream")
                    .ok_or_else(|| {
                        AppError::bad_request(
                            "unsupported_media_type",
                            "the `file` part needs its own Content-Type, such as image/jpeg or application/pdf",
                        )
                    })?;
                let name = field.file_name().map(str::to_string);
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        media::too_large(MediaKind::Document, MAX_UPLOAD_BYTES)
                    } else {
                        bad_form(format!("reading the file failed: {}", e.body_text()))
                    }
                })? {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() as u64 > MAX_UPLOAD_BYTES {
                        return Err(media::too_large(MediaKind::Document, MAX_UPLOAD_BYTES));
                    }
                }
                file = Some((bytes, mime, name));
            }
            "type" => kind = Some(field.text().await.map_err(|e| bad_form(e.body_text()))?),
            _ => {}
        }
    }
    let (bytes, mime, name) =
        file.ok_or_else(|| AppError::validation("file: a `file` part is required"))?;
    let up = media::upload(
        &state,
        &key.account_id,
        bytes,
        &mime,
        kind.as_deref(),
        name.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(up)))
}
