//! Health, readiness, metrics, request ids, the CLI and start-up configuration errors.

mod common;
mod connect_support;
mod customer_support;
mod sandbox_support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use app::meta::signature::{meta_json_bytes, sign};
use common::spawn_app;
use serde_json::{Value, json};
use server::workers::WorkerSet;
use sqlx::Row;

#[tokio::test]
async fn health_ready_and_metrics() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    let ready: serde_json::Value = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    app.http
        .get(app.url("/api/v1/account"))
        .send()
        .await
        .unwrap();
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("switchboard_http_requests_total{group=\"api\",status=\"4xx\"} 1"),
        "{text}"
    );
    assert!(text.contains("switchboard_http_request_duration_ms_bucket"));
    assert!(
        text.contains("switchboard_delivery_queue_depth 0"),
        "{text}"
    );

    // A caller's request id is kept and echoed.
    let res = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");

    // Shutting down turns readiness off first.
    app.state
        .accepting
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let res = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
}

fn switchboard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_it() {
    let out = switchboard()
        .arg("migrate")
        .env("SWITCHBOARD_RATE_LIMIT_PER_MINUTE", "lots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("SWITCHBOARD_RATE_LIMIT_PER_MINUTE"),
        "{err}"
    );
}

#[tokio::test]
async fn admin_create_user_prints_a_working_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db", dir.path().display());
    let out = switchboard()
        .args([
            "admin",
            "create-user",
            "--email",
            "ops@example.com",
            "--password",
            "correct horse battery",
            "--account-name",
            "Ops",
            "--with-key",
        ])
        .env("SWITCHBOARD_DATABASE_URL", &db)
        .env("SWITCHBOARD_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let key = stdout
        .lines()
        .find_map(|l| l.strip_prefix("api_key="))
        .expect("key printed")
        .to_string();
    assert!(key.starts_with("sb_test_"));

    // The key authenticates against a server on the same database.
    let state = server::startup::build_state(
        app::config::Config::from_map(
            &[
                ("SWITCHBOARD_DATABASE_URL".to_string(), db.clone()),
                (
                    "SWITCHBOARD_DATA_DIR".to_string(),
                    dir.path().display().to_string(),
                ),
            ]
            .into_iter()
            .collect(),
        )
        .unwrap(),
        std::sync::Arc::new(app::clock::SystemClock),
    )
    .await
    .unwrap();
    let ctx = app::services::keys::authenticate(&state, &key)
        .await
        .unwrap();
    assert_eq!(ctx.key_name, "admin");

    // `migrate` on the same database is idempotent.
    let out = switchboard()
        .arg("migrate")
        .env("SWITCHBOARD_DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[tokio::test]
async fn shutdown_stops_accepting_and_returns() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = app::config::Config::from_map(
        &[
            ("SWITCHBOARD_LISTEN".to_string(), addr.to_string()),
            (
                "SWITCHBOARD_DATABASE_URL".to_string(),
                format!("sqlite://{}/s.db", dir.path().display()),
            ),
            (
                "SWITCHBOARD_DATA_DIR".to_string(),
                dir.path().display().to_string(),
            ),
        ]
        .into_iter()
        .collect(),
    )
    .unwrap();
    let state = server::startup::build_state(config, std::sync::Arc::new(app::clock::SystemClock))
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::startup::serve(
        listener,
        state.clone(),
        async move {
            let _ = rx.await;
        },
    ));
    let base = format!("http://{addr}");
    assert_eq!(
        reqwest::get(format!("{base}/readyz"))
            .await
            .unwrap()
            .status(),
        200
    );
    tx.send(()).unwrap();
    let finished = tokio::time::timeout(std::time::Duration::from_secs(11), server).await;
    assert!(
        finished.is_ok(),
        "serve returned within the 10 s drain limit"
    );
    assert!(!state.accepting.load(std::sync::atomic::Ordering::SeqCst));
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "no longer listening"
    );
}

// ---------------------------------------------------------------------------
// Worker heartbeats in /readyz

/// A server on its own SQLite database running only the workers in `set`.
struct OwnServer {
    base: String,
    state: app::state::AppState,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve_with_workers(set: WorkerSet) -> OwnServer {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = app::config::Config::from_map(&vars(&[
        ("SWITCHBOARD_LISTEN", &addr.to_string()),
        (
            "SWITCHBOARD_DATABASE_URL",
            &format!("sqlite://{}/w.db", dir.path().display()),
        ),
        ("SWITCHBOARD_DATA_DIR", &dir.path().display().to_string()),
    ]))
    .unwrap();
    let state = server::startup::build_state(config, Arc::new(app::clock::SystemClock))
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::startup::serve_with(
        listener,
        state.clone(),
        async move {
            let _ = rx.await;
        },
        set,
    ));
    OwnServer {
        base: format!("http://{addr}"),
        state,
        _dir: dir,
        _stop: tx,
    }
}

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn readyz_reports_every_worker_and_names_one_that_is_not_running() {
    let all = serve_with_workers(WorkerSet::ALL).await;
    let res = reqwest::get(format!("{}/readyz", all.base)).await.unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    for w in ["relay", "relay_retry", "media", "token_refresh", "queue"] {
        assert_eq!(v["workers"][w]["alive"], true, "{w}: {v}");
        assert!(v["workers"][w]["stale_after_ms"].as_u64().unwrap() >= 60_000);
    }
    assert_eq!(v["checks"]["workers"], true);

    let without_media = serve_with_workers(WorkerSet {
        media: false,
        ..WorkerSet::ALL
    })
    .await;
    let res = reqwest::get(format!("{}/readyz", without_media.base))
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["code"], "not_ready");
    assert_eq!(v["stale_workers"], json!(["media"]), "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("worker media has not ticked recently"),
        "{v}"
    );
    assert_eq!(v["workers"]["media"]["alive"], false);
    assert_eq!(v["workers"]["media"]["last_tick_ms_ago"], Value::Null);
    assert_eq!(v["workers"]["relay"]["alive"], true);
    // The running workers keep beating: the in-memory record moves on.
    assert!(
        without_media
            .state
            .heartbeats
            .check()
            .iter()
            .filter(|c| c.alive)
            .count()
            == 4
    );
}

// ---------------------------------------------------------------------------
// admin reset-password

#[tokio::test]
async fn admin_reset_password_replaces_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db", dir.path().display());
    let run = |args: &[&str]| {
        switchboard()
            .args(args)
            .env("SWITCHBOARD_DATABASE_URL", &db)
            .env("SWITCHBOARD_DATA_DIR", dir.path())
            .output()
            .unwrap()
    };
    let out = run(&[
        "admin",
        "create-user",
        "--email",
        "locked@example.com",
        "--password",
        "old password 123",
        "--account-name",
        "Locked",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "admin",
        "reset-password",
        "--email",
        "locked@example.com",
        "--password",
        "new password 456",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("password changed for locked@example.com")
    );
    let out = run(&[
        "admin",
        "reset-password",
        "--email",
        "nobody@example.com",
        "--password",
        "new password 456",
    ]);
    assert!(!out.status.success(), "an unknown user is an error");

    let state = server::startup::build_state(
        app::config::Config::from_map(&vars(&[
            ("SWITCHBOARD_DATABASE_URL", &db),
            ("SWITCHBOARD_DATA_DIR", &dir.path().display().to_string()),
        ]))
        .unwrap(),
        Arc::new(app::clock::SystemClock),
    )
    .await
    .unwrap();
    use app::services::accounts::log_in;
    assert!(
        log_in(
            &state,
            "locked@example.com",
            "new password 456",
            "127.0.0.1"
        )
        .await
        .is_ok()
    );
    assert!(
        log_in(
            &state,
            "locked@example.com",
            "old password 123",
            "127.0.0.1"
        )
        .await
        .is_err()
    );
}

// ---------------------------------------------------------------------------
// doctor

fn doctor(env: &[(&str, &str)], dir: &Path) -> (bool, String) {
    let out = switchboard()
        .args(["doctor", "--offline"])
        .env_clear()
        .env("SWITCHBOARD_DATA_DIR", dir)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The printed line of `topic` that mentions `needle`, and the fix under it.
fn finding<'a>(out: &'a str, level: &str, needle: &str) -> (&'a str, &'a str) {
    let lines: Vec<&str> = out.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with(&format!("[{level}")) && l.contains(needle))
        .unwrap_or_else(|| panic!("no [{level}] line with `{needle}` in:\n{out}"));
    let fix = lines
        .get(i + 1)
        .filter(|l| l.trim_start().starts_with("fix:"))
        .copied()
        .unwrap_or("");
    (lines[i], fix)
}

#[test]
fn doctor_lists_what_live_mode_lacks_with_a_fix_for_each() {
    let dir = tempfile::tempdir().unwrap();
    // A fresh sandbox installation: nearly everything is missing.
    std::fs::write(
        dir.path().join("secret.key"),
        app::crypto::encode_key(&app::crypto::generate_key()),
    )
    .unwrap();
    let (ok, out) = doctor(&[], dir.path());
    assert!(!ok, "{out}");
    for (needle, fix) in [
        ("SWITCHBOARD_META_APP_ID", "App ID"),
        ("SWITCHBOARD_META_CONFIG_ID_WHATSAPP", "configuration"),
        ("SWITCHBOARD_BASE_URL", "SWITCHBOARD_BASE_URL=https://"),
        ("SWITCHBOARD_SMTP_URL", "SWITCHBOARD_SMTP_URL=smtps://"),
        ("secret.key", "contents of"),
        ("SWITCHBOARD_BILLING_PROVIDER", "stripe"),
    ] {
        let (_, f) = finding(&out, "FAIL", needle);
        assert!(f.contains(fix), "fix for {needle}: `{f}`\n{out}");
    }

    // Everything set, but the public URL is plain http on a private address.
    let key = app::crypto::encode_key(&app::crypto::generate_key());
    let mut env = vec![
        ("SWITCHBOARD_META_APP_ID", "123456789"),
        ("SWITCHBOARD_META_APP_SECRET", "app-secret"),
        ("SWITCHBOARD_META_VERIFY_TOKEN", "verify-token"),
        ("SWITCHBOARD_META_CONFIG_ID_WHATSAPP", "555"),
        ("SWITCHBOARD_SECRET_KEY", key.as_str()),
        ("SWITCHBOARD_SMTP_URL", "smtps://u:p@smtp.example.com:465"),
        (
            "SWITCHBOARD_MAIL_FROM",
            "Switchboard <no-reply@example.com>",
        ),
        ("SWITCHBOARD_BILLING_PROVIDER", "sandbox"),
        ("SWITCHBOARD_BASE_URL", "http://192.168.1.20"),
    ];
    let (ok, out) = doctor(&env, dir.path());
    assert!(!ok, "{out}");
    finding(&out, "FAIL", "is not https");
    finding(
        &out,
        "FAIL",
        "192.168.1.20 is a loopback, private or local address",
    );
    finding(&out, "warn", "SWITCHBOARD_BILLING_PROVIDER=sandbox");
    assert!(!out.contains("SWITCHBOARD_SMTP_URL is not set"), "{out}");

    // A public https origin: nothing left to fix (reachability is not
    // checked offline, which the output says).
    env.pop();
    env.push(("SWITCHBOARD_BASE_URL", "https://switchboard.example.com"));
    env.push(("SWITCHBOARD_TRUSTED_PROXIES", "127.0.0.1"));
    let (ok, out) = doctor(&env, dir.path());
    assert!(ok, "{out}");
    finding(&out, "ok", "app id, app secret and verify token are set");
    finding(&out, "warn", "reachability not checked");
    assert!(out.contains("Ready for live mode."), "{out}");
}

#[tokio::test]
async fn doctor_names_a_loopback_base_url_without_going_online() {
    let findings = server::doctor::examine(
        &vars(&[("SWITCHBOARD_BASE_URL", "https://localhost:8443")]),
        &server::doctor::Options { offline: false },
    )
    .await;
    let f = findings
        .iter()
        .find(|f| f.topic == "Webhook URL" && f.level == server::doctor::Level::Fail)
        .expect("a webhook URL finding");
    assert!(f.what.contains("localhost"), "{}", f.what);
}

// ---------------------------------------------------------------------------
// backup and restore

/// A signed WhatsApp message webhook with message id `wamid`.
fn wa_text(wamid: &str) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": connect_support::WABA, "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "15550100001", "phone_number_id": connect_support::PHONE_1},
                  "contacts": [{"profile": {"name": "Load"}, "wa_id": "15550009999"}],
                  "messages": [{"from": "15550009999", "id": wamid, "timestamp": "1790000000",
                                "type": "text", "text": {"body": format!("payload {wamid}")}}]}}]}]})
}

/// Posts one signed webhook; true when Switchboard acknowledged it (200).
async fn post_webhook(app: &common::TestApp, secret: &str, wamid: &str) -> bool {
    let raw = meta_json_bytes(&wa_text(wamid));
    app.http
        .post(app.url("/webhooks/meta"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(secret, &raw))
        .body(raw)
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
}

fn cli_env(cmd: &mut Command, db_url: &str, data_dir: &Path, key: &str) {
    cmd.env_remove("RUST_LOG")
        .env("SWITCHBOARD_DATABASE_URL", db_url)
        .env("SWITCHBOARD_DATA_DIR", data_dir)
        .env("SWITCHBOARD_SECRET_KEY", key);
}

#[tokio::test]
async fn backup_under_ingest_load_restores_every_acknowledged_event() {
    let app = spawn_app().await;
    let key = app::crypto::encode_key(app.state.config.secret_key.as_ref().unwrap());
    let data_dir = app.state.config.data_dir.clone();
    let work = tempfile::tempdir().unwrap();
    let backup_file = work.path().join("snapshot.db");
    if app.state.db.kind == app::store::DbKind::Postgres {
        // PostgreSQL is backed up with its own tools: the command says how.
        let mut cmd = switchboard();
        cmd.arg("backup").arg(&backup_file);
        cli_env(&mut cmd, &app.state.config.database_url, &data_dir, &key);
        let out = cmd.output().unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump --format=custom"));
        assert!(!backup_file.exists());
        return;
    }

    let customer = customer_support::spawn_customer().await;
    let (_, api_key) = app.account_with_key().await;
    connect_support::allow_redirect(&app, &api_key).await;
    connect_support::connect(
        &app,
        &api_key,
        "whatsapp",
        &[connect_support::PHONE_1],
        Some(connect_support::PHONE_1),
        json!({"webhook_url": customer.url, "webhook_events": ["message.received"]}),
    )
    .await;
    let secret = sandbox_support::app_secret(&app);

    // Ingest runs before, during and after the backup.
    let mut acked_before = Vec::new();
    for i in 0..40 {
        let id = format!("wamid.before.{i}");
        if post_webhook(&app, &secret, &id).await {
            acked_before.push(id);
        }
    }
    assert_eq!(acked_before.len(), 40);
    let mut cmd = switchboard();
    cmd.arg("backup").arg(&backup_file);
    cli_env(&mut cmd, &app.state.config.database_url, &data_dir, &key);
    let backup = tokio::task::spawn_blocking(move || cmd.output().unwrap());
    let mut acked_during = 0;
    for i in 0..2000 {
        if backup.is_finished() {
            break;
        }
        if post_webhook(&app, &secret, &format!("wamid.during.{i}")).await {
            acked_during += 1;
        }
    }
    let out = backup.await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("backup written to"), "{said}");
    assert!(said.contains("does not contain the secret key"), "{said}");
    assert!(said.contains("SWITCHBOARD_SECRET_KEY"), "{said}");
    let mut acked_after = Vec::new();
    for i in 0..5 {
        let id = format!("wamid.after.{i}");
        if post_webhook(&app, &secret, &id).await {
            acked_after.push(id);
        }
    }
    eprintln!("webhooks acknowledged while the backup ran: {acked_during}");

    // Backups never overwrite.
    let mut again = switchboard();
    again.arg("backup").arg(&backup_file);
    cli_env(&mut again, &app.state.config.database_url, &data_dir, &key);
    let out = again.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));

    // Restore into a fresh directory, as on a new machine.
    let fresh = tempfile::tempdir().unwrap();
    let fresh_url = format!("sqlite://{}/data/switchboard.db", fresh.path().display());
    let mut restore = switchboard();
    restore.arg("restore").arg(&backup_file);
    cli_env(&mut restore, &fresh_url, &fresh.path().join("data"), &key);
    let out = restore.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("restored"));

    let restored = server::startup::build_state(
        app::config::Config::from_map(&vars(&[
            ("SWITCHBOARD_DATABASE_URL", &fresh_url),
            (
                "SWITCHBOARD_DATA_DIR",
                &fresh.path().join("data").display().to_string(),
            ),
            ("SWITCHBOARD_SECRET_KEY", &key),
        ]))
        .unwrap(),
        Arc::new(app::clock::SystemClock),
    )
    .await
    .unwrap();
    let decrypt_all = |rows: Vec<sqlx::any::AnyRow>, col: &str| -> Vec<String> {
        rows.iter()
            .map(|r| {
                let ct: String = r.get(col);
                String::from_utf8(restored.cipher.decrypt(&ct).unwrap()).unwrap()
            })
            .collect()
    };
    let events = decrypt_all(
        sqlx::query("SELECT payload FROM events WHERE event = 'message.received'")
            .fetch_all(&restored.db.pool)
            .await
            .unwrap(),
        "payload",
    );
    let raw = decrypt_all(
        sqlx::query("SELECT body FROM inbound_payloads")
            .fetch_all(&restored.db.pool)
            .await
            .unwrap(),
        "body",
    );
    let deliveries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries")
        .fetch_one(&restored.db.pool)
        .await
        .unwrap();
    for id in &acked_before {
        let quoted = format!("\"{id}\"");
        assert!(
            events.iter().any(|e| e.contains(&quoted)),
            "event of {id} missing"
        );
        assert!(
            raw.iter().any(|b| b.contains(&quoted)),
            "payload of {id} missing"
        );
    }
    // One snapshot: what was acknowledged after it finished is not in it,
    // and every stored event has its delivery (no torn transaction).
    for id in &acked_after {
        assert!(!events.iter().any(|e| e.contains(&format!("\"{id}\""))));
    }
    assert_eq!(deliveries as usize, events.len());
    assert!(events.len() >= acked_before.len());
}

/// Kills the `serve` process this test started if the test fails half-way.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn restore_refuses_while_a_server_runs_on_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/switchboard.db", dir.path().display());
    let key = app::crypto::encode_key(&app::crypto::generate_key());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let mut serve = switchboard();
    serve
        .arg("serve")
        .env("SWITCHBOARD_LISTEN", format!("127.0.0.1:{port}"))
        .env("SWITCHBOARD_META_MODE", "sandbox")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log));
    cli_env(&mut serve, &db_url, dir.path(), &key);
    let server = Serving(serve.spawn().unwrap());
    let mut ready = false;
    for _ in 0..600 {
        if reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        ready,
        "serve did not become ready: {}",
        std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default()
    );

    let run = |args: &[&dyn AsRef<std::ffi::OsStr>]| {
        let mut c = switchboard();
        c.args(args.iter().map(|a| a.as_ref()));
        cli_env(&mut c, &db_url, dir.path(), &key);
        c.output().unwrap()
    };
    let backup_file: PathBuf = dir.path().join("b1.db");
    let out = run(&[&"backup", &backup_file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = run(&[&"restore", &backup_file]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("a Switchboard server is running on"), "{err}");
    assert!(err.contains("stop it first"), "{err}");

    drop(server);
    let out = run(&[&"restore", &backup_file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("the database it replaced is kept at"),
        "{said}"
    );
    let kept = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("switchboard.db.before-restore-")
        });
    assert!(kept);

    // Not a backup: refused before anything is touched.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let out = run(&[&"restore", &junk]);
    assert!(!out.status.success());
}

// ---------------------------------------------------------------------------
// Upgrades from every released schema (fixtures: tests/fixtures/schemas)

const FIXTURE_KEY: &str = "sb_test_Fixture0000000000000000000000001";

/// Fills the placeholders of a schema fixture (see its README).
fn fill(template: &str, cipher: &app::crypto::Cipher, now: i64) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let tail = &rest[start + 2..];
        if let Some(after) = tail.strip_prefix("now}}") {
            out.push_str(&now.to_string());
            rest = after;
            continue;
        }
        let Some(kind) = ["password:", "sha256:", "seal:"]
            .into_iter()
            .find(|k| tail.starts_with(k))
        else {
            // Not ours (a template's `{{1}}`): kept as written.
            out.push_str("{{");
            rest = tail;
            continue;
        };
        // Inside a quoted SQL literal: it ends at the `}}` before the quote.
        let quote = tail.find('\'').expect("placeholder inside quotes");
        let text = tail[kind.len()..quote]
            .strip_suffix("}}")
            .expect("placeholder ends with }}");
        out.push_str(&match kind {
            "password:" => app::crypto::hash_password(text).unwrap(),
            "sha256:" => app::crypto::sha256_hex(text),
            _ => cipher.encrypt(text.as_bytes()),
        });
        rest = &tail[quote..];
    }
    out.push_str(rest);
    out
}

/// (table, first column) of each row a fixture inserts.
fn inserted_tables(sql: &str) -> Vec<(String, String)> {
    sql.split("INSERT INTO ")
        .skip(1)
        .filter_map(|s| {
            let (table, rest) = s.split_once(" (")?;
            let column = rest.split([',', ')']).next()?.trim();
            Some((table.trim().to_string(), column.to_string()))
        })
        .collect()
}

/// The values of `column` in `table`, sorted (ids, mostly).
async fn column_values(
    db: &app::store::Db,
    (table, column): &(String, String),
) -> Result<Vec<String>, sqlx::Error> {
    let mut v: Vec<String> =
        sqlx::query_scalar(&format!("SELECT CAST({column} AS TEXT) FROM {table}"))
            .fetch_all(&db.pool)
            .await?;
    v.sort();
    Ok(v)
}

/// Builds a database the way an installation that ran every version up to
/// `migrations[k]` would hold it, then starts the current app on it.
async fn upgrade_from(migrations: &[sqlx::migrate::Migration], k: usize) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas");
    let dir = tempfile::tempdir().unwrap();
    let url = match std::env::var("SWITCHBOARD_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.is_empty() => common::fresh_postgres(&admin).await,
        _ => format!("sqlite://{}/old.db", dir.path().display()),
    };
    let secret_key = app::crypto::generate_key();
    let cipher = app::crypto::Cipher::new(&secret_key);
    let now = app::clock::Clock::now_ms(&app::clock::SystemClock);
    let version = migrations[k].version;

    let db = app::store::Db::connect(&url).await.unwrap();
    let mut tables: Vec<(String, String)> = Vec::new();
    for i in 0..=k {
        let m = &migrations[i];
        sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Owned(migrations[..=i].to_vec()),
            ..sqlx::migrate::Migrator::DEFAULT
        }
        .run(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("applying {}: {e}", m.version));
        let path = fixtures.join(format!("{:04}.sql", m.version));
        let template = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "migration {} ({}) has no fixture {}",
                m.version,
                m.description,
                path.display()
            )
        });
        sqlx::raw_sql(&fill(&template, &cipher, now))
            .execute(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
        for t in inserted_tables(&template) {
            if !tables.contains(&t) {
                tables.push(t);
            }
        }
    }
    let mut before = Vec::new();
    for t in &tables {
        // A table a migration up to this version dropped is gone already.
        if let Ok(values) = column_values(&db, t).await {
            before.push((t.clone(), values));
        }
    }
    db.pool.close().await;

    // The current binary's start applies the remaining migrations.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = app::config::Config::from_map(&vars(&[
        ("SWITCHBOARD_LISTEN", &addr.to_string()),
        ("SWITCHBOARD_DATABASE_URL", &url),
        ("SWITCHBOARD_DATA_DIR", &dir.path().display().to_string()),
        (
            "SWITCHBOARD_SECRET_KEY",
            &app::crypto::encode_key(&secret_key),
        ),
    ]))
    .unwrap();
    let state = server::startup::build_state(config, Arc::new(app::clock::SystemClock))
        .await
        .unwrap_or_else(|e| panic!("start on schema {version}: {e:#}"));
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::startup::serve(
        listener,
        state.clone(),
        async move {
            let _ = rx.await;
        },
    ));
    let base = format!("http://{addr}");
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200, "schema {version}");

    // Every row survived (the app may have added its own), except in tables
    // a later migration dropped.
    for (t, rows) in before {
        match column_values(&state.db, &t).await {
            Ok(after) => {
                for r in &rows {
                    let had = rows.iter().filter(|x| *x == r).count();
                    let has = after.iter().filter(|x| *x == r).count();
                    assert!(
                        has >= had,
                        "{}.{} = {r} lost after upgrading from {version}",
                        t.0,
                        t.1
                    );
                }
            }
            Err(_) => assert!(
                migrations[k + 1..]
                    .iter()
                    .any(|m| m.sql.contains(&format!("DROP TABLE {}", t.0))),
                "{} vanished after upgrading from {version}",
                t.0
            ),
        }
    }
    // And the app reads them: the owner logs in, the key works.
    app::services::accounts::log_in(
        &state,
        "owner@fixture.example",
        "fixture password 1",
        "127.0.0.1",
    )
    .await
    .unwrap_or_else(|e| panic!("log-in after upgrading from {version}: {e:?}"));
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{base}/api/v1{path}"))
            .header("x-api-key", FIXTURE_KEY)
            .send()
    };
    let account = get("/account").await.unwrap();
    assert_eq!(account.status(), 200, "schema {version}");
    assert!(account.text().await.unwrap().contains("Fixture Co"));
    if version >= 3 {
        let token: String =
            sqlx::query_scalar("SELECT access_token FROM channels WHERE id = 'ch_fixture'")
                .fetch_one(&state.db.pool)
                .await
                .unwrap();
        assert_eq!(
            state.cipher.decrypt(&token).unwrap(),
            b"fixture access token"
        );
    }
    if version >= 4 {
        let deliveries = get("/deliveries").await.unwrap();
        assert_eq!(deliveries.status(), 200, "schema {version}");
        assert!(
            deliveries.text().await.unwrap().contains("dlv_fixture"),
            "schema {version}"
        );
    }
}

#[tokio::test]
async fn every_released_schema_upgrades_with_its_data() {
    let migrations: Vec<_> = app::store::MIGRATOR.iter().cloned().collect();
    assert!(migrations.windows(2).all(|w| w[0].version < w[1].version));
    for k in 0..migrations.len() {
        upgrade_from(&migrations, k).await;
    }
}
