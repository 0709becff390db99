//! Security checks (docs/reliability.md, "Security"): webhook targets that
//! reach inside refused when saved and when delivered, redirects never
//! followed, secrets absent from logs and stored only encrypted or hashed,
//! session cookie flags, CSRF on every state-changing browser door, and
//! log-in throttling. Loopback only.

mod common;
mod connect_support;
mod relay_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use app::meta::signature::{meta_json_bytes, sign};
use common::TestApp;
use connect_support::{PHONE_1, WABA, allow_redirect, call, connect};
use relay_support::{Answer, spawn_endpoint};
use serde_json::{Value, json};

async fn whatsapp(app: &TestApp, key: &str, extra: Value) -> Value {
    allow_redirect(app, key).await;
    connect(app, key, "whatsapp", &[PHONE_1], Some(PHONE_1), extra).await
}

fn text_webhook(id: &str, text: &str) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    meta_json_bytes(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": WABA, "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100001", "phone_number_id": PHONE_1},
            "contacts": [{"profile": {"name": "Sec"}, "wa_id": "15550166000"}],
            "messages": [{"from": "15550166000", "id": id, "timestamp": now,
                          "type": "text", "text": {"body": text}}]}}]}]}),
    )
}

/// Targets that must never receive a webhook.
const SSRF: &[&str] = &[
    "https://127.0.0.1/h",
    "https://127.1.2.3/h",
    "https://2130706433/h", // 127.0.0.1 in decimal
    "https://0x7f000001/h", // … in hex
    "https://0177.0.0.1/h", // … in octal
    "https://0.0.0.0/h",
    "https://10.0.0.5/h",
    "https://172.16.0.1/h",
    "https://192.168.1.1/h",
    "https://100.64.0.1/h", // carrier-grade NAT
    "https://169.254.169.254/latest/meta-data/",
    "https://169.254.0.1/h",
    "https://[::1]/h",
    "https://[::]/h",
    "https://[fe80::1]/h",
    "https://[fc00::1]/h",
    "https://[fd12:3456::1]/h",
    "https://[::ffff:127.0.0.1]/h",
    "https://[::ffff:169.254.169.254]/h",
    "https://[::ffff:10.0.0.1]/h",
    "https://[64:ff9b::a9fe:a9fe]/h", // NAT64 of 169.254.169.254
    "https://localhost/h",
    "https://LOCALHOST./h",
    "https://api.localhost/h",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://metadata/h",
];

#[tokio::test]
async fn private_targets_are_refused_when_saved() {
    let app =
        common::spawn_app_with(&[("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_TARGETS", "false")]).await;
    let (_, key) = app.account_with_key().await;
    let v = whatsapp(&app, &key, json!({})).await;
    let path = format!("/api/v1/channels/{}", v["id"].as_str().unwrap());
    let mut targets: Vec<String> = SSRF.iter().map(|s| s.to_string()).collect();
    // DNS names that resolve to such addresses on this machine (/etc/hosts).
    for name in resolving_names_to_private() {
        targets.push(format!("https://{name}/h"));
    }
    for url in &targets {
        let (s, v) = call(
            &app,
            &key,
            "PATCH",
            &path,
            Some(json!({"webhook_url": url})),
        )
        .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (400, Some("webhook_target_forbidden")),
            "{url} was accepted: {v}"
        );
    }
    // Event endpoints follow the same rule.
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/event-endpoints",
        Some(json!({"url": "https://169.254.169.254/x", "events": ["channel.connected"]})),
    )
    .await;
    assert!(
        s == 400 && v["code"] == "webhook_target_forbidden" || s == 404,
        "event endpoint: {s} {v}"
    );
    // A public address is fine.
    let (s, _) = call(
        &app,
        &key,
        "PATCH",
        &path,
        Some(json!({"webhook_url": "https://93.184.216.34/h"})),
    )
    .await;
    assert_eq!(s, 200);
}

/// Host names in /etc/hosts that point at loopback or private addresses.
fn resolving_names_to_private() -> Vec<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let mut names = Vec::new();
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut parts = line.split_whitespace();
        let Some(ip) = parts
            .next()
            .and_then(|i| i.parse::<std::net::IpAddr>().ok())
        else {
            continue;
        };
        if !app::services::webhook_target::is_forbidden(ip) {
            continue;
        }
        for n in parts {
            if n.contains('.') || n.contains('-') {
                names.push(n.to_string());
            }
        }
    }
    names.truncate(4);
    names
}

#[tokio::test]
async fn private_targets_are_refused_at_delivery_and_redirects_are_not_followed() {
    // Saved before the rule applied (e.g. an older version, or DNS that
    // changed since): the relay checks again and never connects.
    let app =
        common::spawn_app_with(&[("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_TARGETS", "false")]).await;
    let (_, key) = app.account_with_key().await;
    let v = whatsapp(&app, &key, json!({"webhook_events": ["message.received"]})).await;
    let channel = v["id"].as_str().unwrap().to_string();
    let inside = spawn_endpoint(Answer::Status(200)).await;
    let port = inside
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let secret = app.state.config.meta_app_secret.clone().unwrap();
    let targets = [
        inside.url.clone(),
        format!("http://localhost:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
    ];
    for (i, target) in targets.iter().enumerate() {
        sqlx::query("UPDATE channels SET webhook_url = $1 WHERE id = $2")
            .bind(target)
            .bind(&channel)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        let body = text_webhook(&format!("wamid.ssrf.{i}"), "hi");
        let r = app
            .http
            .post(app.url("/webhooks/meta"))
            .header("x-hub-signature-256", sign(&secret, &body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Each delivery's first attempt fails with the reason; nothing connects.
    let started = Instant::now();
    loop {
        let errors: Vec<Option<String>> =
            sqlx::query_scalar("SELECT error FROM delivery_attempts ORDER BY at")
                .fetch_all(&app.state.db.pool)
                .await
                .unwrap();
        if errors.len() >= targets.len() {
            for e in &errors {
                let e = e.clone().unwrap_or_default();
                assert!(
                    e.contains("private") || e.contains("local") || e.contains("loopback"),
                    "attempt error: {e}"
                );
            }
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "attempts: {errors:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(inside.count(), 0, "the relay reached a loopback address");

    // Redirects: an endpoint answering 302 to an inside address is a failed
    // attempt; the Location is never fetched.
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    let trap = spawn_endpoint(Answer::Status(200)).await;
    let redirector = spawn_redirector(&format!("{}?from=redirect", trap.url)).await;
    whatsapp(
        &app,
        &key,
        json!({"webhook_url": redirector, "webhook_events": ["message.received"]}),
    )
    .await;
    let secret = app.state.config.meta_app_secret.clone().unwrap();
    let body = text_webhook("wamid.redirect.1", "hi");
    let r = app
        .http
        .post(app.url("/webhooks/meta"))
        .header("x-hub-signature-256", sign(&secret, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let started = Instant::now();
    loop {
        let codes: Vec<Option<i64>> =
            sqlx::query_scalar("SELECT status_code FROM delivery_attempts")
                .fetch_all(&app.state.db.pool)
                .await
                .unwrap();
        if !codes.is_empty() {
            assert_eq!(codes[0], Some(302));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status: String = sqlx::query_scalar("SELECT status FROM deliveries")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_ne!(status, "delivered");
    assert_eq!(trap.count(), 0, "a redirect was followed");
}

/// An endpoint answering every POST with a 302 to `location`.
async fn spawn_redirector(location: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let location = location.to_string();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let l = location.clone();
            async move { (axum::http::StatusCode::FOUND, [("location", l)]) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}/hook")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the `switchboard` binary with JSON logs into a file, drives every
/// door that handles a secret, then reads the logs and the database file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_logs_and_are_not_stored_in_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("sec.db");
    let db_url = format!("sqlite://{}", db_path.display());
    let key = app::crypto::encode_key(&app::crypto::generate_key());
    let data_dir = dir.path().display().to_string();
    let app_secret = app::crypto::random_hex(16);
    let verify_token = app::crypto::random_hex(12);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log_path = dir.path().join("server.log");
    let env: Vec<(&str, String)> = vec![
        ("SWITCHBOARD_DATABASE_URL", db_url.clone()),
        ("SWITCHBOARD_DATA_DIR", data_dir.clone()),
        ("SWITCHBOARD_SECRET_KEY", key.clone()),
        ("SWITCHBOARD_META_MODE", "sandbox".into()),
        ("SWITCHBOARD_META_APP_SECRET", app_secret.clone()),
        ("SWITCHBOARD_META_VERIFY_TOKEN", verify_token.clone()),
        ("SWITCHBOARD_LOG_FORMAT", "json".into()),
        ("SWITCHBOARD_LISTEN", format!("127.0.0.1:{port}")),
        ("SWITCHBOARD_BASE_URL", base.clone()),
    ];
    let log = std::fs::File::create(&log_path).unwrap();
    let child = Child(
        Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env_remove("RUST_LOG")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start switchboard"),
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    while !matches!(http.get(format!("{base}/readyz")).send().await, Ok(r) if r.status() == 200) {
        assert!(started.elapsed() < Duration::from_secs(20), "not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Sign up and in through the Portal (password), create an API key there.
    let password = format!("pw-{}", app::crypto::random_hex(10));
    let email = format!("sec-{}@example.com", app::crypto::random_hex(3));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", base.parse().unwrap());
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let rpc = |name: &str, form: Vec<(&str, String)>| {
        browser
            .post(format!("{base}/rpc/{name}"))
            .header("accept", "application/json")
            .form(&form)
            .send()
    };
    let r = rpc(
        "signup",
        vec![
            ("account_name", "Sec".into()),
            ("email", email.clone()),
            ("password", password.clone()),
        ],
    )
    .await
    .unwrap();
    assert!(r.status().is_success(), "signup {}", r.status());
    // Verify through the link in the outbox mail, then log in.
    let state_db = app::store::Db::connect(&db_url).await.unwrap();
    // The outbox keeps the link sealed with the installation's key.
    let sealed: Option<String> =
        sqlx::query_scalar("SELECT link_sealed FROM mails WHERE to_addr = $1")
            .bind(&email)
            .fetch_one(&state_db.pool)
            .await
            .unwrap_or_default();
    let mail = sealed
        .and_then(|s| {
            app::crypto::Cipher::new(&app::crypto::decode_key(&key).unwrap())
                .decrypt(&s)
                .ok()
        })
        .map(|b| String::from_utf8(b).unwrap())
        .unwrap_or_default();
    if let Some(token) = mail
        .split_whitespace()
        .find(|w| w.contains("token="))
        .map(|l| common::query_param(l, "token"))
    {
        let _ = rpc("verify_email", vec![("token", token)]).await;
    }
    let r = rpc(
        "login",
        vec![("email", email.clone()), ("password", password.clone())],
    )
    .await
    .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "login {}",
        r.status()
    );
    let r = rpc("create_key", vec![("name", "ci".into())])
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    let api_key = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v["secret"].as_str().map(str::to_string))
        })
        .unwrap_or_else(|| panic!("create_key: {text}"));

    // A channel with a webhook secret, a webhook in, a delivery, a send.
    let endpoint = spawn_endpoint(Answer::Status(200)).await;
    let webhook_secret = format!("whs-{}", app::crypto::random_hex(12));
    let api = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{base}{path}"))
            .header("x-api-key", &api_key)
            .json(&body)
            .send()
    };
    let r = api(
        reqwest::Method::POST,
        "/api/v1/redirects",
        json!({"uri_pattern": connect_support::REDIRECT}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = api(
        reqwest::Method::POST,
        "/api/v1/channels/setup-url",
        json!({"channel_type": "whatsapp", "redirect_uri": connect_support::REDIRECT, "state": "s"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let code = hosted_flow(&base, v["setup_url"].as_str().unwrap()).await;
    let v: Value = api(
        reqwest::Method::POST,
        "/api/v1/channels/exchange-code",
        json!({"code": code, "webhook_url": endpoint.url, "webhook_secret": webhook_secret,
               "webhook_events": ["message.received"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let channel = v["channel_id"].as_str().unwrap().to_string();
    let r = api(
        reqwest::Method::POST,
        &format!("/api/v1/channels/{channel}/register"),
        json!({"pin": "123456"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let body = text_webhook("wamid.sec.1", "hello");
    let r = http
        .post(format!("{base}/webhooks/meta"))
        .header("x-hub-signature-256", sign(&app_secret, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!("{base}/webhooks/meta"))
        .header("x-hub-signature-256", "sha256=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The user writes first (the sandbox keeps Meta's 24-hour window).
    let r = http
        .post(format!("{base}/sandbox/api/inbound"))
        .json(&json!({"asset_id": PHONE_1, "from": "15550166000", "type": "text", "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = api(
        reqwest::Method::POST,
        "/api/v1/messages/send",
        json!({"channel_id": channel, "recipient": "15550166000", "text": "reply"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = http
        .get(format!("{base}/api/v1/channels"))
        .header("x-api-key", format!("{api_key}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let started = Instant::now();
    while endpoint.count() == 0 && started.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(endpoint.count() > 0, "the webhook was delivered");
    // The channel's Graph access token, as stored (encrypted).
    let cipher = app::crypto::Cipher::new(&app::crypto::decode_key(&key).unwrap());
    let stored_token: Option<String> =
        sqlx::query_scalar("SELECT access_token FROM channels WHERE id = $1")
            .bind(&channel)
            .fetch_one(&state_db.pool)
            .await
            .ok()
            .flatten();
    let access_token = stored_token
        .as_deref()
        .and_then(|t| cipher.decrypt(t).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(child);

    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logs.contains("/webhooks/meta"),
        "requests are logged at all"
    );
    let mut secrets = vec![
        ("API key", api_key.clone()),
        ("webhook secret", webhook_secret.clone()),
        ("Meta app secret", app_secret.clone()),
        ("verify token", verify_token.clone()),
        ("password", password.clone()),
        ("encryption key", key.clone()),
    ];
    if let Some(t) = &access_token {
        secrets.push(("access token", t.clone()));
    }
    for (what, secret) in &secrets {
        assert!(!logs.contains(secret.as_str()), "the {what} is in the logs");
    }
    assert!(
        access_token.is_some(),
        "channel token stored encrypted and readable"
    );

    // At rest: the database file (and its WAL) never hold the plain secrets.
    state_db.pool.close().await;
    let mut bytes = std::fs::read(&db_path).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}-wal", db_path.display())) {
        bytes.extend(wal);
    }
    let hay = String::from_utf8_lossy(&bytes);
    for (what, secret) in [
        ("API key", &api_key),
        ("webhook secret", &webhook_secret),
        ("password", &password),
        ("encryption key", &key),
    ] {
        assert!(
            !hay.contains(secret.as_str()),
            "the {what} is stored in plain text"
        );
    }
    // The channel token: not in any of Switchboard's own tables (the
    // sandbox's tables, which play Meta's side, live in the same file).
    let db = app::store::Db::connect(&db_url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sandbox_%' AND name NOT LIKE '\\_%' ESCAPE '\\'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let token = access_token.unwrap();
    for t in tables {
        let text = table_text(&db, &t).await;
        assert!(!text.contains(&token), "the access token is plain in `{t}`");
        assert!(!text.contains(&api_key), "the API key is plain in `{t}`");
    }
}

/// Every column of every row of `table`, as text.
async fn table_text(db: &app::store::Db, table: &str) -> String {
    let cols: Vec<String> =
        sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .fetch_all(&db.pool)
            .await
            .unwrap();
    if cols.is_empty() {
        return String::new();
    }
    let concat = cols
        .iter()
        .map(|c| format!("COALESCE(CAST(\"{c}\" AS TEXT), '')"))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT {concat} FROM {table}"))
        .fetch_all(&db.pool)
        .await
        .unwrap();
    rows.join("\n")
}

/// The hosted connect flow as a browser, against a base URL; returns the code.
async fn hosted_flow(base: &str, setup: &str) -> String {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", base.parse().unwrap());
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let loc = |r: &reqwest::Response| {
        r.headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    };
    let r = b.get(setup).send().await.unwrap();
    let dialog = url::Url::parse(&loc(&r)).unwrap();
    let mut form: Vec<(String, String)> = dialog
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("action".into(), "continue".into()));
    form.push(("asset".into(), PHONE_1.into()));
    let r = b
        .post(format!("{base}/sandbox/dialog/oauth"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let r = b.get(loc(&r)).send().await.unwrap();
    let back = if r.status() == 302 {
        loc(&r)
    } else {
        let html = r.text().await.unwrap();
        let session = html
            .split("name=\"session\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_string();
        let r = b
            .post(format!("{base}/setup/pick"))
            .form(&[
                ("session", session.as_str()),
                ("asset", PHONE_1),
                ("action", "connect"),
            ])
            .send()
            .await
            .unwrap();
        loc(&r)
    };
    common::query_param(&back, "code")
}

#[tokio::test]
async fn session_cookie_flags() {
    for (base, secure) in [("https://portal.example.com", true), ("", false)] {
        let extra: Vec<(&str, &str)> = if base.is_empty() {
            vec![]
        } else {
            vec![("SWITCHBOARD_BASE_URL", base)]
        };
        let app = common::spawn_app_with(&extra).await;
        let created = app::services::accounts::create_verified(
            &app.state,
            "cookie@example.com",
            "correct horse battery",
            "Cookie",
        )
        .await
        .unwrap();
        let _ = created;
        let origin = app.state.config.base().to_string();
        let r = app
            .http
            .post(app.url("/rpc/login"))
            .header("origin", origin_of(&origin))
            .header("accept", "application/json")
            .form(&[
                ("email", "cookie@example.com"),
                ("password", "correct horse battery"),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success() || r.status().is_redirection(),
            "{}",
            r.status()
        );
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("sb_session="))
            .expect("a session cookie")
            .to_ascii_lowercase();
        assert!(cookie.contains("httponly"), "{cookie}");
        assert!(
            cookie.contains("samesite=lax") || cookie.contains("samesite=strict"),
            "{cookie}"
        );
        assert!(cookie.contains("path=/"), "{cookie}");
        assert_eq!(cookie.contains("secure"), secure, "{cookie}");
    }
}

fn origin_of(base: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .origin()
        .ascii_serialization()
}

#[tokio::test]
async fn every_state_changing_browser_door_checks_the_origin() {
    let app = common::spawn_app().await;
    app.sign_up("csrf@example.com", "correct horse battery", "Csrf")
        .await;
    // Every server function the Portal registers (all POST under /rpc).
    let mut paths: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p.to_string())
        .filter(|p| p.starts_with("/rpc/"))
        .collect();
    paths.sort();
    paths.dedup();
    assert!(paths.len() > 30, "server functions found: {paths:?}");
    // Plain HTML form posts outside /rpc.
    for p in [
        "/setup/pick",
        "/signup/x/start",
        "/onboarding/logo",
        "/billing/sandbox/checkout/x",
        "/billing/sandbox/portal/x",
    ] {
        paths.push(p.to_string());
    }
    // The session cookie rides along (the browser would send it); the
    // Origin is another site's, or missing entirely.
    let cookies = app
        .browser
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .headers()
        .clone();
    let _ = cookies;
    let plain = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in &paths {
        for origin in [Some("https://evil.example"), None] {
            let mut req = plain
                .post(app.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("x=1");
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            assert_eq!(
                (status, v["code"].as_str()),
                (403, Some("csrf_origin_mismatch")),
                "{path} with origin {origin:?}"
            );
        }
    }
    // The Portal's own origin passes the check (and then fails or not on its own).
    let r = app.rpc("me", &[]).await;
    assert_ne!(r.status().as_u16(), 403);
}

#[tokio::test]
async fn log_in_is_throttled_after_repeated_failures() {
    let app = common::spawn_app().await;
    app.sign_up("throttle@example.com", "correct horse battery", "T")
        .await;
    let _ = app.rpc("logout", &[]).await;
    let mut last = 0;
    for _ in 0..app::services::accounts::LOGIN_MAX_FAILURES {
        let r = app
            .rpc(
                "login",
                &[
                    ("email", "throttle@example.com"),
                    ("password", "wrong password!"),
                ],
            )
            .await;
        last = r.status().as_u16();
        assert_ne!(last, 200);
    }
    let _ = last;
    // Now even the right password is refused for a while.
    let r = app
        .rpc(
            "login",
            &[
                ("email", "throttle@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert!(
        status == 429 || text.contains("too many") || text.contains("rate_limited"),
        "after {} failures: {status} {text}",
        app::services::accounts::LOGIN_MAX_FAILURES
    );
    // Once the window has passed, the right password works again.
    app.clock
        .advance(app::services::accounts::LOGIN_WINDOW_MS + 1000);
    let r = app
        .rpc(
            "login",
            &[
                ("email", "throttle@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
}
