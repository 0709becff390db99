//! Requests that cost more than a lookup (SPEC §14): template texts are
//! measured against Meta's limits before anything parses them, and only after
//! the key's account is known to own the channel; the per-key rate limit is
//! one bucket for the whole installation, however many processes serve it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::common::{self, TestApp};
use super::connect_support::{PHONE_1, WABA, allow_redirect, call, connect};

struct Chan {
    id: String,
    key: String,
    account: String,
}

/// Template calls make more requests than the default limit allows.
async fn spawn() -> TestApp {
    common::spawn_app_with(&[("SWITCHBOARD_RATE_LIMIT_PER_MINUTE", "100000")]).await
}

/// A fresh account (on its trial, which includes templates) with a
/// registered WhatsApp number.
async fn whatsapp(app: &TestApp) -> Chan {
    let (account, key) = app.account_with_key().await;
    allow_redirect(app, &key).await;
    let v = connect(app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    let id = v["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/channels/{id}/register");
    let (s, v) = call(app, &key, "POST", &path, Some(json!({"pin": "123456"}))).await;
    assert_eq!(s, 200, "{v}");
    Chan { id, key, account }
}

/// `{{v0}}{{v1}}…` up to about `bytes` long: more than a thousand times the
/// variables a template may hold, every one distinct.
fn placeholders(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 16);
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&format!("{{{{v{i}}}}}"));
        i += 1;
    }
    s
}

/// A template whose URL button and body each carry about half a megabyte of
/// variables (the whole request stays under the 1 MB body limit).
fn megabyte_template() -> Value {
    let half = placeholders(450_000);
    json!({
        "name": "flood",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {"type": "BODY", "text": "Hello"},
            {"type": "BUTTONS", "buttons": [
                {"type": "URL", "text": "Go", "url": format!("https://example.com/{half}"),
                 "example": ["https://example.com/x"]}]},
            {"type": "FOOTER", "text": half},
        ]
    })
}

async fn stored_templates(app: &TestApp, account: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM templates WHERE account_id = $1")
        .bind(account)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// Templates the sandbox (Meta) holds for the seeded WABA.
async fn templates_at_meta(app: &TestApp) -> usize {
    server::sandbox::db::templates_of(&app.state.db, WABA)
        .await
        .unwrap()
        .len()
}

async fn post_template(app: &TestApp, key: &str, channel: &str, body: &Value) -> (u16, Value) {
    let path = format!("/api/v1/channels/{channel}/templates");
    call(app, key, "POST", &path, Some(body.clone())).await
}

#[tokio::test]
async fn a_megabyte_of_placeholders_is_refused_at_once() {
    let app = spawn().await;
    let c = whatsapp(&app).await;
    let at_meta = templates_at_meta(&app).await;
    let body = megabyte_template();
    assert!(body.to_string().len() > 900_000 && body.to_string().len() < 1_000_000);

    let started = Instant::now();
    let (s, v) = post_template(&app, &c.key, &c.id, &body).await;
    let took = started.elapsed();
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["code"], "invalid_template_components", "{v}");
    // The first text over its limit is named with Meta's number.
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains("url") && detail.contains("2000"),
        "{detail}"
    );
    // A sanity bound far above the measured few milliseconds and far below
    // what parsing the variables one by one took (seconds per request).
    assert!(took < Duration::from_secs(5), "took {took:?}");

    // Within the length limits, the variable count is the limit: a body of
    // 1024 characters fits about 170 of them.
    let crowded: String = (0..170).map(|i| format!("{{{{a{i}}}}}")).collect();
    let crowded = &crowded[..crowded[..1024].rfind("}}").unwrap() + 2];
    let (s, v) = post_template(
        &app,
        &c.key,
        &c.id,
        &json!({"name": "crowded", "language": "en_US", "category": "UTILITY",
                "parameter_format": "named",
                "components": [{"type": "BODY", "text": crowded}]}),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("too_many_variables")),
        "{v}"
    );
    assert!(v["detail"].as_str().unwrap().contains("100"), "{v}");

    assert_eq!(stored_templates(&app, &c.account).await, 0);
    assert_eq!(
        templates_at_meta(&app).await,
        at_meta,
        "nothing reached Meta"
    );
}

#[tokio::test]
async fn template_work_on_a_channel_the_key_does_not_own_is_a_404_before_parsing() {
    let app = spawn().await;
    let victim = whatsapp(&app).await;
    let (_, intruder) = app.account_with_key().await;
    let at_meta = templates_at_meta(&app).await;
    let flood = megabyte_template();
    // Broken in every way the rules could name: still only "not found".
    let broken = json!({"name": "Not-A-Name", "language": "english", "category": "PROMO",
                        "components": [{"type": "BANNER"}]});
    for channel in [victim.id.as_str(), "00000000000000ff"] {
        for body in [&flood, &broken] {
            let started = Instant::now();
            let (s, v) = post_template(&app, &intruder, channel, body).await;
            assert_eq!((s, v["code"].as_str()), (404, Some("not_found")), "{v}");
            assert!(started.elapsed() < Duration::from_secs(5));
        }
        let path = format!("/api/v1/channels/{channel}/templates/1300000000000001");
        let (s, v) = call(
            &app,
            &intruder,
            "PUT",
            &path,
            Some(json!({"components": flood["components"].clone()})),
        )
        .await;
        assert_eq!((s, v["code"].as_str()), (404, Some("not_found")), "{v}");
        let (s, v) = call(
            &app,
            &intruder,
            "POST",
            "/api/v1/messages/send-template",
            Some(
                json!({"channel_id": channel, "template_name": "x", "language": "en_US",
                        "recipient": "15550123001",
                        "variables": {"buttons": vec![json!({"index": 0, "value": "x"}); 20_000]}}),
            ),
        )
        .await;
        assert_eq!((s, v["code"].as_str()), (404, Some("not_found")), "{v}");
    }
    assert_eq!(stored_templates(&app, &victim.account).await, 0);
    assert_eq!(
        templates_at_meta(&app).await,
        at_meta,
        "nothing reached Meta"
    );
}

#[tokio::test]
async fn over_long_template_texts_are_refused_naming_metas_limit() {
    let app = spawn().await;
    let c = whatsapp(&app).await;
    let at_meta = templates_at_meta(&app).await;
    let template = |components: Value| {
        json!({"name": "too_long", "language": "en_US", "category": "MARKETING",
               "components": components})
    };
    let body = json!({"type": "BODY", "text": "Hello"});
    let buttons = |b: Value| template(json!([body, {"type": "BUTTONS", "buttons": [b]}]));
    let x = |n: usize| "x".repeat(n);
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "body",
            template(json!([{"type": "BODY", "text": x(1025)}])),
            "invalid_template_components",
            "1024",
        ),
        (
            "footer",
            template(json!([body, {"type": "FOOTER", "text": x(61)}])),
            "invalid_template_components",
            "60",
        ),
        (
            "header",
            template(json!([{"type": "HEADER", "format": "TEXT", "text": x(61)}, body])),
            "invalid_template_components",
            "60",
        ),
        (
            "button text",
            buttons(json!({"type": "QUICK_REPLY", "text": x(26)})),
            "invalid_template_components",
            "25",
        ),
        (
            "button url",
            buttons(
                json!({"type": "URL", "text": "Go", "url": format!("https://example.com/{}", x(2000))}),
            ),
            "invalid_template_components",
            "2000",
        ),
        (
            "phone number",
            buttons(json!({"type": "PHONE_NUMBER", "text": "Call", "phone_number": x(21)})),
            "invalid_template_components",
            "20",
        ),
        (
            "copy code",
            buttons(json!({"type": "COPY_CODE", "example": x(16)})),
            "invalid_template_components",
            "15",
        ),
        (
            "button count",
            template(json!([body, {"type": "BUTTONS",
                "buttons": vec![json!({"type": "QUICK_REPLY", "text": "Ok"}); 11]}])),
            "invalid_template_components",
            "10",
        ),
        (
            "component count",
            template(json!([body, body, body, body, body])),
            "invalid_template_components",
            "4",
        ),
    ];
    for (what, request, code, limit) in cases {
        let (s, v) = post_template(&app, &c.key, &c.id, &request).await;
        assert_eq!((s, v["code"].as_str()), (400, Some(code)), "{what}: {v}");
        let detail = v["detail"].as_str().unwrap();
        assert!(detail.contains(limit), "{what}: {detail}");
    }
    let mut long_name = template(json!([body]));
    long_name["name"] = json!(x(513));
    let (s, v) = post_template(&app, &c.key, &c.id, &long_name).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("invalid_template_name")),
        "{v}"
    );
    assert!(v["detail"].as_str().unwrap().contains("512"), "{v}");
    // An error quotes a caller's value only in part.
    let mut long_language = template(json!([body]));
    long_language["language"] = json!(x(100_000));
    let (s, v) = post_template(&app, &c.key, &c.id, &long_language).await;
    assert_eq!(s, 400, "{v}");
    assert!(v["detail"].as_str().unwrap().len() < 200, "{v}");

    assert_eq!(stored_templates(&app, &c.account).await, 0);
    assert_eq!(
        templates_at_meta(&app).await,
        at_meta,
        "nothing reached Meta"
    );
}

/// A second server on the first one's database, as a second process of the
/// same installation would run.
async fn second_process(first: &TestApp, extra: &[(&str, &str)]) -> TestApp {
    let key = app::crypto::encode_key(first.state.config.secret_key.as_ref().unwrap());
    let mut vars = vec![
        (
            "SWITCHBOARD_DATABASE_URL",
            first.state.config.database_url.as_str(),
        ),
        ("SWITCHBOARD_SECRET_KEY", key.as_str()),
    ];
    vars.extend_from_slice(extra);
    common::spawn_app_with(&vars).await
}

/// One authenticated request; its status and `X-RateLimit-Remaining`.
async fn list_channels(app: &TestApp, key: &str) -> (u16, Option<u32>) {
    get_channels(
        app.http.clone(),
        app.url("/api/v1/channels"),
        key.to_string(),
    )
    .await
}

async fn get_channels(http: reqwest::Client, url: String, key: String) -> (u16, Option<u32>) {
    let res = http.get(url).header("x-api-key", key).send().await.unwrap();
    let remaining = res
        .headers()
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (res.status().as_u16(), remaining)
}

#[tokio::test]
async fn the_key_limit_is_one_bucket_across_processes() {
    const LIMIT: usize = 10;
    let limit = [("SWITCHBOARD_RATE_LIMIT_PER_MINUTE", "10")];
    let a = common::spawn_app_with(&limit).await;
    let (_, key) = a.account_with_key().await;
    let (_, other_key) = a.account_with_key().await;
    // PostgreSQL: a second process on the same database. SQLite serves one
    // process, so there both halves go to the same one.
    let shared = a.state.db.kind == app::store::DbKind::Postgres;
    let b = if shared {
        Some(second_process(&a, &limit).await)
    } else {
        None
    };
    let b = b.as_ref().unwrap_or(&a);

    // Twice the limit at once, alternating between the processes: exactly
    // the limit gets through, whichever process answered.
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..2 * LIMIT {
        let app = if i % 2 == 0 { &a } else { b };
        let url = app.url("/api/v1/channels");
        requests.spawn(get_channels(app.http.clone(), url, key.clone()));
    }
    let answers = requests.join_all().await;
    let passed = answers.iter().filter(|(s, _)| *s == 200).count();
    let refused = answers.iter().filter(|(s, _)| *s == 429).count();
    assert_eq!((passed, refused), (LIMIT, LIMIT), "{answers:?}");
    // The headers count down one shared bucket: each number once.
    let mut remaining: Vec<u32> = answers
        .iter()
        .filter(|(s, _)| *s == 200)
        .filter_map(|(_, r)| *r)
        .collect();
    remaining.sort_unstable();
    assert_eq!(remaining, (0..LIMIT as u32).collect::<Vec<_>>());

    // Both processes now refuse the key, and with a Retry-After.
    for app in [&a, b] {
        let res = app
            .http
            .get(app.url("/api/v1/channels"))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 429);
        assert!(res.headers().contains_key("retry-after"));
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["code"], "rate_limited", "{v}");
    }
    // Another key has its own bucket.
    assert_eq!(list_channels(b, &other_key).await.0, 200);

    // Time refills the bucket for every process: one request per 6 s.
    a.clock.advance(6_000);
    if shared {
        b.clock.advance(6_000);
    }
    assert_eq!(list_channels(b, &key).await.0, 200);
    assert_eq!(list_channels(&a, &key).await.0, 429);
}
