//! Sandbox mode on a developer's laptop (SPEC §14): another web page cannot
//! drive `/sandbox/*` through the browser, the dialog hands codes only to
//! this installation, live mode does not fall into the sandbox checkout, and
//! one account's API key does not list another's sandbox traffic.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::common::{self, TestApp};
use super::connect_support::{PHONE_1, PHONE_2, allow_redirect, call, connect};

const EVIL: &str = "https://evil.example";

async fn assets(app: &TestApp) -> Vec<String> {
    let v: Value = app
        .http
        .get(app.url("/sandbox/api/assets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

/// What the sandbox has done so far: webhooks it sent (every inbound becomes
/// one, subscribed or not) and messages it holds.
async fn sandbox_counts(app: &TestApp) -> (i64, i64) {
    let count = |table: &'static str| async move {
        sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap()
    };
    (
        count("sandbox_webhooks").await,
        count("sandbox_messages").await,
    )
}

async fn codes_issued(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sandbox_codes")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

async fn error_code(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    (status, v["code"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn a_cross_site_text_plain_reset_is_refused_and_nothing_is_reset() {
    let app = common::spawn_app().await;
    let res = app
        .http
        .post(app.url("/sandbox/api/assets"))
        .json(&json!({"kind": "page", "name": "Survivor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let added: Value = res.json().await.unwrap();
    let page = added["assets"][0]["id"].as_str().unwrap().to_string();

    // What a page elsewhere can send without a preflight: text/plain, a form,
    // or no body at all, from its own origin or none.
    for (origin, content_type) in [
        (Some(EVIL), Some("text/plain")),
        (None, Some("text/plain;charset=UTF-8")),
        (Some(EVIL), Some("application/x-www-form-urlencoded")),
        (Some(EVIL), Some("multipart/form-data; boundary=x")),
        (Some("null"), None),
    ] {
        let mut req = app.http.post(app.url("/sandbox/api/reset")).body("{}");
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        let (status, code) = error_code(req.send().await.unwrap()).await;
        assert_eq!(
            (status, code.as_str()),
            (415, "unsupported_media_type"),
            "{origin:?} {content_type:?}"
        );
    }
    assert!(assets(&app).await.contains(&page), "the sandbox was reset");

    // A script (no Origin) with JSON still resets.
    let res = app
        .http
        .post(app.url("/sandbox/api/reset"))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!assets(&app).await.contains(&page));
}

#[tokio::test]
async fn form_encoded_inbound_and_phone_posts_are_refused_and_nothing_is_injected() {
    let app = common::spawn_app().await;
    let before = sandbox_counts(&app).await;
    let res = app
        .http
        .post(app.url("/sandbox/api/inbound"))
        .header("origin", EVIL)
        .form(&[
            ("asset_id", PHONE_1),
            ("from", "15550100999"),
            ("type", "text"),
            ("text", "injected"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (415, "unsupported_media_type".to_string())
    );
    // A JSON body labelled text/plain (what `fetch(…, {mode: "no-cors"})` sends).
    let res = app
        .http
        .post(app.url("/sandbox/api/inbound"))
        .header("origin", EVIL)
        .header("content-type", "text/plain")
        .body(
            json!({"asset_id": PHONE_1, "from": "15550100999", "type": "text", "text": "injected"})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    // The phone page's endpoint takes JSON only, too.
    let res = app
        .http
        .post(app.url("/sandbox/phone/send"))
        .header("origin", EVIL)
        .form(&[
            ("asset_id", PHONE_1),
            ("user", "15550100999"),
            ("type", "text"),
            ("text", "injected"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(
        sandbox_counts(&app).await,
        before,
        "a webhook or message was created"
    );
}

#[tokio::test]
async fn json_from_a_foreign_origin_is_refused_and_from_a_script_accepted() {
    let app = common::spawn_app().await;
    let body = json!({"asset_id": PHONE_1, "from": "15550100999", "type": "text", "text": "hi"});
    let before = sandbox_counts(&app).await;
    for path in ["/sandbox/api/inbound", "/sandbox/phone/send"] {
        let body = if path.ends_with("send") {
            json!({"asset_id": PHONE_1, "user": "15550100999", "type": "text", "text": "hi"})
        } else {
            body.clone()
        };
        for origin in [EVIL, "null", "http://127.0.0.1:1"] {
            let res = app
                .http
                .post(app.url(path))
                .header("origin", origin)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(
                error_code(res).await,
                (403, "csrf_origin_mismatch".to_string()),
                "{path} from {origin}"
            );
        }
    }
    let res = app
        .http
        .delete(app.url("/sandbox/api/faults"))
        .header("origin", EVIL)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(sandbox_counts(&app).await, before);

    // The same request from a script (no Origin), and from the sandbox's own
    // pages (the installation's origin), is served.
    let res = app
        .http
        .post(app.url("/sandbox/api/inbound"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = app
        .http
        .post(app.url("/sandbox/phone/send"))
        .header("origin", &app.base)
        .json(&json!({"asset_id": PHONE_1, "user": "15550100999", "type": "text", "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let (hooks, msgs) = sandbox_counts(&app).await;
    assert_eq!((hooks - before.0, msgs - before.1), (2, 2));
}

#[tokio::test]
async fn the_graph_takes_meta_bodies_but_not_a_foreign_origin() {
    let app = common::spawn_app().await;
    let path = format!("/sandbox/graph/v26.0/{PHONE_1}/messages");
    let form = [
        ("messaging_product", "whatsapp"),
        ("to", "15550100999"),
        ("type", "text"),
        ("text", r#"{"body":"from a web page"}"#),
        ("access_token", "EAAGanything"),
    ];
    let res = app
        .http
        .post(app.url(&path))
        .header("origin", EVIL)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (403, "csrf_origin_mismatch".to_string())
    );
    // A server's form-encoded call reaches the Graph, which answers in Meta's
    // envelope (here: the token is not valid).
    let res = app
        .http
        .post(app.url(&path))
        .form(&form)
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert!(v["error"]["code"].is_number(), "{v}");
    assert_eq!(sandbox_counts(&app).await.1, 0, "nothing was sent");
}

#[tokio::test]
async fn the_dialog_redirects_only_to_this_installations_callback() {
    let app = common::spawn_app().await;
    let cfg = &app.state.config;
    let client_id = cfg.meta_app_id.clone().unwrap();
    let config_id = cfg.meta_config_id_whatsapp.clone().unwrap();
    let callback = format!("{}/setup/callback", app.base);
    let form = |redirect_uri: &str, action: &str| -> Vec<(String, String)> {
        [
            ("client_id", client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("config_id", config_id.as_str()),
            ("state", "st"),
            ("response_type", "code"),
            ("action", action),
            ("asset", PHONE_1),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    let foreign = [
        "https://evil.example/cb".to_string(),
        format!("{}/setup/callbackx", app.base),
        format!("{}/login", app.base),
        format!("{}.evil.example/setup/callback", app.base),
        format!("{}/setup/callback", app.base.replace("http://", "https://")),
        format!(
            "http://user@{}/setup/callback",
            app.base.trim_start_matches("http://")
        ),
    ];
    for to in &foreign {
        // The page itself refuses to show a consent for it…
        let q: HashMap<_, _> = form(to, "continue").into_iter().collect();
        let res = app
            .http
            .get(app.url("/sandbox/dialog/oauth"))
            .query(&q)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{to}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains("URL blocked") && !html.contains("<form"),
            "{to}: {html}"
        );
        // …and a submitted form (Continue or Cancel) is an error page, not a redirect.
        for action in ["continue", "cancel"] {
            let res = app
                .browser
                .post(app.url("/sandbox/dialog/oauth"))
                .form(&form(to, action))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 400, "{to} {action}");
            assert!(res.headers().get("location").is_none(), "{to} {action}");
        }
    }
    assert_eq!(codes_issued(&app).await, 0);

    // The consent form itself follows the Portal's Origin rule.
    for origin in [Some(EVIL), None] {
        let mut req = app
            .http
            .post(app.url("/sandbox/dialog/oauth"))
            .form(&form(&callback, "continue"));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let res = req.send().await.unwrap();
        assert_eq!(
            error_code(res).await,
            (403, "csrf_origin_mismatch".to_string()),
            "{origin:?}"
        );
    }
    assert_eq!(codes_issued(&app).await, 0);

    // The installation's own callback, from the dialog's page, gets its code.
    let res = app
        .browser
        .post(app.url("/sandbox/dialog/oauth"))
        .form(&form(&format!("{callback}?keep=1"), "continue"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let to = res.headers()["location"].to_str().unwrap();
    assert!(to.starts_with(&format!("{callback}?keep=1&code=")), "{to}");
    assert_eq!(codes_issued(&app).await, 1);
}

fn live_vars(extra: &[(&str, &str)]) -> HashMap<String, String> {
    [
        ("SWITCHBOARD_META_MODE", "live"),
        ("SWITCHBOARD_META_APP_ID", "900000000000001"),
        ("SWITCHBOARD_META_APP_SECRET", "app-secret"),
        ("SWITCHBOARD_META_VERIFY_TOKEN", "verify"),
        ("SWITCHBOARD_META_CONFIG_ID_WHATSAPP", "123"),
        (
            "SWITCHBOARD_SECRET_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[test]
fn live_mode_needs_the_sandbox_billing_provider_chosen_by_name() {
    let errs = app::config::Config::from_map(&live_vars(&[]))
        .err()
        .expect("live mode without a billing provider must not start");
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("SWITCHBOARD_BILLING_PROVIDER")
                && t.contains("stripe")
                && t.contains("sandbox")),
        "{text:?}"
    );
    let c =
        app::config::Config::from_map(&live_vars(&[("SWITCHBOARD_BILLING_PROVIDER", "sandbox")]))
            .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        c.billing_provider,
        app::config::BillingProviderKind::Sandbox
    );
    // Sandbox mode keeps its default.
    let c = app::config::Config::from_map(&HashMap::new()).unwrap();
    assert_eq!(
        c.billing_provider,
        app::config::BillingProviderKind::Sandbox
    );
}

/// An account with one WhatsApp number connected and registered, a message
/// from `user` and a reply sent through the API.
async fn tenant_with_traffic(app: &TestApp, phone: &str, user: &str, reply: &str) -> String {
    let (_, key) = app.account_with_key().await;
    allow_redirect(app, &key).await;
    let v = connect(app, &key, "whatsapp", &[phone], Some(phone), json!({})).await;
    let channel = v["id"].as_str().unwrap().to_string();
    let (s, v) = call(
        app,
        &key,
        "POST",
        &format!("/api/v1/channels/{channel}/register"),
        Some(json!({"pin": "123456"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let res = app
        .http
        .post(app.url("/sandbox/api/inbound"))
        .json(&json!({"asset_id": phone, "from": user, "type": "text", "text": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (s, v) = call(
        app,
        &key,
        "POST",
        "/api/v1/messages/send",
        Some(json!({"channel_id": channel, "recipient": user, "text": reply})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    key
}

async fn read(app: &TestApp, path: &str, key: Option<&str>) -> (u16, Value) {
    let mut req = app.http.get(app.url(path));
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    let res = req.send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

fn texts(outbox: &Value) -> Vec<String> {
    outbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .map(str::to_string)
        .collect()
}

/// Every asset id a webhook is about (entry ids and phone number ids).
fn webhook_assets(hooks: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for h in hooks["webhooks"].as_array().unwrap() {
        for e in h["body"]["entry"].as_array().into_iter().flatten() {
            for c in e["changes"].as_array().into_iter().flatten() {
                if let Some(p) = c
                    .pointer("/value/metadata/phone_number_id")
                    .and_then(Value::as_str)
                {
                    ids.push(p.to_string());
                }
            }
        }
    }
    ids
}

#[tokio::test]
async fn sandbox_reads_with_a_key_show_only_that_accounts_traffic() {
    let app = common::spawn_app().await;
    let a = tenant_with_traffic(&app, PHONE_1, "15550111001", "secret reply of A").await;
    let b = tenant_with_traffic(&app, PHONE_2, "15550111002", "secret reply of B").await;

    // Without a key the sandbox answers for everything (single-tenant by design).
    let (s, all) = read(&app, "/sandbox/api/outbox", None).await;
    assert_eq!(s, 200);
    let all = texts(&all);
    assert!(
        all.contains(&"secret reply of A".to_string())
            && all.contains(&"secret reply of B".to_string())
    );

    // With A's key: A's only, also when B's number is asked for by name.
    let (s, mine) = read(&app, "/sandbox/api/outbox", Some(&a)).await;
    assert_eq!(s, 200);
    assert_eq!(texts(&mine), vec!["secret reply of A".to_string()]);
    let (s, theirs) = read(
        &app,
        &format!("/sandbox/api/outbox?asset_id={PHONE_2}&to=15550111002"),
        Some(&a),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(texts(&theirs), Vec::<String>::new());
    let (_, mine) = read(&app, "/sandbox/api/outbox", Some(&b)).await;
    assert_eq!(texts(&mine), vec!["secret reply of B".to_string()]);

    // The webhooks, the assets and the phone's thread follow the same rule.
    let (s, hooks) = read(&app, "/sandbox/api/webhooks", Some(&a)).await;
    assert_eq!(s, 200);
    let about = webhook_assets(&hooks);
    assert!(about.contains(&PHONE_1.to_string()), "{hooks}");
    assert!(!about.contains(&PHONE_2.to_string()), "{hooks}");
    let (_, everything) = read(&app, "/sandbox/api/webhooks", None).await;
    assert!(webhook_assets(&everything).contains(&PHONE_2.to_string()));
    let (_, listed) = read(&app, "/sandbox/api/assets", Some(&a)).await;
    let listed: Vec<&str> = listed["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["id"].as_str())
        .collect();
    assert!(
        listed.contains(&PHONE_1) && !listed.contains(&PHONE_2),
        "{listed:?}"
    );
    let (s, thread) = read(
        &app,
        &format!("/sandbox/phone/thread?asset_id={PHONE_2}&user=15550111002"),
        Some(&a),
    )
    .await;
    assert_eq!(
        (s, thread["messages"].as_array().map(Vec::len)),
        (200, Some(0))
    );

    // A key that is not valid is refused, not taken for "no key".
    let (s, v) = read(&app, "/sandbox/api/outbox", Some("sb_test_notakey")).await;
    assert_eq!((s, v["code"].as_str()), (401, Some("invalid_api_key")));
    let (s, _) = read(&app, "/sandbox/api/webhooks", Some("sb_test_notakey")).await;
    assert_eq!(s, 401);
}
