//! CSRF defence: every state-changing browser request (server functions under
//! `/rpc`, HTML form posts) must come from the Portal's own origin.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;

/// Paths whose callers are not browsers with sessions: they authenticate otherwise
/// (API keys, Meta signatures) and are exempt.
fn exempt(path: &str) -> bool {
    path.starts_with("/api/v1") || path.starts_with("/webhooks/") || path.starts_with("/sandbox/")
}

/// `scheme://host[:port]` of a URL, the way browsers write `Origin`.
pub fn origin_of(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

/// True when the request's `Origin` (or, lacking it, `Referer`) is the base URL's origin.
pub fn same_origin(headers: &axum::http::HeaderMap, expected: &str) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return origin == expected;
    }
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .is_some_and(|u| origin_of(&u) == expected)
}

pub async fn check_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || exempt(req.uri().path()) {
        return next.run(req).await;
    }
    let expected = origin_of(&state.config.base_url);
    if !same_origin(req.headers(), &expected) {
        return AppError::client(
            403,
            "csrf_origin_mismatch",
            format!("this form must be sent from {expected}; reload the page there and try again"),
        )
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn origin_and_referer_rules() {
        let mut h = HeaderMap::new();
        assert!(
            !same_origin(&h, "http://127.0.0.1:3000"),
            "no origin, no referer"
        );
        h.insert(
            header::REFERER,
            HeaderValue::from_static("http://127.0.0.1:3000/keys"),
        );
        assert!(same_origin(&h, "http://127.0.0.1:3000"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(
            !same_origin(&h, "http://127.0.0.1:3000"),
            "origin wins over referer"
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:3000"),
        );
        assert!(same_origin(&h, "http://127.0.0.1:3000"));
        let u = url::Url::parse("https://sb.example.com/").unwrap();
        assert_eq!(origin_of(&u), "https://sb.example.com");
        assert!(exempt("/api/v1/account") && !exempt("/rpc/login"));
    }
}
