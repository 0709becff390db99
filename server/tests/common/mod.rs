//! Black-box test harness: the real router on a real port, a fresh database per
//! test (a temporary SQLite file, or a new PostgreSQL database when
//! `SWITCHBOARD_TEST_POSTGRES_URL` is set), and an HTTP client with cookies.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use app::clock::ShiftedClock;
use app::config::Config;
use app::state::AppState;
use sqlx::Connection;

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub clock: ShiftedClock,
    /// A browser-like client: cookies kept, `Origin` set to the Portal's origin.
    pub browser: reqwest::Client,
    /// A plain client without cookies or Origin (scripts, curl).
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

async fn fresh_database(dir: &std::path::Path) -> String {
    match std::env::var("SWITCHBOARD_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.is_empty() => fresh_postgres(&admin).await,
        _ => format!("sqlite://{}/switchboard.db", dir.display()),
    }
}

/// A new, empty PostgreSQL database on the server `admin` points at.
pub async fn fresh_postgres(admin: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("sb_test_{}", app::crypto::random_hex(8));
    let mut conn = sqlx::AnyConnection::connect(admin)
        .await
        .expect("connect to test postgres");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();
    let mut url = url::Url::parse(admin).expect("postgres url");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().unwrap();
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("SWITCHBOARD_LISTEN".into(), addr.to_string());
    vars.insert(
        "SWITCHBOARD_DATABASE_URL".into(),
        fresh_database(dir.path()).await,
    );
    vars.insert(
        "SWITCHBOARD_DATA_DIR".into(),
        dir.path().display().to_string(),
    );
    vars.insert(
        "SWITCHBOARD_SECRET_KEY".into(),
        app::crypto::encode_key(&app::crypto::generate_key()),
    );
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    let config = Config::from_map(&vars).unwrap_or_else(|e| panic!("test config: {e:?}"));
    let clock = ShiftedClock::default();
    let state = server::startup::build_state(config, Arc::new(clock.clone()))
        .await
        .expect("build state");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serve_state = state.clone();
    tokio::spawn(async move {
        let _ = server::startup::serve(listener, serve_state, async move {
            let _ = rx.await;
        })
        .await;
    });
    let base = format!("http://{addr}");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", base.parse().unwrap());
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        base,
        state,
        clock,
        browser,
        http,
        _dir: dir,
        shutdown: Some(tx),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Calls a Portal server function the way a hydrated page does.
    pub async fn rpc(&self, name: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.browser
            .post(self.url(&format!("/rpc/{name}")))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("rpc request")
    }

    pub async fn sign_up(&self, email: &str, password: &str, account: &str) {
        let res = self
            .rpc(
                "signup",
                &[
                    ("account_name", account),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await;
        assert!(
            res.status().is_success(),
            "signup failed: {} {}",
            res.status(),
            res.text().await.unwrap()
        );
    }

    /// A fresh verified owner with an API key, created through the services.
    pub async fn account_with_key(&self) -> (String, String) {
        let email = format!("owner-{}@example.com", app::crypto::random_hex(4));
        let created = app::services::accounts::create_verified(
            &self.state,
            &email,
            "correct horse battery",
            "Acme",
        )
        .await
        .expect("create user");
        let key = app::services::keys::create(&self.state, &created.account.id, "test", None)
            .await
            .expect("key");
        (created.account.id, key.secret)
    }

    /// The newest mail to `to` (from the outbox table), its body rendered as
    /// the addressee reads it: with the sealed link put back in place.
    pub async fn last_mail_to(&self, to: &str) -> app::store::mails::Mail {
        let mut mail = app::store::mails::to_address(&self.state.db, to, 1)
            .await
            .expect("mails")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no mail to {to}"));
        mail.body_text = app::services::email::render(&self.state.cipher, &mail);
        mail
    }
}

/// The first `http…` link in a mail body.
pub fn link_in(body: &str) -> String {
    body.split_whitespace()
        .find(|w| w.starts_with("http"))
        .expect("a link in the mail")
        .to_string()
}

/// The query value `name` of a URL.
pub fn query_param(link: &str, name: &str) -> String {
    url::Url::parse(link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.to_string())
        .expect("query parameter")
}
