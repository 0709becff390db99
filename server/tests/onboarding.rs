//! Onboarding links (SPEC §6, §10) over real HTTP: the REST API, the hosted
//! page `/signup/{id}` driven through the sandbox dialog like a browser, the
//! channel it creates or reactivates with the link's webhook settings,
//! `phone_number.connected` delivered signed to an event endpoint, and the
//! redirect back to the customer.

mod common;
mod connect_support;
mod customer_support;

use app::domain::billing::Tier;
use connect_support::*;
use customer_support::spawn_customer;
use serde_json::{Value, json};

const HOOK: &str = "http://127.0.0.1:9/hook";
const DAY: i64 = 24 * 60 * 60 * 1000;

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

async fn create(app: &common::TestApp, key: &str, body: Value) -> Value {
    let (s, v) = call(app, key, "POST", "/api/v1/onboarding-links", Some(body)).await;
    assert_eq!(s, 201, "{v}");
    v
}

async fn get_link(app: &common::TestApp, key: &str, id: &str) -> (u16, Value) {
    call(
        app,
        key,
        "GET",
        &format!("/api/v1/onboarding-links/{id}"),
        None,
    )
    .await
}

async fn delete_link(app: &common::TestApp, key: &str, id: &str) -> (u16, Value) {
    call(
        app,
        key,
        "DELETE",
        &format!("/api/v1/onboarding-links/{id}"),
        None,
    )
    .await
}

/// A hosted flow's hold on a link, taken at `claimed_at`, as a process that
/// stopped mid-connect leaves it.
async fn hold(app: &common::TestApp, id: &str, claimed_at: i64) {
    sqlx::query("UPDATE onboarding_links SET status = 'completing', claimed_at = $1 WHERE id = $2")
        .bind(claimed_at)
        .bind(id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on {}", res.status()))
        .to_str()
        .unwrap()
        .to_string()
}

/// Where the hosted flow of a link left the browser.
#[derive(Debug)]
enum End {
    /// A redirect (to the customer's redirect_url or back to the hosted page).
    Redirect(url::Url),
    /// A page rendered in place: status and HTML.
    Page(u16, String),
}

/// An end user: opens the hosted page, presses Continue, answers the sandbox
/// dialog and, when it shows, the picker.
async fn run_link(
    app: &common::TestApp,
    hosted_url: &str,
    dialog: Dialog<'_>,
    pick: Option<&str>,
) -> End {
    let b = browser(app);
    let page = b.get(hosted_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Continue with Facebook"), "{html}");
    let res = b.post(format!("{hosted_url}/start")).send().await.unwrap();
    if res.status() != 302 {
        return End::Page(res.status().as_u16(), res.text().await.unwrap());
    }
    let to = url::Url::parse(&location(&res)).unwrap();
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
    let mut res = b.get(&cb).send().await.unwrap();
    if res.status() == 200 {
        let html = res.text().await.unwrap();
        let Some(session) = html
            .split("name=\"session\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
        else {
            return End::Page(200, html);
        };
        let pick = pick.expect("the picker showed; choose an asset");
        res = b
            .post(app.url("/setup/pick"))
            .form(&[("session", session), ("asset", pick), ("action", "connect")])
            .send()
            .await
            .unwrap();
    }
    if res.status() == 302 {
        End::Redirect(url::Url::parse(&location(&res)).unwrap())
    } else {
        End::Page(res.status().as_u16(), res.text().await.unwrap())
    }
}

fn redirected(end: End) -> url::Url {
    match end {
        End::Redirect(u) => u,
        End::Page(s, html) => panic!("expected a redirect, got {s}: {html}"),
    }
}

async fn event_endpoint(app: &common::TestApp, key: &str, url: &str) -> String {
    let (s, v) = call(
        app,
        key,
        "POST",
        "/api/v1/event-endpoints",
        Some(json!({"url": url, "events": ["phone_number.connected", "channel.connected"]})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    v["secret"].as_str().unwrap().to_string()
}

/// The channel's stored webhook secret in clear.
async fn channel_secret(app: &common::TestApp, account: &str, id: &str) -> Option<String> {
    let c = app::store::channels::get(&app.state.db, account, id)
        .await
        .unwrap()
        .unwrap();
    c.webhook_secret
        .map(|s| String::from_utf8(app.state.cipher.decrypt(&s).unwrap()).unwrap())
}

#[tokio::test]
async fn whatsapp_link_end_to_end() {
    let app = common::spawn_app().await;
    let (account, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let customer = spawn_customer().await;
    let endpoint_secret = event_endpoint(&app, &key, &customer.url).await;

    let link = create(
        &app,
        &key,
        json!({
            "name": "Acme Bakery",
            "external_id": "cus_42",
            "redirect_url": format!("{REDIRECT}?from=sb"),
            "webhook_url": HOOK,
            "webhook_events": ["message.received", "message.sent", "message.received"],
        }),
    )
    .await;
    let id = link["id"].as_str().unwrap().to_string();
    let groups: Vec<usize> = id.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "a UUID: {id}");
    assert_eq!(link["name"], "Acme Bakery");
    assert_eq!(link["status"], "pending");
    assert_eq!(link["external_id"], "cus_42");
    assert_eq!(link["channel_type"], "whatsapp", "the default type");
    assert_eq!(link["hosted_url"], app.url(&format!("/signup/{id}")));
    assert_eq!(link["redirect_url"], format!("{REDIRECT}?from=sb"));
    assert_eq!(link["webhook_url"], HOOK);
    assert_eq!(
        link["webhook_events"],
        json!(["message.received", "message.sent"])
    );
    for f in [
        "channel_id",
        "phone_number_id",
        "phone_number",
        "waba_id",
        "is_phone_registered",
        "completed_at",
    ] {
        assert!(link[f].is_null(), "{f} before completion: {link}");
    }
    let secret = link["webhook_secret"].as_str().unwrap().to_string();
    assert!(is_hex64(&secret), "generated secret: {link}");
    let created = time::OffsetDateTime::parse(
        link["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires = time::OffsetDateTime::parse(
        link["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!((expires - created).whole_days(), 30);

    // The secret is shown once.
    let (s, got) = get_link(&app, &key, &id).await;
    assert_eq!(s, 200);
    assert!(got.get("webhook_secret").is_none(), "{got}");
    assert_eq!(got["status"], "pending");

    // The hosted page: account, link name, what is granted; no login needed.
    let page = app
        .http
        .get(app.url(&format!("/signup/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Acme"), "account name");
    assert!(html.contains("Acme Bakery"), "link name");
    assert!(html.contains("WhatsApp Business phone number"));
    assert!(html.contains("relayed to Acme"));
    assert!(html.contains(&format!("action=\"/signup/{id}/start\"")));

    // Both numbers shared → the picker; the end user picks the second.
    let back = redirected(
        run_link(
            &app,
            &app.url(&format!("/signup/{id}")),
            Dialog::Continue(&[PHONE_1, PHONE_2]),
            Some(PHONE_2),
        )
        .await,
    );
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    assert_eq!(
        param(&back, "from").as_deref(),
        Some("sb"),
        "own query kept"
    );
    assert_eq!(
        param(&back, "onboarding_link_id").as_deref(),
        Some(id.as_str())
    );
    assert_eq!(param(&back, "external_id").as_deref(), Some("cus_42"));
    assert_eq!(param(&back, "status").as_deref(), Some("success"));
    assert!(param(&back, "error").is_none());
    assert!(param(&back, "code").is_none(), "links never hand out codes");

    let (_, done) = get_link(&app, &key, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let channel_id = done["channel_id"].as_str().unwrap().to_string();
    assert_eq!(channel_id.len(), 16);
    assert_eq!(done["phone_number_id"], PHONE_2);
    assert_eq!(done["phone_number"], "15550100002");
    assert_eq!(done["waba_id"], WABA);
    assert!(done["is_phone_registered"].is_boolean(), "{done}");
    assert!(done["completed_at"].as_str().unwrap().ends_with('Z'));

    // The channel got the link's webhook settings, secret included.
    let (s, ch) = call(
        &app,
        &key,
        "GET",
        &format!("/api/v1/channels/{channel_id}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(ch["is_active"], true);
    assert_eq!(ch["phone_number_id"], PHONE_2);
    assert_eq!(ch["webhook_url"], HOOK);
    assert_eq!(
        ch["webhook_events"],
        json!(["message.received", "message.sent"])
    );
    assert_eq!(ch["has_webhook_secret"], true);
    assert_eq!(
        channel_secret(&app, &account, &channel_id).await.as_deref(),
        Some(secret.as_str())
    );
    assert!(subscribed(&app, WABA).await);

    // phone_number.connected reached the event endpoint, signed.
    let hit = customer
        .find(|v| v["event"] == "phone_number.connected")
        .await;
    assert!(
        app::meta::signature::verify(
            &endpoint_secret,
            &hit.body,
            hit.header("x-webhook-signature").unwrap_or_default()
        ),
        "X-Webhook-Signature must verify with the endpoint's secret"
    );
    assert!(!app::meta::signature::verify(
        "another-secret-0000",
        &hit.body,
        hit.header("x-webhook-signature").unwrap_or_default()
    ));
    let ev = hit.json();
    assert!(ev["event_id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(ev["account_id"], account);
    let data = &ev["data"];
    assert_eq!(data["onboarding_link_id"], id);
    assert_eq!(data["external_id"], "cus_42");
    assert_eq!(data["channel_id"], channel_id);
    assert_eq!(data["phone_number_id"], PHONE_2);
    assert_eq!(data["phone_number"], "15550100002");
    assert_eq!(data["waba_id"], WABA);
    assert_eq!(data["is_phone_registered"], done["is_phone_registered"]);
    customer
        .find(|v| v["event"] == "channel.connected" && v["data"]["channel_id"] == channel_id)
        .await;

    // A used link cannot be used again.
    let page = app
        .http
        .get(app.url(&format!("/signup/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("already completed"), "{html}");
    assert!(!html.contains("Continue with Facebook"));
    let again = browser(&app)
        .post(app.url(&format!("/signup/{id}/start")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert!(again.text().await.unwrap().contains("already completed"));

    // A completed link stays: 409.
    let (s, v) = delete_link(&app, &key, &id).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["code"], "link_not_pending");
    assert!(!v["detail"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn facebook_link_without_redirect_url_ends_on_the_hosted_page() {
    let app = common::spawn_app().await;
    let (account, key) = app.account_with_key().await;
    let customer = spawn_customer().await;
    event_endpoint(&app, &key, &customer.url).await;

    // message.sent is WhatsApp's only.
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/onboarding-links",
        Some(
            json!({"name": "Shop", "channel_type": "facebook", "webhook_url": HOOK,
                    "webhook_events": ["message.sent"]}),
        ),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(v["code"], "invalid_event");
    assert!(v["detail"].as_str().unwrap().contains("message.sent"));

    let custom = "a-custom-secret-of-32-characters";
    let link = create(
        &app,
        &key,
        json!({"name": "Shop", "channel_type": "facebook", "webhook_url": HOOK,
               "webhook_events": ["message.received"], "webhook_secret": custom}),
    )
    .await;
    assert_eq!(
        link["webhook_secret"], custom,
        "a passed secret is echoed once"
    );
    assert!(link["external_id"].is_null());
    assert!(link["redirect_url"].is_null());
    let id = link["id"].as_str().unwrap().to_string();
    let hosted = link["hosted_url"].as_str().unwrap().to_string();
    let html = app
        .http
        .get(&hosted)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Facebook Page"), "{html}");

    let back = redirected(
        run_link(
            &app,
            &hosted,
            Dialog::Continue(&[PAGE_1, PAGE_2]),
            Some(PAGE_2),
        )
        .await,
    );
    assert_eq!(
        back.as_str(),
        hosted,
        "without redirect_url: back to the page"
    );
    let page = app.http.get(&hosted).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("already completed"), "{html}");
    assert!(
        html.contains("Facebook Page is connected to Acme"),
        "{html}"
    );

    let (_, done) = get_link(&app, &key, &id).await;
    assert_eq!(done["status"], "completed");
    let channel_id = done["channel_id"].as_str().unwrap().to_string();
    for f in [
        "phone_number_id",
        "phone_number",
        "waba_id",
        "is_phone_registered",
    ] {
        assert!(done[f].is_null(), "{f} is WhatsApp's: {done}");
    }
    let (_, ch) = call(
        &app,
        &key,
        "GET",
        &format!("/api/v1/channels/{channel_id}"),
        None,
    )
    .await;
    assert_eq!(ch["channel_type"], "facebook");
    assert_eq!(ch["page_id"], PAGE_2);
    assert_eq!(ch["webhook_url"], HOOK);
    assert_eq!(ch["webhook_events"], json!(["message.received"]));
    assert_eq!(
        channel_secret(&app, &account, &channel_id).await.as_deref(),
        Some(custom)
    );
    assert!(subscribed(&app, PAGE_2).await);
    // channel.connected fires; phone_number.connected is WhatsApp's only.
    customer
        .find(|v| v["event"] == "channel.connected" && v["data"]["channel_id"] == channel_id)
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !customer
            .bodies()
            .iter()
            .any(|v| v["event"] == "phone_number.connected"),
        "{:?}",
        customer.bodies()
    );
}

#[tokio::test]
async fn cancel_and_failures_report_errors_and_keep_the_link_pending() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;

    // With redirect_url: cancel → status=error with a short text.
    let link_a = create(
        &app,
        &key,
        json!({"name": "A", "external_id": "x1", "redirect_url": REDIRECT}),
    )
    .await;
    let id = link_a["id"].as_str().unwrap();
    let back = redirected(
        run_link(
            &app,
            link_a["hosted_url"].as_str().unwrap(),
            Dialog::Cancel,
            None,
        )
        .await,
    );
    assert!(back.as_str().starts_with(REDIRECT));
    assert_eq!(param(&back, "onboarding_link_id").as_deref(), Some(id));
    assert_eq!(param(&back, "external_id").as_deref(), Some("x1"));
    assert_eq!(param(&back, "status").as_deref(), Some("error"));
    assert!(param(&back, "error").unwrap().contains("cancelled"));
    let (_, v) = get_link(&app, &key, id).await;
    assert_eq!(
        v["status"], "pending",
        "a cancelled flow does not use the link"
    );

    // Without redirect_url: the page says it failed and offers to try again.
    let link = create(&app, &key, json!({"name": "B"})).await;
    let hosted = link["hosted_url"].as_str().unwrap();
    match run_link(&app, hosted, Dialog::Cancel, None).await {
        End::Page(200, html) => {
            assert!(html.contains("Connecting did not work"), "{html}");
            assert!(html.contains("cancelled"));
            assert!(html.contains("Try again"));
        }
        other => panic!("expected the failure page, got {other:?}"),
    }
    // And then it works.
    let back =
        redirected(run_link(&app, hosted, Dialog::Continue(&[PHONE_1]), Some(PHONE_1)).await);
    assert_eq!(back.as_str(), hosted);
    let (_, v) = get_link(&app, &key, link["id"].as_str().unwrap()).await;
    assert_eq!(v["status"], "completed");
    assert_eq!(v["phone_number_id"], PHONE_1);
    assert!(v["webhook_url"].is_null() && v["webhook_events"].is_null());

    // The first link again, for the second number: the trial's one WhatsApp
    // slot is taken, so the connect is refused and the link can be retried.
    let back = redirected(
        run_link(
            &app,
            link_a["hosted_url"].as_str().unwrap(),
            Dialog::Continue(&[PHONE_2]),
            Some(PHONE_2),
        )
        .await,
    );
    assert_eq!(param(&back, "status").as_deref(), Some("error"));
    assert!(param(&back, "error").unwrap().contains("license"), "{back}");
    let (_, v) = get_link(&app, &key, id).await;
    assert_eq!(v["status"], "pending");

    // Another account's link cannot take the same number.
    let (_, other) = app.account_with_key().await;
    let link = create(&app, &other, json!({"name": "C"})).await;
    match run_link(
        &app,
        link["hosted_url"].as_str().unwrap(),
        Dialog::Continue(&[PHONE_1]),
        Some(PHONE_1),
    )
    .await
    {
        End::Page(200, html) => {
            assert!(html.contains("already connected to another"), "{html}")
        }
        other => panic!("expected the failure page, got {other:?}"),
    }
    let (_, v) = get_link(&app, &other, link["id"].as_str().unwrap()).await;
    assert_eq!(v["status"], "pending");
}

#[tokio::test]
async fn reactivation_takes_the_links_webhook_settings() {
    let app = common::spawn_app().await;
    let (account, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let first = connect(
        &app,
        &key,
        "whatsapp",
        &[PHONE_1],
        Some(PHONE_1),
        json!({"webhook_url": "http://127.0.0.1:9/old", "webhook_events": ["message.read"]}),
    )
    .await;
    let channel_id = first["id"].as_str().unwrap().to_string();
    let (s, _) = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/channels/{channel_id}"),
        None,
    )
    .await;
    assert_eq!(s, 200);

    let link = create(
        &app,
        &key,
        json!({"name": "Again", "webhook_url": HOOK, "webhook_events": ["message.received"]}),
    )
    .await;
    let secret = link["webhook_secret"].as_str().unwrap().to_string();
    let back = redirected(
        run_link(
            &app,
            link["hosted_url"].as_str().unwrap(),
            Dialog::Continue(&[PHONE_1]),
            Some(PHONE_1),
        )
        .await,
    );
    assert!(back.path().starts_with("/signup/"));
    let (_, done) = get_link(&app, &key, link["id"].as_str().unwrap()).await;
    assert_eq!(done["channel_id"], channel_id, "reactivated in place");
    let (_, ch) = call(
        &app,
        &key,
        "GET",
        &format!("/api/v1/channels/{channel_id}"),
        None,
    )
    .await;
    assert_eq!(ch["is_active"], true);
    assert_eq!(ch["webhook_url"], HOOK);
    assert_eq!(ch["webhook_events"], json!(["message.received"]));
    assert_eq!(
        channel_secret(&app, &account, &channel_id).await.as_deref(),
        Some(secret.as_str()),
        "the link's secret replaced the old one"
    );
}

#[tokio::test]
async fn a_hold_left_by_a_stopped_process_expires() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let link = create(
        &app,
        &key,
        json!({"name": "Stuck", "redirect_url": REDIRECT}),
    )
    .await;
    let id = link["id"].as_str().unwrap().to_string();
    let hosted = app.url(&format!("/signup/{id}"));
    // A flow took the link and its process stopped before it finished.
    hold(&app, &id, app.state.now()).await;
    // Within the hold: busy, and not deletable.
    let page = app.http.get(&hosted).send().await.unwrap();
    assert_eq!(page.status(), 409);
    let (s, v) = delete_link(&app, &key, &id).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["code"], "link_not_pending");
    let (_, v) = get_link(&app, &key, &id).await;
    assert_eq!(v["status"], "pending");

    // After the hold time the link is open again, and an end user completes it.
    app.clock.advance(app::services::onboarding::HOLD_MS + 1000);
    let back =
        redirected(run_link(&app, &hosted, Dialog::Continue(&[PHONE_1]), Some(PHONE_1)).await);
    assert_eq!(param(&back, "status").as_deref(), Some("success"), "{back}");
    let (_, v) = get_link(&app, &key, &id).await;
    assert_eq!(v["status"], "completed");
}

#[tokio::test]
async fn a_stale_hold_can_be_deleted() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    let link = create(&app, &key, json!({"name": "Stuck"})).await;
    let id = link["id"].as_str().unwrap().to_string();
    hold(
        &app,
        &id,
        app.state.now() - app::services::onboarding::HOLD_MS - 1,
    )
    .await;
    let (s, v) = delete_link(&app, &key, &id).await;
    assert_eq!(s, 204, "{v}");
    let (s, _) = get_link(&app, &key, &id).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn expired_links() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    let short = create(&app, &key, json!({"name": "Soon", "expires_in_days": 1})).await;
    let long = create(&app, &key, json!({"name": "Later"})).await;
    app.clock.advance(2 * DAY);

    let id = short["id"].as_str().unwrap();
    let (_, v) = get_link(&app, &key, id).await;
    assert_eq!(v["status"], "expired");
    let (_, v) = get_link(&app, &key, long["id"].as_str().unwrap()).await;
    assert_eq!(v["status"], "pending");
    let (_, list) = call(&app, &key, "GET", "/api/v1/onboarding-links", None).await;
    assert_eq!(list["onboarding_links"][1]["status"], "expired", "{list}");

    let page = app
        .http
        .get(short["hosted_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 410);
    let html = page.text().await.unwrap();
    assert!(html.contains("expired"), "{html}");
    assert!(!html.contains("Continue with Facebook"));
    let start = browser(&app)
        .post(format!("{}/start", short["hosted_url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 410, "no setup starts from an expired link");

    let (s, v) = delete_link(&app, &key, id).await;
    assert_eq!(s, 409);
    assert_eq!(v["code"], "link_not_pending");
}

#[tokio::test]
async fn validation_errors_are_named() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (json!({}), 422, "validation_error", "name"),
        (json!({"name": "  "}), 400, "validation_error", "name"),
        (
            json!({"name": "x".repeat(121)}),
            400,
            "validation_error",
            "name",
        ),
        (json!({"name": 5}), 422, "validation_error", "name"),
        (
            json!({"name": "x", "color": "red"}),
            422,
            "validation_error",
            "color",
        ),
        (
            json!({"name": "x", "channel_type": "telegram"}),
            400,
            "validation_error",
            "channel_type",
        ),
        (
            json!({"name": "x", "external_id": "e".repeat(256)}),
            400,
            "validation_error",
            "external_id",
        ),
        (
            json!({"name": "x", "webhook_url": HOOK}),
            400,
            "validation_error",
            "webhook_events",
        ),
        (
            json!({"name": "x", "webhook_events": []}),
            400,
            "validation_error",
            "webhook_url",
        ),
        (
            json!({"name": "x", "webhook_secret": "s".repeat(20)}),
            400,
            "validation_error",
            "webhook_url",
        ),
        (
            json!({"name": "x", "webhook_url": HOOK, "webhook_events": ["message.nope"]}),
            400,
            "invalid_event",
            "message.nope",
        ),
        (
            json!({"name": "x", "webhook_url": HOOK, "webhook_events": [], "webhook_secret": "s".repeat(15)}),
            400,
            "invalid_webhook_secret",
            "16",
        ),
        (
            json!({"name": "x", "webhook_url": HOOK, "webhook_events": [], "webhook_secret": "s".repeat(257)}),
            400,
            "invalid_webhook_secret",
            "256",
        ),
        (
            json!({"name": "x", "webhook_url": "ftp://example.com/x", "webhook_events": []}),
            400,
            "invalid_webhook_url",
            "webhook",
        ),
        (
            json!({"name": "x", "redirect_url": "https://evil.example.com/cb"}),
            400,
            "redirect_uri_not_allowed",
            "evil.example.com",
        ),
        (
            json!({"name": "x", "expires_in_days": 0}),
            400,
            "validation_error",
            "expires_in_days",
        ),
        (
            json!({"name": "x", "expires_in_days": 366}),
            400,
            "validation_error",
            "expires_in_days",
        ),
    ];
    for (body, status, code, names) in cases {
        let (s, v) = call(
            &app,
            &key,
            "POST",
            "/api/v1/onboarding-links",
            Some(body.clone()),
        )
        .await;
        assert_eq!(s, status, "{body} → {v}");
        assert_eq!(v["code"], code, "{body} → {v}");
        assert!(
            v["detail"].as_str().unwrap().contains(names),
            "{body} → {v}"
        );
    }
    // A 256-character secret is fine through the API.
    let ok = create(
        &app,
        &key,
        json!({"name": "x", "webhook_url": HOOK, "webhook_events": [], "webhook_secret": "s".repeat(256)}),
    )
    .await;
    assert_eq!(ok["webhook_events"], json!([]));
    let bad_json = app
        .http
        .post(app.url("/api/v1/onboarding-links"))
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), 400);
    let v: Value = bad_json.json().await.unwrap();
    assert_eq!(v["code"], "invalid_json");

    for q in ["page=0", "limit=0", "limit=101", "page=abc", "limit=-5"] {
        let (s, v) = call(
            &app,
            &key,
            "GET",
            &format!("/api/v1/onboarding-links?{q}"),
            None,
        )
        .await;
        assert_eq!(s, 400, "{q} → {v}");
        assert_eq!(v["code"], "validation_error", "{q} → {v}");
    }
    // A key is needed.
    let res = app
        .http
        .get(app.url("/api/v1/onboarding-links"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // The document lists the endpoints.
    let doc: Value = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/onboarding-links"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/onboarding-links/{id}"]["delete"].is_object());
}

#[tokio::test]
async fn paging_deleting_and_tenant_isolation() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    let (_, other) = app.account_with_key().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let l = create(&app, &key, json!({"name": format!("link {n}")})).await;
        ids.push(l["id"].as_str().unwrap().to_string());
        app.clock.advance(1000);
    }
    let (s, p1) = call(
        &app,
        &key,
        "GET",
        "/api/v1/onboarding-links?page=1&limit=2",
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(p1["total"], 3);
    assert_eq!(p1["page"], 1);
    assert_eq!(p1["limit"], 2);
    let names: Vec<&str> = p1["onboarding_links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["link 2", "link 1"], "newest first");
    assert!(p1["onboarding_links"][0].get("webhook_secret").is_none());
    let (_, p2) = call(
        &app,
        &key,
        "GET",
        "/api/v1/onboarding-links?page=2&limit=2",
        None,
    )
    .await;
    assert_eq!(p2["onboarding_links"].as_array().unwrap().len(), 1);
    assert_eq!(p2["onboarding_links"][0]["name"], "link 0");
    let (_, p9) = call(&app, &key, "GET", "/api/v1/onboarding-links?page=9", None).await;
    assert_eq!(p9["onboarding_links"], json!([]));
    assert_eq!(p9["total"], 3);
    assert_eq!(p9["limit"], 50, "the default limit");

    // Another account sees none of them: 404, never 403.
    let (_, theirs) = call(&app, &other, "GET", "/api/v1/onboarding-links", None).await;
    assert_eq!(theirs["total"], 0);
    let (s, v) = get_link(&app, &other, &ids[0]).await;
    assert_eq!(s, 404);
    assert_eq!(v["code"], "not_found");
    let (s, _) = call(
        &app,
        &other,
        "DELETE",
        &format!("/api/v1/onboarding-links/{}", ids[0]),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = get_link(&app, &key, "not-a-uuid").await;
    assert_eq!(s, 404);

    // Deleting a pending link: 204, then it is gone, page included.
    let (s, _) = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/onboarding-links/{}", ids[0]),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = get_link(&app, &key, &ids[0]).await;
    assert_eq!(s, 404);
    let page = app
        .http
        .get(app.url(&format!("/signup/{}", ids[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    assert!(page.text().await.unwrap().contains("not valid"));
    let qr = app
        .http
        .get(app.url(&format!("/signup/{}/qr.svg", ids[1])))
        .send()
        .await
        .unwrap();
    assert_eq!(qr.status(), 200);
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");
    assert!(qr.text().await.unwrap().contains("<svg"));
}

#[tokio::test]
async fn onboarding_links_need_the_pro_tier() {
    let app = common::spawn_app().await;
    let (account, key) = app.account_with_key().await;
    let pending = create(&app, &key, json!({"name": "Before"})).await;
    let until = app.state.now() + 30 * DAY;
    app::services::licenses::grant(&app.state, &account, Tier::Starter, until, 1)
        .await
        .unwrap();
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/onboarding-links",
        Some(json!({"name": "After"})),
    )
    .await;
    assert_eq!(s, 402, "{v}");
    assert_eq!(v["code"], "plan_required");
    // Existing links can still be read; their page is not usable.
    let (s, _) = get_link(&app, &key, pending["id"].as_str().unwrap()).await;
    assert_eq!(s, 200);
    let page = app
        .http
        .get(pending["hosted_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 402);
    assert!(page.text().await.unwrap().contains("not available"));
}

/// A `multipart/form-data` body with one file field `logo`, as a browser sends it.
fn multipart(bytes: &[u8], mime: &str) -> (String, Vec<u8>) {
    let boundary = "----switchboard-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo\"\r\nContent-Type: {mime}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn account_logo_upload_and_hosted_page() {
    let app = common::spawn_app().await;
    app.sign_up("logo@example.com", "correct horse battery", "Logo Co")
        .await;
    let png: Vec<u8> = [
        &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a][..],
        &[0u8; 64][..],
    ]
    .concat();
    let upload = |bytes: Vec<u8>, mime: &'static str| {
        let (ct, body) = multipart(&bytes, mime);
        app.browser
            .post(app.url("/onboarding/logo"))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let res = upload(
        b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
        "image/svg+xml",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/onboarding?logo=bad_type#branding");
    let res = upload(vec![0x89; 300 * 1024], "image/png").await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).contains("logo=too_large"),
        "{}",
        location(&res)
    );
    let res = upload(png.clone(), "image/png").await.unwrap();
    assert_eq!(location(&res), "/onboarding?logo=saved#branding");

    // Without a session the form goes to the login page.
    let (ct, body) = multipart(&png, "image/png");
    let anon = app
        .http
        .post(app.url("/onboarding/logo"))
        .header("origin", &app.base)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&anon), "/login");

    let branding: Value = app
        .rpc("onboarding_branding", &[])
        .await
        .json()
        .await
        .unwrap();
    let logo_url = branding["logo_url"].as_str().unwrap().to_string();
    let res = app.http.get(app.url(&logo_url)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.bytes().await.unwrap().to_vec(), png);

    // The Portal creates a link; its hosted page shows the logo.
    let res = app
        .rpc(
            "create_onboarding_link",
            &[
                ("name", "Corner Shop"),
                ("external_id", ""),
                ("channel_type", "instagram"),
                ("redirect_url", ""),
                ("webhook_url", HOOK),
                ("events[]", "message.received"),
                ("webhook_secret", ""),
                ("expires_in_days", "7"),
            ],
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let link: Value = res.json().await.unwrap();
    assert!(is_hex64(link["webhook_secret"].as_str().unwrap()));
    assert_eq!(link["webhook_events"], json!(["message.received"]));
    assert!(link["external_id"].is_null());
    let html = app
        .http
        .get(link["hosted_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("src=\"{logo_url}\"")), "{html}");
    assert!(html.contains("Logo Co"));
    assert!(html.contains("Instagram professional account"));

    // The Portal's custom secret is 16–64.
    let res = app
        .rpc(
            "create_onboarding_link",
            &[
                ("name", "Long"),
                ("external_id", ""),
                ("channel_type", "whatsapp"),
                ("redirect_url", ""),
                ("webhook_url", HOOK),
                ("webhook_secret", &"s".repeat(65)),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("16 to 64"));

    let list: Value = app
        .rpc("list_onboarding_links", &[("page", "1")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    let res = app.rpc("remove_logo", &[]).await;
    assert!(res.status().is_success());
    let res = app.http.get(app.url(&logo_url)).send().await.unwrap();
    assert_eq!(res.status(), 404);
}
