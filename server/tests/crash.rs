//! Durability with real processes: the `switchboard` binary is killed with
//! SIGKILL under ingest load and restarted — every webhook it acknowledged must
//! still reach the customer. And two processes sharing one PostgreSQL queue
//! deliver every event. Loopback only; every loop is bounded.

mod common;
mod connect_support;
mod customer_support;
mod sandbox_support;

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::meta::signature::{meta_json_bytes, sign};
use connect_support::{PHONE_1, WABA, allow_redirect, connect};
use customer_support::{Customer, spawn_customer};
use serde_json::{Value, json};

/// What a prepared installation needs to be started again by the binary.
struct Installation {
    env: Vec<(String, String)>,
    app_secret: String,
    _dir: tempfile::TempDir,
}

/// Sets up an account with a WhatsApp channel pointing at `customer` in a
/// database the child processes will open, then stops the in-process server.
async fn prepare(customer: &Customer, database_url: Option<String>) -> Installation {
    let dir = tempfile::tempdir().unwrap();
    let db_url =
        database_url.unwrap_or_else(|| format!("sqlite://{}/switchboard.db", dir.path().display()));
    let key = app::crypto::encode_key(&app::crypto::generate_key());
    let data_dir = dir.path().display().to_string();
    let app = common::spawn_app_with(&[
        ("SWITCHBOARD_DATABASE_URL", &db_url),
        ("SWITCHBOARD_DATA_DIR", &data_dir),
        ("SWITCHBOARD_SECRET_KEY", &key),
    ])
    .await;
    let (_, api_key) = app.account_with_key().await;
    allow_redirect(&app, &api_key).await;
    connect(
        &app,
        &api_key,
        "whatsapp",
        &[PHONE_1],
        Some(PHONE_1),
        json!({"webhook_url": customer.url, "webhook_events": ["message.received"]}),
    )
    .await;
    let app_secret = app.state.config.meta_app_secret.clone().unwrap();
    let app_id = app.state.config.meta_app_id.clone().unwrap();
    drop(app);
    tokio::time::sleep(Duration::from_millis(300)).await;
    Installation {
        env: vec![
            ("SWITCHBOARD_DATABASE_URL".into(), db_url),
            ("SWITCHBOARD_DATA_DIR".into(), data_dir),
            ("SWITCHBOARD_SECRET_KEY".into(), key),
            ("SWITCHBOARD_META_MODE".into(), "sandbox".into()),
            ("SWITCHBOARD_META_APP_ID".into(), app_id),
            ("SWITCHBOARD_LOG_FORMAT".into(), "json".into()),
        ],
        app_secret,
        _dir: dir,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(inst: &Installation) -> Server {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .envs(inst.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("SWITCHBOARD_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start switchboard");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return Server { child, base };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("switchboard did not become ready on {base}");
}

/// A signed WhatsApp text webhook with a unique message id.
fn text_webhook(n: usize) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": WABA, "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "15550100001", "phone_number_id": PHONE_1},
                  "contacts": [{"profile": {"name": "Load"}, "wa_id": "15550188000"}],
                  "messages": [{"from": "15550188000", "id": format!("wamid.load.{n}"),
                                "timestamp": "1790000000", "type": "text", "text": {"body": format!("message {n}")}}]}}]}]})
}

/// Posts webhooks `range` with `workers` concurrent senders to the given
/// servers (round robin); returns the message ids that got a 200.
async fn load(
    bases: Vec<String>,
    secret: &str,
    range: std::ops::Range<usize>,
    workers: usize,
    stop_after: Option<Duration>,
) -> HashSet<String> {
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let next = Arc::new(Mutex::new(range.start));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let (acked, next, bases, secret, end) = (
            acked.clone(),
            next.clone(),
            bases.clone(),
            secret.to_string(),
            range.end,
        );
        tasks.spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            loop {
                let n = {
                    let mut g = next.lock().unwrap();
                    if *g >= end || stop_after.is_some_and(|d| started.elapsed() > d) {
                        return;
                    }
                    *g += 1;
                    *g - 1
                };
                let raw = meta_json_bytes(&text_webhook(n));
                let base = &bases[(n + w) % bases.len()];
                let r = client
                    .post(format!("{base}/webhooks/meta"))
                    .header("x-hub-signature-256", sign(&secret, &raw))
                    .body(raw)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => {
                        acked.lock().unwrap().insert(format!("wamid.load.{n}"));
                    }
                    // The server died mid-request: not acknowledged, Meta would retry.
                    _ => return,
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    acked.lock().unwrap().clone()
}

/// Delivered message ids with how often each arrived.
fn delivered(customer: &Customer) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for v in customer.bodies() {
        if let Some(id) = v["data"]["message_id"].as_str() {
            *seen.entry(id.to_string()).or_insert(0) += 1;
        }
    }
    seen
}

async fn wait_until_delivered(customer: &Customer, want: &HashSet<String>, limit: Duration) {
    let started = Instant::now();
    while started.elapsed() < limit {
        let got = delivered(customer);
        if want.iter().all(|id| got.contains_key(id)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let got = delivered(customer);
    let missing: Vec<_> = want.iter().filter(|id| !got.contains_key(*id)).collect();
    panic!(
        "{} of {} acknowledged webhooks never reached the customer, e.g. {:?}",
        missing.len(),
        want.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_under_load_loses_no_acknowledged_webhook() {
    let customer = spawn_customer().await;
    // On PostgreSQL when the suite runs against it, SQLite otherwise.
    let db_url = match std::env::var("SWITCHBOARD_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.is_empty() => Some(common::fresh_postgres(&admin).await),
        _ => None,
    };
    let inst = prepare(&customer, db_url).await;
    let mut server = start(&inst).await;
    let bases = vec![server.base.clone()];
    // Load for at most 1.5 s, SIGKILL after 0.7 s while requests are in flight.
    let loader = tokio::spawn({
        let secret = inst.app_secret.clone();
        async move {
            load(
                bases,
                &secret,
                0..1500,
                16,
                Some(Duration::from_millis(1500)),
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    let acked = loader.await.unwrap();
    assert!(
        !acked.is_empty(),
        "no webhook was acknowledged before the kill"
    );
    drop(server);

    let restarted = start(&inst).await;
    wait_until_delivered(&customer, &acked, Duration::from_secs(60)).await;
    let got = delivered(&customer);
    let dups = got.values().filter(|n| **n > 1).count();
    println!(
        "acknowledged {}, delivered {} distinct, {} delivered more than once",
        acked.len(),
        got.len(),
        dups
    );
    drop(restarted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_postgres_deliver_every_event() {
    let Some(admin) = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        println!("SWITCHBOARD_TEST_POSTGRES_URL not set: this test needs PostgreSQL");
        return;
    };
    let db_url = common::fresh_postgres(&admin).await;
    let customer = spawn_customer().await;
    let inst = prepare(&customer, Some(db_url)).await;
    let a = start(&inst).await;
    let b = start(&inst).await;
    let acked = load(
        vec![a.base.clone(), b.base.clone()],
        &inst.app_secret,
        0..2000,
        16,
        None,
    )
    .await;
    assert_eq!(acked.len(), 2000, "every webhook is acknowledged");
    wait_until_delivered(&customer, &acked, Duration::from_secs(120)).await;
    let got = delivered(&customer);
    let dups: usize = got.values().map(|n| n - 1).sum();
    println!("2000 events through two processes: {dups} duplicate deliveries");
    assert!(dups <= 20, "{dups} duplicates: leases are not holding");
}
