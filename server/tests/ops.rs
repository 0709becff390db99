//! Health, readiness, metrics, request ids, the CLI and start-up configuration errors.

mod common;

use common::spawn_app;

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

fn switchboard() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
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
