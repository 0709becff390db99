//! Drives the hosted connect flow like a browser: setup URL → /setup/start →
//! sandbox dialog form → /setup/callback → (picker) → the customer's redirect_uri.

#![allow(dead_code)]

use serde_json::{Value, json};
use server::sandbox::seed;

use super::common::TestApp;

pub const REDIRECT: &str = "https://app.example.com/cb";

pub fn browser(app: &TestApp) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", app.base.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn call(
    app: &TestApp,
    key: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.http.request(m, app.url(path)).header("x-api-key", key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn allow_redirect(app: &TestApp, key: &str) {
    let (s, _) = call(
        app,
        key,
        "POST",
        "/api/v1/redirects",
        Some(json!({"uri_pattern": REDIRECT})),
    )
    .await;
    assert_eq!(s, 201);
}

pub async fn setup_url(app: &TestApp, key: &str, channel_type: &str) -> String {
    let (s, v) = call(
        app,
        key,
        "POST",
        "/api/v1/channels/setup-url",
        Some(json!({"channel_type": channel_type, "redirect_uri": REDIRECT, "state": "xyz"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["setup_url"].as_str().unwrap().to_string()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on {}", res.status()))
        .to_str()
        .unwrap()
        .to_string()
}

pub enum Dialog<'a> {
    Continue(&'a [&'a str]),
    Cancel,
}

/// Runs the flow from `setup_url`; `pick` answers the picker page if it shows.
/// Returns the final redirect to the customer.
pub async fn run(app: &TestApp, setup: &str, dialog: Dialog<'_>, pick: Option<&str>) -> url::Url {
    let b = browser(app);
    let res = b.get(setup).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let to = url::Url::parse(&location(&res)).unwrap();
    if to.as_str().starts_with(REDIRECT) {
        return to;
    }
    assert!(to.path().ends_with("/sandbox/dialog/oauth"), "{to}");
    let mut form: Vec<(String, String)> = to
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    match dialog {
        Dialog::Continue(assets) => {
            form.push(("action".into(), "continue".into()));
            for a in assets {
                form.push(("asset".into(), a.to_string()));
            }
        }
        Dialog::Cancel => form.push(("action".into(), "cancel".into())),
    }
    let res = b
        .post(app.url("/sandbox/dialog/oauth"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let cb = location(&res);
    assert!(cb.contains("/setup/callback"), "{cb}");
    let res = b.get(&cb).send().await.unwrap();
    if res.status() == 302 {
        return url::Url::parse(&location(&res)).unwrap();
    }
    assert_eq!(res.status(), 200, "picker expected");
    let html = res.text().await.unwrap();
    let session = html
        .split("name=\"session\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("session in picker")
        .to_string();
    let pick = pick.expect("the picker showed; choose an asset");
    assert!(html.contains(pick), "picker offers {pick}");
    let res = b
        .post(app.url("/setup/pick"))
        .form(&[
            ("session", session.as_str()),
            ("asset", pick),
            ("action", "connect"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    url::Url::parse(&location(&res)).unwrap()
}

pub fn param(u: &url::Url, name: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Connects and exchanges the code; returns the exchange response.
pub async fn connect(
    app: &TestApp,
    key: &str,
    channel_type: &str,
    assets: &[&str],
    pick: Option<&str>,
    extra: Value,
) -> Value {
    let setup = setup_url(app, key, channel_type).await;
    let back = run(app, &setup, Dialog::Continue(assets), pick).await;
    let code = param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
    assert_eq!(param(&back, "state").as_deref(), Some("xyz"));
    assert!(param(&back, "error").is_none());
    let mut body = json!({"code": code});
    if let (Some(o), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    let (s, v) = call(
        app,
        key,
        "POST",
        "/api/v1/channels/exchange-code",
        Some(body),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Apps subscribed to a sandbox asset (the sandbox's own record, as Meta would show it).
pub async fn subscribed(app: &TestApp, asset: &str) -> bool {
    let subs = server::sandbox::db::subscriptions_of(&app.state.db, asset)
        .await
        .unwrap();
    let ours = app.state.config.meta_app_id.clone().unwrap();
    subs.iter().any(|s| s.app_id == ours)
}

pub const WABA: &str = seed::WABA_ID;
pub const PHONE_1: &str = seed::PHONE_1;
pub const PHONE_2: &str = seed::PHONE_2;
pub const PAGE_1: &str = seed::PAGE_1;
pub const PAGE_2: &str = seed::PAGE_2;
pub const IG: &str = seed::INSTAGRAM_1;

/// A customer's own Meta app in the sandbox (`POST /sandbox/api/apps`), for
/// manual connections: its id, secret and a system-user token on every WABA.
pub struct CustomerApp {
    pub app_id: String,
    pub app_secret: String,
    pub token: String,
}

pub async fn customer_app(app: &TestApp) -> CustomerApp {
    let res = app
        .http
        .post(app.url("/sandbox/api/apps"))
        .json(&json!({"name": "Own App"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let v: Value = res.json().await.unwrap();
    CustomerApp {
        app_id: v["app_id"].as_str().unwrap().to_string(),
        app_secret: v["app_secret"].as_str().unwrap().to_string(),
        token: v["access_token"].as_str().unwrap().to_string(),
    }
}

/// `POST /api/v1/channels/manual` for `phone` through `own`, with `secret` as
/// the app secret Switchboard is told.
pub async fn manual_connect(
    app: &TestApp,
    key: &str,
    own: &CustomerApp,
    phone: &str,
    secret: &str,
) -> (u16, Value) {
    call(
        app,
        key,
        "POST",
        "/api/v1/channels/manual",
        Some(
            json!({"channel_type": "whatsapp", "waba_id": WABA, "access_token": own.token,
            "app_secret": secret, "verify_token": "own-verify-token", "phone_number": phone}),
        ),
    )
    .await
}
