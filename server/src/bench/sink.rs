//! The customer's endpoint for the relay figures: answers 200 at once,
//! checks each delivery's `X-Webhook-Signature`, and notes when the message
//! numbered `n` (`wamid.bench.<n>`) arrived.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;

#[derive(Clone)]
pub struct Sink {
    pub url: String,
    secret: Arc<str>,
    base: Instant,
    pub received: Arc<AtomicU64>,
    pub bad_signatures: Arc<AtomicU64>,
    /// Message number → microseconds after `base` of its first arrival.
    arrivals: Arc<Mutex<HashMap<u64, u64>>>,
}

async fn receive(State(s): State<Sink>, headers: HeaderMap, body: Bytes) -> &'static str {
    let at = s.base.elapsed().as_micros() as u64;
    let sig = headers
        .get("x-webhook-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if sig != app::services::relay::sign::hex_signature(&s.secret, &body) {
        s.bad_signatures.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(n) = message_number(&body) {
        s.arrivals.lock().unwrap().entry(n).or_insert(at);
    }
    s.received.fetch_add(1, Ordering::Relaxed);
    "ok"
}

/// `n` of the `"message_id":"wamid.bench.<n>"` in a delivery body.
fn message_number(body: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(body).ok()?;
    let rest = text.split("wamid.bench.").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

impl Sink {
    pub async fn start(secret: &str, base: Instant) -> anyhow::Result<Sink> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        let sink = Sink {
            url: format!("http://{addr}/events"),
            secret: secret.into(),
            base,
            received: Arc::default(),
            bad_signatures: Arc::default(),
            arrivals: Arc::default(),
        };
        let router = axum::Router::new()
            .route("/events", post(receive))
            .with_state(sink.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(sink)
    }

    pub fn count(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Arrival (µs after base) of message `n`, if it came.
    pub fn arrival(&self, n: u64) -> Option<u64> {
        self.arrivals.lock().unwrap().get(&n).copied()
    }

    pub fn distinct(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_message_number() {
        let b = br#"{"data":{"message_id":"wamid.bench.1234","type":"text"}}"#;
        assert_eq!(super::message_number(b), Some(1234));
        assert_eq!(super::message_number(b"{}"), None);
    }
}
