//! Helpers for tests that use the Meta sandbox: a local webhook sink, the
//! OAuth dialog driven over HTTP, tokens for each kind of login.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::common::{TestApp, spawn_app_with};

/// The sandbox dialog redirects only to this installation's own callback
/// (its app's one valid OAuth redirect URI); `keep=1` checks that the URI's
/// own query survives.
pub fn redirect(app: &TestApp) -> String {
    format!("{}/setup/callback?keep=1", app.base)
}

#[derive(Clone, Debug)]
pub struct Captured {
    pub signature: String,
    pub body: Vec<u8>,
}

impl Captured {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }
}

/// A stand-in for the product's `/webhooks/meta` on 127.0.0.1 that records
/// every POST; it answers 500 to the first `fail_first` requests.
#[derive(Clone)]
pub struct Sink {
    pub url: String,
    seen: Arc<Mutex<Vec<Captured>>>,
    fail_left: Arc<Mutex<u32>>,
}

async fn record(State(sink): State<Sink>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    sink.seen.lock().unwrap().push(Captured {
        signature: sig,
        body: body.to_vec(),
    });
    let mut left = sink.fail_left.lock().unwrap();
    if *left > 0 {
        *left -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::OK
}

pub async fn spawn_sink(fail_first: u32) -> Sink {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sink = Sink {
        url: format!("http://{addr}/hook"),
        seen: Arc::default(),
        fail_left: Arc::new(Mutex::new(fail_first)),
    };
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(record))
        .with_state(sink.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    sink
}

impl Sink {
    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
    pub fn all(&self) -> Vec<Captured> {
        self.seen.lock().unwrap().clone()
    }
    /// Waits (up to 10 s) until `n` webhooks arrived and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Captured> {
        for _ in 0..200 {
            if self.count() >= n {
                return self.all();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} webhooks, got {}: {:?}",
            self.count(),
            self.all().iter().map(|c| c.json()).collect::<Vec<_>>()
        );
    }
    /// The first webhook (after `from`) whose JSON satisfies `pred`.
    pub async fn find(&self, pred: impl Fn(&Value) -> bool) -> Captured {
        for _ in 0..200 {
            if let Some(c) = self.all().into_iter().find(|c| pred(&c.json())) {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no matching webhook among {:?}",
            self.all().iter().map(|c| c.json()).collect::<Vec<_>>()
        );
    }
}

/// A sandbox-mode app whose sandbox posts webhooks to a fresh sink, with fast statuses.
pub async fn app_with_sink(fail_first: u32) -> (TestApp, Sink) {
    let sink = spawn_sink(fail_first).await;
    let app = spawn_app_with(&[
        ("SWITCHBOARD_SANDBOX_WEBHOOK_URL", &sink.url),
        ("SWITCHBOARD_SANDBOX_SENT_DELAY_MS", "50"),
        ("SWITCHBOARD_SANDBOX_DELIVERED_DELAY_MS", "100"),
    ])
    .await;
    (app, sink)
}

pub fn app_id(app: &TestApp) -> String {
    app.state.config.meta_app_id.clone().unwrap()
}

pub fn app_secret(app: &TestApp) -> String {
    app.state.config.meta_app_secret.clone().unwrap()
}

/// Submits the sandbox dialog with `extra` params (config_id or scope) and
/// the chosen assets; returns the redirect `Location`.
pub async fn dialog(
    app: &TestApp,
    extra: &[(&str, &str)],
    assets: &[&str],
    action: &str,
) -> String {
    let id = app_id(app);
    let to = redirect(app);
    let mut form: Vec<(&str, &str)> = vec![
        ("client_id", id.as_str()),
        ("redirect_uri", to.as_str()),
        ("state", "st-42"),
        ("response_type", "code"),
        ("action", action),
    ];
    form.extend_from_slice(extra);
    for a in assets {
        form.push(("asset", a));
    }
    // A browser posts the dialog's form from the dialog's own page.
    let res = app
        .http
        .post(app.url("/sandbox/dialog/oauth"))
        .header("origin", &app.base)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        302,
        "dialog did not redirect: {}",
        res.text().await.unwrap()
    );
    res.headers()["location"].to_str().unwrap().to_string()
}

pub async fn code_for(app: &TestApp, extra: &[(&str, &str)], assets: &[&str]) -> String {
    let loc = dialog(app, extra, assets, "continue").await;
    crate::common::query_param(&loc, "code")
}

/// Embedded Signup for the first seeded number → a business token.
pub async fn whatsapp_token(app: &TestApp) -> String {
    let cfg = app.state.config.meta_config_id_whatsapp.clone().unwrap();
    let code = code_for(app, &[("config_id", &cfg)], &["110000000000001"]).await;
    app.state
        .meta
        .exchange_code(&code, Some(&redirect(app)))
        .await
        .unwrap()
        .access_token
}

/// Facebook Login for `assets` → a short-lived user token.
pub async fn user_token(app: &TestApp, config: &str, assets: &[&str]) -> String {
    let code = code_for(app, &[("config_id", config)], assets).await;
    app.state
        .meta
        .exchange_code(&code, Some(&redirect(app)))
        .await
        .unwrap()
        .access_token
}

/// The (non-expiring) Page token of `page_id` after a Facebook Login (Instagram variant when `ig`).
pub async fn page_token(app: &TestApp, page_id: &str, ig: bool) -> String {
    let (cfg, assets) = if ig {
        (
            app.state.config.meta_config_id_instagram.clone().unwrap(),
            vec!["17841400000000001"],
        )
    } else {
        (
            app.state.config.meta_config_id_facebook.clone().unwrap(),
            vec![page_id],
        )
    };
    let short = user_token(app, &cfg, &assets).await;
    // Like the product: long-lived user token first, so Page tokens never expire.
    let user = app
        .state
        .meta
        .exchange_long_lived(&short)
        .await
        .unwrap()
        .access_token;
    let pages = app.state.meta.me_accounts(&user).await.unwrap();
    pages
        .into_iter()
        .find(|p| p.id == page_id)
        .and_then(|p| p.access_token)
        .expect("page token")
}

/// `POST /sandbox/api/…` with JSON; returns (status, body).
pub async fn control(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let res = app
        .http
        .post(app.url(&format!("/sandbox/api/{path}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Keys and nesting only: objects keep their keys, arrays their first element.
pub fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        _ => Value::Null,
    }
}

pub fn fixtures() -> Value {
    serde_json::from_str(include_str!("../fixtures/meta_webhooks.json")).unwrap()
}
