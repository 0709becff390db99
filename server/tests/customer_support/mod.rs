//! A customer's webhook endpoint on 127.0.0.1: records every POST with its
//! headers and answers with a status the test can change at any time.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

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

#[derive(Clone)]
pub struct Customer {
    pub url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    status: Arc<AtomicU16>,
}

async fn receive(State(c): State<Customer>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let headers = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    c.hits.lock().unwrap().push(Hit {
        headers,
        body: body.to_vec(),
    });
    StatusCode::from_u16(c.status.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK)
}

/// Starts an endpoint answering 200.
pub async fn spawn_customer() -> Customer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let c = Customer {
        url: format!("http://{addr}/events"),
        hits: Arc::default(),
        status: Arc::new(AtomicU16::new(200)),
    };
    let router = axum::Router::new()
        .route("/events", axum::routing::post(receive))
        .with_state(c.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    c
}

impl Customer {
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
    pub fn bodies(&self) -> Vec<Value> {
        self.hits().iter().map(Hit::json).collect()
    }
    /// Waits (up to 15 s) for the first delivery whose JSON satisfies `pred`.
    pub async fn find(&self, pred: impl Fn(&Value) -> bool) -> Hit {
        for _ in 0..300 {
            if let Some(h) = self.hits().into_iter().find(|h| pred(&h.json())) {
                return h;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no matching delivery among {:?}", self.bodies());
    }
    /// Waits (up to 15 s) until `n` deliveries arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..300 {
            if self.hits().len() >= n {
                return self.bodies();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} deliveries, got {:?}", self.bodies());
    }
}
