//! The one application state handed to axum handlers and to Leptos server functions.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use leptos::config::LeptosOptions;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::Cipher;
use crate::meta::GraphClient;
use crate::metrics::Metrics;
use crate::services::email::Mailer;
use crate::services::rate_limit::RateLimiter;
use crate::store::Db;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub cipher: Cipher,
    /// The Graph API client; points at the built-in sandbox in sandbox mode.
    pub meta: GraphClient,
    pub mailer: Mailer,
    pub rate_limiter: RateLimiter,
    pub metrics: Arc<Metrics>,
    pub leptos_options: LeptosOptions,
    /// Cleared when shutdown begins, so `/readyz` turns away new traffic first.
    pub accepting: Arc<AtomicBool>,
    /// Hands verified Meta payloads to the group-commit writer.
    pub ingest: crate::services::inbound::Ingest,
    /// Woken after new deliveries are committed, so the relay starts at once.
    pub relay_wake: Arc<tokio::sync::Notify>,
    /// Media files (object store), signed links and the media worker's wake-up.
    pub media: crate::services::media::MediaStore,
    /// The background workers' last signs of life, for `/readyz`.
    pub heartbeats: crate::heartbeat::Heartbeats,
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos_options.clone()
    }
}
