//! Builds the application state and the router, binds, serves and shuts down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use app::clock::{Clock, SystemClock};
use app::config::Config;
use app::crypto::{self, Cipher};
use app::meta::{GraphClient, GraphSettings};
use app::metrics::Metrics;
use app::services::email::Mailer;
use app::services::rate_limit::RateLimiter;
use app::state::AppState;
use app::store::{Db, sessions::SqlSessionStore};
use app::{App, shell};
use axum::Router;
use axum::http::HeaderName;
use axum::middleware;
use axum::routing::{any, get};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::ops;
use crate::telemetry;

/// Opens the database, runs migrations and assembles the state every door uses.
pub async fn build_state(mut config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    let db = Db::connect(&config.database_url).await.with_context(|| {
        format!(
            "SWITCHBOARD_DATABASE_URL: cannot open {}",
            app::config::mask_url_password(&config.database_url)
        )
    })?;
    db.migrate().await.context("applying database migrations")?;
    if config.sandbox() && crate::sandbox::seed::ensure(&db, clock.now_ms()).await? {
        tracing::info!(
            "sandbox: seeded Sandbox Business (WABA, two numbers, two Pages, Instagram)"
        );
    }
    let key = resolve_secret_key(&config)?;
    if config.sandbox() {
        resolve_sandbox_app(&db, &mut config).await?;
    }
    let meta = GraphClient::new(GraphSettings {
        graph_url: config.meta_graph_url.clone(),
        instagram_graph_url: config.meta_instagram_graph_url.clone(),
        version: config.meta_api_version.clone(),
        app_id: config.meta_app_id.clone().unwrap_or_default(),
        app_secret: config.meta_app_secret.clone().unwrap_or_default(),
    });
    let mailer = Mailer::new(
        db.clone(),
        clock.clone(),
        &config.mail_from,
        config.smtp_url.as_deref(),
    )
    .map_err(anyhow::Error::msg)?;
    let mut leptos_options = get_configuration(None)
        .context("reading LEPTOS_* settings")?
        .leptos_options;
    // cargo-leptos passes the output name at build time; a binary built by
    // plain `cargo` (the one the test suite builds and runs) has none, and its
    // pages would then load `/pkg/.js`. The name is fixed in Cargo.toml.
    if leptos_options.output_name.is_empty() {
        leptos_options.output_name = "portal".into();
    }
    crate::assets::configure(&mut leptos_options, &config);
    leptos_options.site_addr = config.listen;
    let media = app::services::media::MediaStore::new(&config, &key).map_err(anyhow::Error::msg)?;
    Ok(AppState {
        rate_limiter: RateLimiter::new(config.rate_limit_per_minute),
        cipher: Cipher::new(&key),
        meta,
        config: Arc::new(config),
        db,
        clock,
        mailer,
        metrics: Arc::new(Metrics::default()),
        leptos_options,
        accepting: Arc::new(AtomicBool::new(true)),
        ingest: app::services::inbound::Ingest::new(),
        relay_wake: Arc::new(tokio::sync::Notify::new()),
        media,
        heartbeats: Default::default(),
    })
}

/// The sandbox plays a Meta app whose id, secret and verify token are generated
/// once per installation and kept in `settings`, so webhooks signed before a
/// restart still verify after it. Explicit settings win.
async fn resolve_sandbox_app(db: &Db, config: &mut Config) -> anyhow::Result<()> {
    use app::store::settings::get_or_insert;
    let id_candidate = format!("9{:014}", rand::random::<u64>() % 100_000_000_000_000);
    let pairs: [(&str, String, &mut Option<String>); 3] = [
        ("sandbox_meta_app_id", id_candidate, &mut config.meta_app_id),
        (
            "sandbox_meta_app_secret",
            crypto::random_hex(16),
            &mut config.meta_app_secret,
        ),
        (
            "sandbox_meta_verify_token",
            crypto::random_hex(16),
            &mut config.meta_verify_token,
        ),
    ];
    for (name, candidate, slot) in pairs {
        if slot.is_none() {
            *slot = Some(
                get_or_insert(db, name, &candidate)
                    .await
                    .with_context(|| format!("storing {name}"))?,
            );
        }
    }
    Ok(())
}

/// `SWITCHBOARD_SECRET_KEY`, or in sandbox mode a key generated once into
/// `<data dir>/secret.key` (mode 0600).
fn resolve_secret_key(config: &Config) -> anyhow::Result<Vec<u8>> {
    if let Some(k) = &config.secret_key {
        return Ok(k.clone());
    }
    anyhow::ensure!(
        config.sandbox(),
        "SWITCHBOARD_SECRET_KEY: is required in live mode"
    );
    let path = config.data_dir.join("secret.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return crypto::decode_key(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "SWITCHBOARD_DATA_DIR: cannot create {}",
            config.data_dir.display()
        )
    })?;
    let key = crypto::generate_key();
    write_private(&path, &crypto::encode_key(&key))?;
    tracing::warn!(path = %path.display(), "no SWITCHBOARD_SECRET_KEY set: generated a sandbox key; keep this file, it decrypts stored secrets");
    Ok(key)
}

fn write_private(path: &std::path::Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

/// The whole HTTP surface: ops endpoints, REST API, API docs, Portal pages and
/// server functions, static files, with sessions, CSRF and request ids.
pub fn router(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    let routes = generate_route_list(App);
    let session_layer = SessionManagerLayer::new(SqlSessionStore::new(state.db.clone()))
        .with_name("sb_session")
        .with_secure(state.config.secure_cookies())
        .with_same_site(SameSite::Lax)
        .with_http_only(true)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::days(14),
        ));
    let request_id = HeaderName::from_static("x-request-id");
    // The Portal's pages (and its server functions), each page render under
    // a deadline (see `page_watchdog`).
    let portal_pages = Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let s = state.clone();
                move || provide_context(s.clone())
            },
            move || shell(leptos_options.clone()),
        )
        .layer(middleware::from_fn_with_state(
            crate::page_watchdog::DEADLINE,
            crate::page_watchdog::watch,
        ))
        // Server functions' undecodable arguments are the caller's error (400).
        .layer(middleware::from_fn(
            app::web::session::bad_arguments_are_400,
        ));
    let mut base = Router::new();
    if state.config.sandbox() {
        base = base.nest("/sandbox", crate::sandbox::router(&state));
    }
    base.route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/api/docs", get(app::web::docs::page))
        .nest("/api/v1", app::api::router(state.clone()))
        .route("/api/v1/", any(app::api::not_found))
        .merge(app::hosted::router())
        .merge(app::web::meta_webhooks::router())
        .merge(app::web::billing::router())
        .merge(app::web::media::router())
        .merge(portal_pages)
        .fallback_service(crate::assets::fallback(&state))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            app::web::csrf::check_origin,
        ))
        .layer(session_layer)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            telemetry::observe,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// A bug must not hang or drop the connection: answer 500 in the error shape.
fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    tracing::error!(panic = %msg, "handler panicked");
    use axum::response::IntoResponse;
    app::error::AppError::Internal(msg).into_response()
}

/// Periodic clean-up: expired sessions and old log-in failures.
fn spawn_housekeeping(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let store = SqlSessionStore::new(state.db.clone());
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            use tower_sessions::session_store::ExpiredDeletion;
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "session clean-up failed");
            }
            let cutoff = state.now() - app::services::accounts::LOGIN_WINDOW_MS;
            if let Err(e) = app::store::throttle::purge_before(&state.db, cutoff).await {
                tracing::warn!(error = %e, "log-in failure clean-up failed");
            }
            if let Err(e) = app::services::deliveries::purge_expired(&state).await {
                tracing::warn!(error = %e, "event retention purge failed");
            }
        }
    });
}

/// Serves on `listener` until `shutdown` resolves, then stops accepting, lets
/// in-flight requests finish for up to 10 s and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(listener, state, shutdown, crate::workers::WorkerSet::ALL).await
}

/// [`serve`] with a chosen set of background workers (tests leave one out).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    worker_set: crate::workers::WorkerSet,
) -> anyhow::Result<()> {
    spawn_housekeeping(&state);
    app::services::inbound::spawn_writer(&state);
    if state.config.sandbox() {
        crate::sandbox::spawn_workers(&state);
    }
    let workers = crate::workers::spawn_set(&state, worker_set);
    let app = router(state.clone());
    let accepting = state.accepting.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown.await;
        accepting.store(false, Ordering::SeqCst);
        tracing::info!("shutting down: finishing in-flight requests (at most 10 s)");
        let _ = tx.send(());
    });
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = rx.await;
    });
    let drained = async { server.await.context("HTTP server failed") };
    let limited_state = state.accepting.clone();
    let result = tokio::select! {
        r = drained => r,
        _ = async move {
            // Only counts once shutdown began.
            while limited_state.load(Ordering::SeqCst) { tokio::time::sleep(Duration::from_millis(100)).await; }
            tokio::time::sleep(Duration::from_secs(10)).await;
        } => {
            tracing::warn!("in-flight requests did not finish within 10 s; stopping anyway");
            Ok(())
        }
    };
    // Also when the server ended on its own: the workers stop on this flag.
    state.accepting.store(false, Ordering::SeqCst);
    workers.stop().await;
    result
}

/// SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// `switchboard serve`.
pub async fn run(config: Config) -> anyhow::Result<()> {
    telemetry::init(config.log_format);
    let listen = config.listen;
    println!("Switchboard {} starting with:", app::VERSION);
    for (name, value) in config.describe() {
        println!("  {name:<22} {value}");
    }
    if !config.sandbox() && config.billing_provider == app::config::BillingProviderKind::Sandbox {
        // The sandbox checkout grants licenses on a click: fine for a private
        // installation, not for one where strangers can sign up.
        tracing::warn!(
            "live mode with SWITCHBOARD_BILLING_PROVIDER=sandbox: anyone who signs up can buy licenses on the built-in test checkout; set it to stripe for a public installation"
        );
    }
    // Held until the process ends: `restore` refuses while it is held.
    let _database_lock = crate::backup::DatabaseLock::for_serve(&config)?;
    let state = build_state(config, Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("SWITCHBOARD_LISTEN: cannot bind {listen}"))?;
    match crate::assets::describe(&crate::assets::source(&state.config)) {
        Ok(line) => println!("  {:<22} {line}", "Portal files"),
        Err(problem) => tracing::error!("Portal files: {problem}"),
    }
    println!("\nPortal: {}/", state.config.base());
    if app::services::email::mailbox_available(&state) {
        println!(
            "Sandbox mode: each user reads the mail sent to them at {}/mailbox",
            state.config.base()
        );
    }
    tracing::info!(addr = %listen, "listening");
    serve(listener, state, shutdown_signal()).await
}
