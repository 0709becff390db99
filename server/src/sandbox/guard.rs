//! The one gate in front of every `/sandbox/*` route (SPEC §14).
//!
//! Sandbox mode usually runs on a developer's laptop, where any web page the
//! developer visits can make the browser send requests to `127.0.0.1`. A
//! browser can send a cross-site POST without asking first only with a
//! "simple" body (`text/plain`, form-encoded, multipart) or none; it always
//! says where it comes from in `Origin`. So every state-changing request is
//! held to one of three rules, chosen by the door it knocks on:
//!
//! - **Control API, phone, everything else**: `Content-Type: application/json`
//!   (415 `unsupported_media_type`) — a page cannot send that cross-site
//!   without a CORS preflight, which the sandbox never grants — and no foreign
//!   `Origin` (403 `csrf_origin_mismatch`). Scripts and curl send no `Origin`
//!   and pass.
//! - **OAuth dialog** (`/dialog/oauth`): Meta's consent page is an HTML form
//!   that must work without JavaScript, so it keeps its form body and takes
//!   the Portal's rule instead: `Origin` (or, lacking it, `Referer`) must be
//!   this installation's origin.
//! - **Graph API** (`/graph/…`): called by servers (this one, or a customer's
//!   code) with whatever Meta's Graph accepts — form-encoded parameters,
//!   multipart uploads, JSON — so the body is not checked; a request that a
//!   browser sent from a foreign page is still refused by its `Origin`.

use app::error::AppError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Sandbox;

/// Which rule a path falls under.
#[derive(Debug, PartialEq, Eq)]
enum Door {
    Dialog,
    Graph,
    Json,
}

fn door(path: &str) -> Door {
    // The router is nested at `/sandbox`; accept the path with or without it.
    let path = path.strip_prefix("/sandbox").unwrap_or(path);
    if path == "/dialog/oauth" {
        Door::Dialog
    } else if path == "/graph" || path.starts_with("/graph/") {
        Door::Graph
    } else {
        Door::Json
    }
}

/// True when an `Origin` header is present and is not `expected` (`null`,
/// which sandboxed frames and `file:` pages send, is foreign too).
fn foreign_origin(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::ORIGIN)
        .is_some_and(|o| o.to_str().map_or(true, |o| o != expected))
}

fn origin_refused(expected: &str) -> Response {
    AppError::client(
        403,
        "csrf_origin_mismatch",
        format!(
            "the sandbox takes state-changing requests only from {expected} or from scripts without an Origin"
        ),
    )
    .into_response()
}

pub async fn check(State(sb): State<Sandbox>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let expected = app::web::csrf::origin_of(&sb.config.base_url);
    let headers = req.headers();
    match door(req.uri().path()) {
        Door::Dialog => {
            if !app::web::csrf::same_origin(headers, &expected) {
                return AppError::client(
                    403,
                    "csrf_origin_mismatch",
                    format!("this form must be sent from {expected}; reload the page there and try again"),
                )
                .into_response();
            }
        }
        Door::Graph => {
            if foreign_origin(headers, &expected) {
                return origin_refused(&expected);
            }
        }
        Door::Json => {
            if !app::api::extract::json_content_type(headers) {
                return AppError::client(
                    415,
                    "unsupported_media_type",
                    "the sandbox takes state-changing requests only with Content-Type: application/json",
                )
                .into_response();
            }
            if foreign_origin(headers, &expected) {
                return origin_refused(&expected);
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn doors() {
        assert_eq!(door("/sandbox/dialog/oauth"), Door::Dialog);
        assert_eq!(door("/dialog/oauth"), Door::Dialog);
        assert_eq!(door("/graph/v26.0/123/messages"), Door::Graph);
        assert_eq!(door("/graph"), Door::Graph);
        assert_eq!(door("/graphs"), Door::Json);
        assert_eq!(door("/api/reset"), Door::Json);
        assert_eq!(door("/phone/send"), Door::Json);
    }

    #[test]
    fn json_and_origin_rules() {
        let mut h = HeaderMap::new();
        assert!(!app::api::extract::json_content_type(&h));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!app::api::extract::json_content_type(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/JSON; charset=utf-8"),
        );
        assert!(app::api::extract::json_content_type(&h));
        let me = "http://127.0.0.1:3000";
        assert!(!foreign_origin(&h, me), "no Origin: a script");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:3000"),
        );
        assert!(!foreign_origin(&h, me));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(foreign_origin(&h, me));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(foreign_origin(&h, me));
    }
}
