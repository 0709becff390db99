//! The Meta-facing endpoints (SPEC §4.1): the subscription handshake and the
//! signed POSTs, for Switchboard's own app (`/webhooks/meta`) and for
//! customers' own apps (`/webhooks/meta/apps/{app_id}`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::crypto;
use crate::error::AppError;
use crate::meta::signature;
use crate::services::inbound::{self, Received, Via};
use crate::state::AppState;
use crate::store;

/// Meta batches up to 1,000 updates in one POST.
pub const MAX_WEBHOOK_BYTES: usize = 10 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/webhooks/meta",
            get(verify_platform).post(receive_platform),
        )
        .route(
            "/webhooks/meta/apps/{app_id}",
            get(verify_app).post(receive_app),
        )
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES))
}

#[derive(Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

fn challenge(h: Handshake) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        h.challenge.unwrap_or_default(),
    )
        .into_response()
}

fn refused() -> Response {
    AppError::client(
        403,
        "verification_failed",
        "hub.mode must be subscribe and hub.verify_token must match the configured verify token",
    )
    .into_response()
}

async fn verify_platform(State(state): State<AppState>, Query(h): Query<Handshake>) -> Response {
    let expected = state.config.meta_verify_token.clone().unwrap_or_default();
    let given = h.verify_token.clone().unwrap_or_default();
    if h.mode.as_deref() == Some("subscribe")
        && !expected.is_empty()
        && crypto::constant_time_eq(expected.as_bytes(), given.as_bytes())
    {
        challenge(h)
    } else {
        refused()
    }
}

async fn verify_app(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(h): Query<Handshake>,
) -> Result<Response, AppError> {
    let given = h.verify_token.clone().unwrap_or_default();
    if h.mode.as_deref() != Some("subscribe") || given.is_empty() {
        return Ok(refused());
    }
    // Looked up by hash, so no stored token is decrypted or compared in a
    // way that leaks timing.
    let known =
        store::meta_apps::verify_token_known(&state.db, &app_id, &crypto::sha256_hex(&given))
            .await?;
    Ok(if known { challenge(h) } else { refused() })
}

fn bad_signature() -> AppError {
    AppError::unauthorized(
        "invalid_signature",
        "X-Hub-Signature-256 is missing or does not match the body signed with the app secret",
    )
}

fn signature_header(headers: &HeaderMap) -> &str {
    headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn receive_platform(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let secret = state.config.meta_app_secret.clone().unwrap_or_default();
    if secret.is_empty() || !signature::verify(&secret, &body, signature_header(&headers)) {
        return Err(bad_signature());
    }
    let via = Via::Platform(state.config.meta_app_id.clone());
    store(&state, via, body).await
}

async fn receive_app(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let sig = signature_header(&headers);
    // Several accounts may have registered the same app id, each with the
    // secret it was given. Only the records whose secret verifies the body
    // vouch for it, and only for channels connected through them (SPEC §14):
    // knowing an app id proves nothing.
    // Rows of one app carry its one secret (checked with Meta at connect):
    // each distinct secret is tried once, so a forged body costs one HMAC.
    let mut by_secret: Vec<(Vec<u8>, Vec<String>)> = Vec::new();
    for app in store::meta_apps::by_meta_app_id(&state.db, &app_id).await? {
        let Ok(secret) = state.cipher.decrypt(&app.app_secret) else {
            continue;
        };
        match by_secret.iter_mut().find(|(s, _)| *s == secret) {
            Some((_, rows)) => rows.push(app.id),
            None => by_secret.push((secret, vec![app.id])),
        }
    }
    let mut verified = Vec::new();
    for (secret, rows) in by_secret {
        if signature::verify(&String::from_utf8_lossy(&secret), &body, sig) {
            verified.extend(rows);
        }
    }
    if verified.is_empty() {
        return Err(bad_signature());
    }
    store(
        &state,
        Via::App {
            app_id,
            rows: verified,
        },
        body,
    )
    .await
}

async fn store(state: &AppState, via: Via, body: Bytes) -> Result<Response, AppError> {
    inbound::accept(
        state,
        Received {
            via,
            body: body.to_vec(),
        },
    )
    .await?;
    Ok((StatusCode::OK, "EVENT_RECEIVED").into_response())
}
