//! The relay's test kit: a scriptable customer endpoint (status per call,
//! slow answers, reply bodies), events recorded through the service layer,
//! and direct looks at delivery rows.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::domain::retry::RetryPolicy;
use app::services::fanout::{self, NewEvent, Target};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use sqlx::Row as _;

use crate::common::TestApp;

/// One request the endpoint received.
#[derive(Clone, Debug)]
pub struct Hit {
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("delivery body is JSON")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// How the endpoint answers one call.
#[derive(Clone, Debug)]
pub enum Answer {
    Status(u16),
    Body(u16, String),
    /// Sleeps, then answers 200.
    Sleep(Duration),
}

#[derive(Clone)]
pub struct Endpoint {
    pub url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
    default: Arc<Mutex<Answer>>,
}

async fn receive(State(e): State<Endpoint>, headers: HeaderMap, body: Bytes) -> Response {
    let headers = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    e.hits.lock().unwrap().push(Hit {
        headers,
        body: body.to_vec(),
    });
    let answer = e
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| e.default.lock().unwrap().clone());
    match answer {
        Answer::Status(s) => StatusCode::from_u16(s).unwrap().into_response(),
        Answer::Body(s, b) => (
            StatusCode::from_u16(s).unwrap(),
            [("content-type", "application/json")],
            b,
        )
            .into_response(),
        Answer::Sleep(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK.into_response()
        }
    }
}

/// An endpoint on 127.0.0.1 that answers `default` unless a scripted answer is queued.
pub async fn spawn_endpoint(default: Answer) -> Endpoint {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let e = Endpoint {
        url: format!("http://{addr}/hook"),
        hits: Arc::default(),
        script: Arc::default(),
        default: Arc::new(Mutex::new(default)),
    };
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(e.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    e
}

impl Endpoint {
    pub fn then(&self, a: Answer) {
        self.script.lock().unwrap().push_back(a);
    }
    pub fn set_default(&self, a: Answer) {
        *self.default.lock().unwrap() = a;
    }
    pub fn count(&self) -> usize {
        self.hits.lock().unwrap().len()
    }
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
    /// Waits (up to 15 s) for `n` requests in all and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Hit> {
        for _ in 0..300 {
            if self.count() >= n {
                return self.hits();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} requests, got {}", self.count());
    }
    /// Asserts that no request beyond `n` arrives within `ms`.
    pub async fn stays_at(&self, n: usize, ms: u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        assert_eq!(self.count(), n, "unexpected extra requests");
    }
}

/// `sha256=<hex>` checked with the Meta webhook verifier (an HMAC-SHA256 hex
/// implementation of its own).
pub fn hex_signature_ok(secret: &str, hit: &Hit) -> bool {
    let h = hit.header("x-webhook-signature").unwrap_or_default();
    app::meta::signature::verify(secret, &hit.body, h)
}

/// The Standard Webhooks signature the test expects for `hit`, computed from
/// its `webhook-id` and `webhook-timestamp`.
pub fn expected_standard_signature(secret: &str, hit: &Hit) -> String {
    let id = hit.header("webhook-id").unwrap();
    let ts = hit.header("webhook-timestamp").unwrap();
    let mut signed = format!("{id}.{ts}.").into_bytes();
    signed.extend_from_slice(&hit.body);
    let hex = app::meta::signature::sign(secret, &signed);
    let hex = hex.trim_start_matches("sha256=");
    let raw: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Records a channel event the way ingest does (event + delivery to the
/// channel's webhook in one transaction); returns (event_id, delivery_id).
pub async fn channel_event(
    app: &TestApp,
    account_id: &str,
    channel_id: &str,
    event: &str,
    data: Value,
    held: bool,
) -> (String, String) {
    channel_event_with(app, account_id, channel_id, event, data, held, None).await
}

/// As [`channel_event`]; `lease` = Some((owner, until)) pretends a worker
/// claimed the delivery in the same transaction (and then crashed).
pub async fn channel_event_with(
    app: &TestApp,
    account_id: &str,
    channel_id: &str,
    event: &str,
    data: Value,
    held: bool,
    lease: Option<(&str, i64)>,
) -> (String, String) {
    let ch = app::store::channels::get(&app.state.db, account_id, channel_id)
        .await
        .unwrap()
        .expect("channel");
    let now = app.state.now();
    let event_id = fanout::new_event_id();
    let body = fanout::channel_body(&event_id, event, channel_id, &ch.channel_type, now, data);
    let target = Target {
        channel_id: Some(channel_id.to_string()),
        endpoint_id: None,
        url: ch.webhook_url.clone().expect("channel has a webhook URL"),
        retry_policy: RetryPolicy::Standard,
    };
    let ev = NewEvent {
        account_id: account_id.to_string(),
        channel_id: Some(channel_id.to_string()),
        event: event.to_string(),
        dedupe_key: Some(event_id.clone()),
        inbound_payload_id: None,
        occurred_at: now,
    };
    let mut tx = app.state.db.pool.begin().await.unwrap();
    fanout::record(
        &mut tx,
        &app.state.cipher,
        now,
        &event_id,
        &ev,
        &body,
        &[target],
        held,
    )
    .await
    .unwrap()
    .expect("a new event");
    let delivery_id: String = sqlx::query_scalar("SELECT id FROM deliveries WHERE event_id = $1")
        .bind(&event_id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    if let Some((owner, until)) = lease {
        sqlx::query("UPDATE deliveries SET lease_owner = $1, lease_until = $2 WHERE id = $3")
            .bind(owner)
            .bind(until)
            .bind(&delivery_id)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    app.state.relay_wake.notify_one();
    (event_id, delivery_id)
}

/// A delivery row as the tests look at it.
#[derive(Debug, Clone)]
pub struct Row {
    pub status: String,
    pub lane: i64,
    pub attempts: i64,
    pub payload: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub deadline_at: Option<i64>,
    pub lease_owner: Option<String>,
}

pub async fn delivery(app: &TestApp, id: &str) -> Row {
    let r = sqlx::query(
        "SELECT status, lane, attempts, payload, next_attempt_at, deadline_at, lease_owner \
         FROM deliveries WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    Row {
        status: r.try_get("status").unwrap(),
        lane: r.try_get("lane").unwrap(),
        attempts: r.try_get("attempts").unwrap(),
        payload: r.try_get("payload").unwrap(),
        next_attempt_at: r.try_get("next_attempt_at").unwrap(),
        deadline_at: r.try_get("deadline_at").unwrap(),
        lease_owner: r.try_get("lease_owner").unwrap(),
    }
}

/// Waits (up to 15 s) until the delivery has made `attempts` attempts and
/// holds no lease (its outcome is written).
pub async fn settled(app: &TestApp, id: &str, attempts: i64) -> Row {
    let mut last = None;
    for _ in 0..300 {
        let d = delivery(app, id).await;
        if d.attempts >= attempts && d.lease_owner.is_none() {
            return d;
        }
        last = Some(d);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("delivery {id} did not reach {attempts} attempts: {last:?}");
}

#[derive(Debug, Clone)]
pub struct AttemptLog {
    pub attempt: i64,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response: Option<String>,
}

pub async fn attempts(app: &TestApp, id: &str) -> Vec<AttemptLog> {
    sqlx::query(
        "SELECT attempt, status_code, latency_ms, error, response FROM delivery_attempts \
         WHERE delivery_id = $1 ORDER BY attempt",
    )
    .bind(id)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| AttemptLog {
        attempt: r.try_get("attempt").unwrap(),
        status_code: r.try_get("status_code").unwrap(),
        latency_ms: r.try_get("latency_ms").unwrap(),
        error: r.try_get("error").unwrap(),
        response: r.try_get("response").unwrap(),
    })
    .collect()
}

/// Account events of `event` stored for the account, oldest first (decrypted).
pub async fn account_events(app: &TestApp, account_id: &str, event: &str) -> Vec<Value> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT payload FROM events WHERE account_id = $1 AND channel_id IS NULL AND event = $2 \
         ORDER BY id",
    )
    .bind(account_id)
    .bind(event)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    rows.iter()
        .map(|p| serde_json::from_slice(&app.state.cipher.decrypt(p).unwrap()).unwrap())
        .collect()
}

/// [`account_events`] once at least `n` exist (up to 5 s): the event of an
/// exhausted delivery is stored just after the delivery's own status.
pub async fn wait_account_events(
    app: &TestApp,
    account_id: &str,
    event: &str,
    n: usize,
) -> Vec<Value> {
    for _ in 0..100 {
        let found = account_events(app, account_id, event).await;
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    account_events(app, account_id, event).await
}

/// Mails to the account's owner whose subject contains `needle`.
pub async fn mails_about(
    app: &TestApp,
    account_id: &str,
    needle: &str,
) -> Vec<app::store::mails::Mail> {
    let owner = app::store::accounts::manager_emails(&app.state.db, account_id)
        .await
        .unwrap()
        .remove(0);
    app::store::mails::to_address(&app.state.db, &owner, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.subject.contains(needle))
        .collect()
}

pub fn text_message(from: &str, text: &str) -> Value {
    json!({"message_id": format!("wamid.{}", app::crypto::random_hex(8)), "from": from,
           "from_name": "Ana", "type": "text", "text": text, "context": null})
}
