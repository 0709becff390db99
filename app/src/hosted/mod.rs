//! Hosted pages for end users (no login): the setup flow of the API connect
//! door and the onboarding links' sign-up pages. Plain server-rendered HTML
//! with links, redirects and forms, so they work without JavaScript; the
//! Portal may open them in a popup.

pub mod onboarding;
pub mod setup;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/setup/start", get(setup::start))
        .route("/setup/callback", get(setup::callback))
        .route("/setup/pick", post(setup::pick))
        .merge(onboarding::router())
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// One page frame for every hosted page; `inner` is trusted HTML built with [`esc`].
///
/// Referrer policy `same-origin`: Meta's code in the callback URL never leaks to
/// other sites, while the picker's form post still carries our `Origin` (with
/// `no-referrer` browsers send `Origin: null` and the CSRF check refuses it).
pub fn page(title: &str, inner: &str, status: StatusCode) -> Response {
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><link rel="icon" href="data:,"><title>{title} · Switchboard</title><style>
body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f6f7f9;margin:0;color:#111827}}
main{{max-width:480px;margin:48px auto;background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:24px}}
h1{{font-size:20px;margin:0 0 8px}} p{{line-height:1.5}} .muted{{color:#6b7280;font-size:14px}}
label{{display:flex;gap:10px;align-items:flex-start;padding:10px;border:1px solid #e5e7eb;border-radius:8px;margin:8px 0;cursor:pointer}}
.actions{{display:flex;gap:8px;justify-content:flex-end;margin-top:16px}}
button{{border:0;border-radius:6px;padding:8px 16px;font-size:15px;font-weight:600;cursor:pointer}}
button:focus,input:focus{{outline:3px solid #2563eb;outline-offset:2px}}
.primary{{background:#2563eb;color:#fff}} .secondary{{background:#e5e7eb;color:#111827}}
</style></head><body><main>{inner}</main></body></html>"#,
        title = esc(title)
    );
    (status, Html(html)).into_response()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn pages_keep_their_origin_on_form_posts() {
        let res = super::page("t", "<p>x</p>", axum::http::StatusCode::OK);
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains(r#"<meta name="referrer" content="same-origin">"#));
        assert!(!html.contains("no-referrer"));
    }
}
