//! A deadline for server-rendered Portal pages.
//!
//! Portal pages render completely before their first byte is sent (the
//! routes use Leptos's async SSR mode). With several server instances in one
//! process rendering at once, Leptos sometimes never finishes one render:
//! no CPU is used and nothing is waited for, the response simply never
//! starts (measured: about 1 in 7,000 page requests with eight instances in
//! one process; none in 39,000 with one instance). A `GET` of a page has no
//! effect of its own, so when its render misses the deadline it is dropped and
//! rendered once more; a second miss answers 503 with a page that says to
//! reload, instead of a browser tab that spins forever.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// How long one render may take. Pages render in milliseconds; this is far
/// above a slow render on a busy 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(8);
/// Renders tried before answering 503.
const TRIES: usize = 2;

/// Middleware (`from_fn_with_state(DEADLINE, watch)`) for the page routes.
/// Only `GET`/`HEAD` are watched: a server function (`POST`) may have effects
/// and is never run twice.
pub async fn watch(State(deadline): State<Duration>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    // A page request has no body; its head is all a second render needs.
    let (parts, _) = req.into_parts();
    for attempt in 1..=TRIES {
        let req = Request::from_parts(parts.clone(), Body::empty());
        match tokio::time::timeout(deadline, next.clone().run(req)).await {
            Ok(res) => return res,
            Err(_) => tracing::warn!(
                path = %parts.uri.path(),
                attempt,
                deadline_ms = deadline.as_millis() as u64,
                "a page render missed its deadline; dropped"
            ),
        }
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::RETRY_AFTER, "1"),
        ],
        "<!DOCTYPE html><title>Please reload</title>\
         <p>This page took too long to prepare. Please reload it.</p>",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    /// A page whose first `stuck` renders never finish.
    fn app(stuck: usize, calls: Arc<AtomicUsize>) -> Router {
        let handler = move || {
            let calls = calls.clone();
            async move {
                if calls.fetch_add(1, Ordering::SeqCst) < stuck {
                    std::future::pending::<()>().await;
                }
                "page"
            }
        };
        Router::new()
            .route("/", get(handler.clone()).post(handler))
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_millis(50),
                watch,
            ))
    }

    async fn call(app: Router, method: Method) -> (StatusCode, String) {
        let req = Request::builder()
            .method(method)
            .uri("/")
            .body(Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_render_that_never_finishes_is_rendered_again() {
        let calls = Arc::new(AtomicUsize::new(0));
        let (status, body) = call(app(1, calls.clone()), Method::GET).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "page"));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn two_missed_deadlines_answer_503_asking_for_a_reload() {
        let calls = Arc::new(AtomicUsize::new(0));
        let (status, body) = call(app(5, calls.clone()), Method::GET).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("reload"), "{body}");
        assert_eq!(calls.load(Ordering::SeqCst), TRIES);
    }

    #[tokio::test]
    async fn posts_are_never_run_twice() {
        let calls = Arc::new(AtomicUsize::new(0));
        let app = app(1, calls.clone());
        let req = Request::builder()
            .method(Method::POST)
            .uri("/")
            .body(Body::empty())
            .unwrap();
        let waited = tokio::time::timeout(Duration::from_millis(300), app.oneshot(req)).await;
        assert!(waited.is_err(), "the stuck POST is not cut off or retried");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
