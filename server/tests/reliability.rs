//! Reliability when things break (docs/reliability.md): the customer's
//! endpoint down for ten minutes, PostgreSQL restarted under the workers, a
//! full database under the ingest, and Graph API faults under sends.
//! Time moves with the test clock; loopback only; every wait is bounded.
//! (Killing the process under load is `crash.rs`.)

mod common;
mod connect_support;
mod relay_support;
mod sandbox_support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use app::clock::MINUTE_MS;
use app::meta::signature::{meta_json_bytes, sign};
use common::TestApp;
use connect_support::{PHONE_1, WABA, allow_redirect, call, connect};
use relay_support::{Answer, Endpoint, spawn_endpoint};
use sandbox_support::control;
use serde_json::{Value, json};
use tokio::sync::RwLock;

/// Tests share the PostgreSQL server the suite points at; the restart test
/// takes it alone.
static POSTGRES: RwLock<()> = RwLock::const_new(());

struct Setup {
    app: TestApp,
    key: String,
    channel: String,
    endpoint: Endpoint,
}

async fn setup_with(app: TestApp, answer: Answer) -> Setup {
    let endpoint = spawn_endpoint(answer).await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let v = connect(
        &app,
        &key,
        "whatsapp",
        &[PHONE_1],
        Some(PHONE_1),
        json!({"webhook_url": endpoint.url, "webhook_events": ["message.received"]}),
    )
    .await;
    let channel = v["id"].as_str().unwrap().to_string();
    Setup {
        app,
        key,
        channel,
        endpoint,
    }
}

/// A WhatsApp webhook with `messages` text messages `wamid.rel.<tag>.<i>`.
fn webhook(tag: &str, messages: usize, filler: usize) -> Vec<u8> {
    let now = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs())
    .to_string();
    let msgs: Vec<Value> = (0..messages)
        .map(|i| {
            json!({"from": "15550177000", "id": format!("wamid.rel.{tag}.{i}"), "timestamp": now,
                   "type": "text", "text": {"body": format!("{tag} {i} {}", "x".repeat(filler))}})
        })
        .collect();
    meta_json_bytes(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": WABA, "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100001", "phone_number_id": PHONE_1},
            "contacts": [{"profile": {"name": "Reliability"}, "wa_id": "15550177000"}],
            "messages": msgs}}]}]}),
    )
}

async fn post_webhook(app: &TestApp, body: &[u8]) -> u16 {
    let secret = app.state.config.meta_app_secret.clone().unwrap();
    match app
        .http
        .post(app.url("/webhooks/meta"))
        .header("x-hub-signature-256", sign(&secret, body))
        .body(body.to_vec())
        .timeout(Duration::from_secs(20))
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

/// Message ids that reached the endpoint in a hit answered after `from`
/// (index into the hit list).
fn delivered_ids(endpoint: &Endpoint, from: usize) -> HashSet<String> {
    endpoint
        .hits()
        .iter()
        .skip(from)
        .filter_map(|h| h.json()["data"]["message_id"].as_str().map(str::to_string))
        .collect()
}

async fn wait_for_ids(endpoint: &Endpoint, from: usize, want: &HashSet<String>, limit: Duration) {
    let started = Instant::now();
    while started.elapsed() < limit {
        if want.is_subset(&delivered_ids(endpoint, from)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = delivered_ids(endpoint, from);
    let missing: Vec<_> = want.difference(&got).collect();
    panic!(
        "{} of {} never delivered, e.g. {:?}",
        missing.len(),
        want.len(),
        missing.iter().take(3).collect::<Vec<_>>()
    );
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn endpoint_down_for_ten_minutes_then_every_event_arrives() {
    let _pg = POSTGRES.read().await;
    let s = setup_with(common::spawn_app().await, Answer::Status(503)).await;
    let mut want = HashSet::new();
    for i in 0..10 {
        assert_eq!(
            post_webhook(&s.app, &webhook(&format!("down{i}"), 2, 0)).await,
            200
        );
        want.insert(format!("wamid.rel.down{i}.0"));
        want.insert(format!("wamid.rel.down{i}.1"));
    }
    // Every first attempt fails.
    let started = Instant::now();
    while s.endpoint.count() < 20 && started.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        s.endpoint.count() >= 20,
        "first attempts: {}",
        s.endpoint.count()
    );
    // Ten minutes of outage in 30-second steps; the retries keep failing.
    for _ in 0..20 {
        s.app.clock.advance(30_000);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let failed_attempts = count(
        &s.app,
        "SELECT COUNT(*) FROM delivery_attempts WHERE status_code = 503",
    )
    .await;
    assert!(
        failed_attempts >= 20 * 5,
        "retries during the outage: {failed_attempts}"
    );
    assert_eq!(
        count(
            &s.app,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'"
        )
        .await,
        0
    );
    // The endpoint is back; the next retries (due at 11.5 min) deliver all.
    let back_at = s.endpoint.count();
    s.endpoint.set_default(Answer::Status(200));
    for _ in 0..8 {
        s.app.clock.advance(30_000);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    wait_for_ids(&s.endpoint, back_at, &want, Duration::from_secs(20)).await;
    assert_eq!(
        count(
            &s.app,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'"
        )
        .await,
        20
    );
    assert_eq!(
        count(
            &s.app,
            "SELECT COUNT(*) FROM deliveries WHERE status <> 'delivered'"
        )
        .await,
        0,
        "nothing exhausted or left behind"
    );
}

/// Holds every connection of the SQLite pool at once and caps the database
/// at its current size on each (`max_page_count`): a full disk as far as
/// SQLite can tell. `None` lifts the cap.
async fn cap_database(app: &TestApp, cap: Option<i64>) {
    let mut conns = Vec::new();
    for _ in 0..app.state.db.pool.options().get_max_connections() {
        conns.push(app.state.db.pool.acquire().await.unwrap());
    }
    for c in &mut conns {
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&mut **c)
            .await
            .unwrap();
        let limit = cap.map_or(1_073_741_823, |extra| pages + extra);
        sqlx::query(&format!("PRAGMA max_page_count = {limit}"))
            .execute(&mut **c)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_full_database_answers_503_and_acknowledges_nothing_it_did_not_store() {
    // SQLite only: the cap is a SQLite setting.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/full.db", dir.path().display());
    let app = common::spawn_app_with(&[("SWITCHBOARD_DATABASE_URL", &db)]).await;
    let s = setup_with(app, Answer::Status(200)).await;
    assert_eq!(post_webhook(&s.app, &webhook("before", 1, 0)).await, 200);
    let payloads_before = count(&s.app, "SELECT COUNT(*) FROM inbound_payloads").await;

    cap_database(&s.app, Some(0)).await;
    // A batch the size Meta sends at busy times (~200 KB) needs new pages.
    let mut refused = Vec::new();
    for i in 0..3 {
        let tag = format!("full{i}");
        let status = post_webhook(&s.app, &webhook(&tag, 200, 800)).await;
        assert_eq!(
            status, 503,
            "a webhook that could not be stored is not acknowledged"
        );
        refused.push(tag);
    }
    let stored_while_full = count(&s.app, "SELECT COUNT(*) FROM inbound_payloads").await;
    assert_eq!(stored_while_full, payloads_before, "nothing half-stored");
    let events_while_full = count(
        &s.app,
        "SELECT COUNT(*) FROM events WHERE dedupe_key LIKE '%wamid.rel.full%'",
    )
    .await;
    assert_eq!(events_while_full, 0);
    // /readyz still answers (reads work).
    let r = s.app.http.get(s.app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // Space again: Meta's retries are stored and delivered.
    cap_database(&s.app, None).await;
    let from = 0;
    let mut want = HashSet::new();
    for tag in &refused {
        assert_eq!(post_webhook(&s.app, &webhook(tag, 200, 800)).await, 200);
        for i in 0..200 {
            want.insert(format!("wamid.rel.{tag}.{i}"));
        }
    }
    wait_for_ids(&s.endpoint, from, &want, Duration::from_secs(60)).await;
}

#[tokio::test]
async fn a_read_only_database_answers_503() {
    // Set up on a writable file, then serve the same file opened read-only.
    let dir = tempfile::tempdir().unwrap();
    let path = format!("{}/ro.db", dir.path().display());
    let rw_url = format!("sqlite://{path}");
    let key = app::crypto::encode_key(&app::crypto::generate_key());
    let data_dir = dir.path().display().to_string();
    let env = [
        ("SWITCHBOARD_DATABASE_URL", rw_url.as_str()),
        ("SWITCHBOARD_DATA_DIR", data_dir.as_str()),
        ("SWITCHBOARD_SECRET_KEY", key.as_str()),
    ];
    let s = setup_with(common::spawn_app_with(&env).await, Answer::Status(200)).await;
    // Given explicitly, so start-up has nothing to write.
    let app_id = s.app.state.config.meta_app_id.clone().unwrap();
    let app_secret = s.app.state.config.meta_app_secret.clone().unwrap();
    let verify = s.app.state.config.meta_verify_token.clone().unwrap();
    let before = count(&s.app, "SELECT COUNT(*) FROM inbound_payloads").await;
    drop(s);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let ro_url = format!("sqlite://{path}?mode=ro");
    let ro = common::spawn_app_with(&[
        ("SWITCHBOARD_DATABASE_URL", ro_url.as_str()),
        ("SWITCHBOARD_DATA_DIR", data_dir.as_str()),
        ("SWITCHBOARD_SECRET_KEY", key.as_str()),
        ("SWITCHBOARD_META_MODE", "sandbox"),
        ("SWITCHBOARD_META_APP_ID", app_id.as_str()),
        ("SWITCHBOARD_META_APP_SECRET", app_secret.as_str()),
        ("SWITCHBOARD_META_VERIFY_TOKEN", verify.as_str()),
    ])
    .await;
    for i in 0..3 {
        let status = post_webhook(&ro, &webhook(&format!("ro{i}"), 1, 0)).await;
        assert_eq!(status, 503, "read-only: not acknowledged");
    }
    assert_eq!(
        count(&ro, "SELECT COUNT(*) FROM inbound_payloads").await,
        before
    );
}

/// Is it safe to restart the PostgreSQL the suite uses? Only when the URL
/// names the port `scripts/postgres.sh` manages.
fn restartable(url: &str) -> Result<std::path::PathBuf, String> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/postgres.sh");
    if !script.exists() {
        return Err("scripts/postgres.sh not found".into());
    }
    let port = std::env::var("PGPORT").unwrap_or_else(|_| "55432".into());
    let u = url::Url::parse(url).map_err(|e| e.to_string())?;
    if u.port().map(|p| p.to_string()) != Some(port.clone()) {
        return Err(format!(
            "SWITCHBOARD_TEST_POSTGRES_URL is not the server scripts/postgres.sh runs on port {port}"
        ));
    }
    Ok(script)
}

fn postgres_ctl(script: &std::path::Path, what: &str) {
    let status = std::process::Command::new(script)
        .arg(what)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run scripts/postgres.sh");
    assert!(status.success(), "postgres.sh {what}");
}

#[tokio::test]
async fn postgres_restarted_mid_run_workers_recover() {
    let Some(url) = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        println!("skipped: SWITCHBOARD_TEST_POSTGRES_URL not set (this test restarts PostgreSQL)");
        return;
    };
    let script = match restartable(&url) {
        Ok(s) => s,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let _alone = POSTGRES.write().await;
    let s = setup_with(common::spawn_app().await, Answer::Status(200)).await;
    let mut acked = HashSet::new();
    for i in 0..5 {
        assert_eq!(
            post_webhook(&s.app, &webhook(&format!("pg{i}"), 1, 0)).await,
            200
        );
        acked.insert(format!("wamid.rel.pg{i}.0"));
    }
    wait_for_ids(&s.endpoint, 0, &acked, Duration::from_secs(20)).await;

    postgres_ctl(&script, "stop");
    // While it is down nothing is acknowledged.
    let mut during = Vec::new();
    for i in 0..3 {
        let tag = format!("pgdown{i}");
        let status = post_webhook(&s.app, &webhook(&tag, 1, 0)).await;
        if status == 200 {
            acked.insert(format!("wamid.rel.{tag}.0"));
        } else {
            during.push(tag);
        }
    }
    assert_eq!(during.len(), 3, "no 200 without a database");
    postgres_ctl(&script, "start");

    // Meta retries until a 200 (bounded); the pool and the workers recover.
    for tag in during
        .iter()
        .cloned()
        .chain((0..5).map(|i| format!("pgafter{i}")))
    {
        let body = webhook(&tag, 1, 0);
        let started = Instant::now();
        loop {
            if post_webhook(&s.app, &body).await == 200 {
                acked.insert(format!("wamid.rel.{tag}.0"));
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "ingest did not recover after the restart"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    wait_for_ids(&s.endpoint, 0, &acked, Duration::from_secs(30)).await;
    // A send goes through the queue workers too.
    let (st, v) = call(
        &s.app,
        &s.key,
        "POST",
        &format!("/api/v1/channels/{}/register", s.channel),
        Some(json!({"pin": "123456"})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
}

async fn graph_fault(app: &TestApp, fault: Value) {
    let (s, v) = control(app, "faults", fault).await;
    assert_eq!(s, 200, "{v}");
}

async fn message_status(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT status || ' ' || COALESCE(error, '') FROM messages WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// Sends once with the fault armed: the answer is `queued`; moving the clock
/// past the backoff, the queue worker sends it.
async fn queued_then_sent(s: &Setup, to: &str, fault: Value) {
    graph_fault(&s.app, fault.clone()).await;
    let (st, v) = call(
        &s.app,
        &s.key,
        "POST",
        "/api/v1/messages/send",
        Some(json!({"channel_id": s.channel, "recipient": to, "text": "while Meta struggles"})),
    )
    .await;
    assert_eq!(st, 200, "{fault}: {v}");
    assert_eq!(v["status"], "queued", "{fault}: {v}");
    let id = v["message_id"].as_str().unwrap().to_string();
    let started = Instant::now();
    loop {
        s.app.clock.advance(MINUTE_MS);
        tokio::time::sleep(Duration::from_millis(400)).await;
        let status = message_status(&s.app, &id).await;
        let status = status.split(' ').next().unwrap_or_default().to_string();
        if status != "queued" {
            assert!(
                ["sent", "delivered", "read"].contains(&status.as_str()),
                "{fault}: ended {}",
                message_status(&s.app, &id).await
            );
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{fault}: still queued"
        );
    }
}

#[tokio::test]
async fn graph_faults_queue_sends_that_finish_later() {
    let _pg = POSTGRES.read().await;
    let s = setup_with(common::spawn_app().await, Answer::Status(200)).await;
    let (st, v) = call(
        &s.app,
        &s.key,
        "POST",
        &format!("/api/v1/channels/{}/register", s.channel),
        Some(json!({"pin": "123456"})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let to = "15550177000";
    // The user writes first (through the sandbox, which plays Meta and keeps
    // the 24-hour window): the window is open.
    let (st, v) = control(
        &s.app,
        "inbound",
        json!({"asset_id": PHONE_1, "from": to, "type": "text", "text": "hello"}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    queued_then_sent(
        &s,
        to,
        json!({"kind": "graph_error", "path": "messages", "count": 1, "http_status": 503,
               "code": 2, "message": "Service temporarily unavailable"}),
    )
    .await;
    queued_then_sent(
        &s,
        to,
        json!({"kind": "graph_error", "path": "messages", "count": 1, "http_status": 400,
               "code": 130429, "message": "(#130429) Rate limit hit"}),
    )
    .await;
    // Longer than the Graph client's 30-second timeout.
    queued_then_sent(
        &s,
        to,
        json!({"kind": "latency", "path": "messages", "count": 1, "ms": 31_000}),
    )
    .await;
}
