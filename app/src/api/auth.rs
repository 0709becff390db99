//! API key authentication and the per-key rate limit.

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::services::keys;
use crate::services::rate_limit::Decision;
use crate::state::AppState;

/// The key from `X-API-Key` or `Authorization: Bearer …`. A header value that
/// is not text is still a key presented (answered `invalid_api_key`, not
/// `missing_api_key`). The one reading of a presented key (the sandbox's
/// key-scoped reads use it too).
pub fn presented_key(headers: &HeaderMap) -> Option<String> {
    let text = |v: &HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
    if let Some(v) = headers.get("x-api-key") {
        return Some(text(v).trim().to_string());
    }
    let auth = text(headers.get(axum::http::header::AUTHORIZATION)?);
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

pub async fn require_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(raw) = presented_key(req.headers()) else {
        return AppError::unauthorized(
            "missing_api_key",
            "send your API key in the X-API-Key header or as Authorization: Bearer <key>",
        )
        .into_response();
    };
    let ctx = match keys::authenticate(&state, &raw).await {
        Ok(ctx) => ctx,
        Err(e) => return e.into_response(),
    };
    // One bucket per key for the whole installation: on PostgreSQL it lives
    // in the database, so several processes share it.
    let decision = state
        .rate_limiter
        .check(&state.db, &ctx.key_id, state.now())
        .await;
    let mut res = if decision.allowed {
        req.extensions_mut().insert(ctx);
        next.run(req).await
    } else {
        AppError::rate_limited(
            format!(
                "rate limit of {} requests per minute reached; retry after {} s",
                decision.limit, decision.retry_after_secs
            ),
            decision.retry_after_secs,
        )
        .into_response()
    };
    add_rate_headers(res.headers_mut(), &decision);
    res
}

fn add_rate_headers(h: &mut HeaderMap, d: &Decision) {
    h.insert("x-ratelimit-limit", HeaderValue::from(d.limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(d.remaining));
    h.insert("x-ratelimit-reset", HeaderValue::from(d.reset_secs));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_from_either_header() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_key(&h), None);
        h.insert("authorization", "Bearer  sb_test_x ".parse().unwrap());
        assert_eq!(presented_key(&h).as_deref(), Some("sb_test_x"));
        h.insert("x-api-key", "sb_test_y".parse().unwrap());
        assert_eq!(presented_key(&h).as_deref(), Some("sb_test_y"));
    }
}
