//! The built-in Meta sandbox (SPEC §9, §11): a faithful stand-in for Meta's
//! Graph API, OAuth dialog and webhook sender, mounted at `/sandbox` in
//! sandbox mode only. It keeps its own `sandbox_*` tables and reaches the
//! product only over HTTP (webhooks), exactly as the real Meta would.
//!
//! Sandbox mode is single-tenant by design: whoever reaches `/sandbox` plays
//! Meta and every end user for all of its assets. Two rules keep that from
//! leaking further: [`guard`] stops other web pages from driving it through
//! the developer's browser, and [`tenant`] narrows the read endpoints to one
//! account's assets when they are called with that account's API key.

pub mod apps;
pub mod control;
pub mod db;
pub mod dialog;
pub mod files;
pub mod graph;
pub mod guard;
pub mod payloads;
pub mod phone;
pub mod seed;
pub mod sender;
pub mod tenant;

use std::sync::Arc;
use std::time::Duration;

use app::clock::Clock;
use app::config::Config;
use app::state::AppState;
use app::store::Db;
use axum::Router;
use axum::routing::{any, get, post};

/// What every sandbox handler needs. Built from the product's state; only
/// its database pool, clock and settings are used, never product tables,
/// except through `product` by [`tenant`] to tell whose API key a read
/// endpoint was called with.
#[derive(Clone)]
pub struct Sandbox {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub http: reqwest::Client,
    pub product: AppState,
}

impl Sandbox {
    pub fn new(state: &AppState) -> Sandbox {
        let http = reqwest::Client::builder()
            // Meta gives a webhook receiver about 5 s.
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            // Like Meta, it calls the callbacks it was given directly.
            .no_proxy()
            .build()
            .expect("static reqwest configuration");
        Sandbox {
            db: state.db.clone(),
            config: state.config.clone(),
            clock: state.clock.clone(),
            http,
            product: state.clone(),
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn app_id(&self) -> &str {
        self.config.meta_app_id.as_deref().unwrap_or_default()
    }

    pub fn app_secret(&self) -> &str {
        self.config.meta_app_secret.as_deref().unwrap_or_default()
    }

    /// The app a token acts for: a customer app's id, or the installation's own.
    pub fn app_of<'a>(&'a self, t: &'a db::Token) -> &'a str {
        t.app_id.as_deref().unwrap_or(self.app_id())
    }
}

/// `/sandbox/…`: Graph API, dialog, media downloads and the control API,
/// every route behind [`guard::check`].
pub fn router(state: &AppState) -> Router<AppState> {
    let sb = Sandbox::new(state);
    Router::new()
        .route("/graph", any(graph::handle_root))
        .route("/graph/{*path}", any(graph::handle))
        .route("/media/{media_id}", get(graph::download_media))
        .route("/cdn/{media_id}", get(graph::cdn_media))
        .route("/dialog/oauth", get(dialog::show).post(dialog::submit))
        .route("/phone", get(phone::page))
        .route("/phone/thread", get(phone::thread))
        .route("/phone/send", post(phone::send))
        .route("/phone/media/{media_id}", get(phone::media))
        .route("/api/inbound", post(control::inbound))
        .route("/api/status", post(control::status))
        .route("/api/outbox", get(control::outbox))
        .route(
            "/api/faults",
            post(control::add_fault)
                .delete(control::clear_faults)
                .get(control::list_faults),
        )
        .route(
            "/api/templates/{template_id}/review",
            post(control::review_template),
        )
        .route("/api/account-update", post(control::account_update))
        .route("/api/revoke", post(control::revoke))
        .route("/api/reset", post(control::reset))
        .route(
            "/api/assets",
            get(control::list_assets).post(control::add_assets),
        )
        .route("/api/webhooks", get(control::list_webhooks))
        .route("/api/apps", post(apps::create))
        .layer(axum::middleware::from_fn_with_state(
            sb.clone(),
            guard::check,
        ))
        .with_state(sb)
}

/// Background work of the sandbox: retrying webhooks the product did not accept.
pub fn spawn_workers(state: &AppState) {
    let sb = Sandbox::new(state);
    tokio::spawn(async move { sender::retry_loop(sb).await });
}
