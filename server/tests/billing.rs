//! Licenses and billing (SPEC §7): the trial and its end, held deliveries
//! released by a sandbox checkout, tiers, slots, operator grants, and the
//! Stripe provider against a local fake of the Stripe endpoints it uses.

mod common;
mod connect_support;
mod relay_support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::clock::DAY_MS;
use app::domain::Me;
use app::domain::billing::Tier;
use app::services::{billing, licenses};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use connect_support::*;
use relay_support::*;
use serde_json::{Value, json};

/// A verified owner of a new account, as the Portal sees them, and an API key.
async fn owner(app: &common::TestApp) -> (Me, String) {
    let email = format!("owner-{}@example.com", app::crypto::random_hex(4));
    let created = app::services::accounts::create_verified(
        &app.state,
        &email,
        "correct horse battery",
        "Acme",
    )
    .await
    .unwrap();
    let key = app::services::keys::create(&app.state, &created.account.id, "test", None)
        .await
        .unwrap();
    let me = app::services::accounts::me(&app.state, &created.user.id, &created.account.id)
        .await
        .unwrap()
        .unwrap();
    (me, key.secret)
}

async fn channel(app: &common::TestApp, key: &str, id: &str) -> Value {
    let (s, v) = call(app, key, "GET", &format!("/api/v1/channels/{id}"), None).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Pays (or declines) a sandbox checkout page like a browser.
async fn sandbox_checkout(
    app: &common::TestApp,
    url: &str,
    action: &str,
    tier: &str,
    quantity: &str,
) -> reqwest::Response {
    let page = app.browser.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"pay\"") && html.contains("id=\"decline\""));
    app.browser
        .post(url)
        .form(&[("tier", tier), ("quantity", quantity), ("action", action)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_trial_is_a_pro_license_that_expires_and_then_connects_are_refused() {
    let app = common::spawn_app().await;
    let (me, key) = owner(&app).await;
    allow_redirect(&app, &key).await;
    let ch = connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    let id = ch["id"].as_str().unwrap();
    let sub = &ch["subscription"];
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["source"], "trial");
    assert_eq!(sub["tier"], "pro");
    assert_eq!(sub["auto_renew"], false);

    let o = billing::overview(&app.state, &me).await.unwrap();
    let trial = o.trial.clone().unwrap();
    assert!(trial.active && trial.days_left == 7, "{trial:?}");
    assert!(o.warning.is_none());
    assert_eq!(o.usage[0].tier, Tier::Pro);
    assert_eq!((o.usage[0].used, o.usage[0].total), (1, 1));
    assert_eq!(o.channels[0].license.as_deref(), Some("L1"));

    // Two days before the end, the page warns and says what stops and what is kept.
    app.clock.advance(5 * DAY_MS + 60_000);
    let o = billing::overview(&app.state, &me).await.unwrap();
    let w = o.warning.unwrap();
    assert_eq!(w.kind, "ending");
    assert!(
        w.text.contains("held") && w.text.contains("stored"),
        "{w:?}"
    );

    // The trial is over.
    app.clock.advance(3 * DAY_MS);
    let v = channel(&app, &key, id).await;
    assert_eq!(v["subscription"]["status"], "expired");
    assert_eq!(v["subscription"]["source"], "trial");
    assert_eq!(v["subscription"]["auto_renew"], false);
    let o = billing::overview(&app.state, &me).await.unwrap();
    assert_eq!(o.status, "expired");
    let w = o.warning.unwrap();
    assert_eq!(w.kind, "over");
    assert!(w.title.contains("sending and delivering are stopped"));
    assert!(o.usage.is_empty());
    assert_eq!(o.channels[0].license, None);

    // Connecting is refused: 402 through the API, setup_failed in the hosted flow.
    let own = customer_app(&app).await;
    let token = own.token;
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/channels/manual",
        Some(
            json!({"channel_type": "whatsapp", "waba_id": WABA, "access_token": token,
            "app_secret": own.app_secret, "verify_token": "own-verify-token",
            "phone_number": "15550100002"}),
        ),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (402, Some("subscription_required")),
        "{v}"
    );
    let setup = setup_url(&app, &key, "facebook").await;
    let back = run(&app, &setup, Dialog::Continue(&[PAGE_1]), None).await;
    assert_eq!(param(&back, "error").as_deref(), Some("setup_failed"));
    let err = licenses::require_tier(&app.state, &me.account_id, Tier::Starter)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status().as_u16(), err.code()),
        (402, "subscription_required")
    );
}

#[tokio::test]
async fn held_deliveries_go_out_in_order_after_a_sandbox_checkout() {
    let app = common::spawn_app().await;
    let endpoint = spawn_endpoint(Answer::Status(200)).await;
    // Signed up through the Portal, so the Subscribe form is posted as a browser would.
    app.sign_up("payer@example.com", "correct horse battery", "Payer")
        .await;
    let me: Value = app.rpc("me", &[]).await.json().await.unwrap();
    let account = me["account_id"].as_str().unwrap().to_string();
    let key = app::services::keys::create(&app.state, &account, "k", None)
        .await
        .unwrap()
        .secret;
    allow_redirect(&app, &key).await;
    let ch = connect(
        &app,
        &key,
        "whatsapp",
        &[PHONE_1],
        Some(PHONE_1),
        json!({"webhook_url": endpoint.url, "webhook_events": ["message.received"]}),
    )
    .await;
    let ch = ch["id"].as_str().unwrap().to_string();

    app.clock.advance(8 * DAY_MS);
    let held = licenses::entitlement(&app.state, &account)
        .await
        .unwrap()
        .licenses
        == 0;
    assert!(held, "the trial is over");
    let mut ids = vec![];
    for i in 0..3 {
        let (_, d) = channel_event(
            &app,
            &account,
            &ch,
            "message.received",
            text_message("15550100001", &format!("held {i}")),
            held,
        )
        .await;
        ids.push(d);
    }
    endpoint.stays_at(0, 500).await;
    assert_eq!(delivery(&app, &ids[0]).await.status, "held");

    // Subscribe: the form post is answered with a redirect to the checkout page.
    let res = app
        .browser
        .post(app.url("/rpc/billing_checkout"))
        .header("accept", "text/html")
        .form(&[("tier", "starter"), ("quantity", "2")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let checkout = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        checkout.contains("/billing/sandbox/checkout/sbcs_"),
        "{checkout}"
    );

    // Decline first: a clear message, nothing bought, nothing released.
    let res = sandbox_checkout(&app, &checkout, "decline", "starter", "2").await;
    assert_eq!(res.status(), 402);
    let html = res.text().await.unwrap();
    assert!(html.contains("Payment declined") && html.contains("No license was created"));
    endpoint.stays_at(0, 300).await;

    // A bad quantity is explained on the page.
    let res = sandbox_checkout(&app, &checkout, "pay", "starter", "0").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("quantity"));

    // Pay.
    let res = sandbox_checkout(&app, &checkout, "pay", "pro", "2").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/billing?checkout=success");
    let hits = endpoint.wait_for(3).await;
    let texts: Vec<String> = hits
        .iter()
        .map(|h| h.json()["data"]["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, vec!["held 0", "held 1", "held 2"]);

    // The session cannot be paid twice.
    let again = app
        .browser
        .post(&checkout)
        .form(&[("tier", "pro"), ("quantity", "2"), ("action", "pay")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 410);

    let v = channel(&app, &key, &ch).await;
    assert_eq!(v["subscription"]["status"], "active");
    assert_eq!(v["subscription"]["source"], "stripe");
    assert_eq!(v["subscription"]["tier"], "pro");
    assert_eq!(v["subscription"]["auto_renew"], true);

    let overview: Value = app.rpc("billing_overview", &[]).await.json().await.unwrap();
    assert_eq!(overview["status"], "active");
    assert_eq!(overview["usage"][0]["total"], 2);
    assert_eq!(overview["usage"][0]["used"], 1);
    assert_eq!(overview["invoices"][0]["amount"], "USD 98.00");
    assert_eq!(overview["invoices"][0]["status"], "paid");
    let paid = overview["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["source"] == "stripe")
        .unwrap()
        .clone();
    assert_eq!(paid["manageable"], true);

    // Change the quantity and cancel at period end from the Portal.
    let license_id = paid["id"].as_str().unwrap();
    let res = app
        .rpc(
            "billing_quantity",
            &[("license_id", license_id), ("quantity", "3")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .rpc(
            "billing_cancel",
            &[("license_id", license_id), ("cancel", "true")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let l: Value = res.json().await.unwrap();
    assert_eq!(
        (l["quantity"].as_i64(), l["auto_renew"].as_bool()),
        (Some(3), Some(false))
    );
    let res = app
        .rpc(
            "billing_quantity",
            &[("license_id", license_id), ("quantity", "many")],
        )
        .await;
    assert_eq!(res.status(), 400);

    // A canceled subscription ends with its period and does not renew.
    app.clock.advance(31 * DAY_MS);
    let v = channel(&app, &key, &ch).await;
    assert_eq!(v["subscription"]["status"], "expired");
}

#[tokio::test]
async fn sandbox_subscriptions_renew_and_write_invoices() {
    let app = common::spawn_app().await;
    let (me, _) = owner(&app).await;
    let url = billing::start_checkout(&app.state, &me, "starter", "1")
        .await
        .unwrap();
    let res = sandbox_checkout(&app, &url, "pay", "starter", "1").await;
    assert_eq!(res.status(), 303);
    // A second starter subscription is refused: change the quantity instead.
    let err = billing::start_checkout(&app.state, &me, "starter", "1")
        .await
        .unwrap_err();
    assert_eq!(
        (err.status().as_u16(), err.code()),
        (409, "already_subscribed")
    );
    app.clock.advance(61 * DAY_MS);
    let ent = licenses::entitlement(&app.state, &me.account_id)
        .await
        .unwrap();
    assert_eq!(ent.licenses, 1);
    assert_eq!(ent.view.status, "active");
    let n = app::store::billing::count_invoices(&app.state.db, &me.account_id)
        .await
        .unwrap();
    assert_eq!(n, 3, "the first payment and two renewals");
    // The customer portal lowers nothing below what active channels need.
    let portal = billing::open_portal(&app.state, &me).await.unwrap();
    let page = app.browser.get(&portal).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Cancel at period end"));
    let license = ent.rows.iter().find(|l| l.source == "stripe").unwrap();
    let res = app
        .browser
        .post(&portal)
        .form(&[("license", license.id.as_str()), ("action", "cancel")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let ent = licenses::entitlement(&app.state, &me.account_id)
        .await
        .unwrap();
    assert!(!ent.view.auto_renew);
    // A member may look but not buy.
    let mut member = me.clone();
    member.role = app::domain::Role::Member;
    let err = billing::start_checkout(&app.state, &member, "pro", "1")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "forbidden_role");
    assert!(
        !billing::overview(&app.state, &member)
            .await
            .unwrap()
            .can_manage
    );
}

#[tokio::test]
async fn a_starter_license_is_refused_pro_features() {
    let app = common::spawn_app().await;
    let (me, key) = owner(&app).await;
    allow_redirect(&app, &key).await;
    let until = app.state.now() + 30 * DAY_MS;
    licenses::grant(&app.state, &me.account_id, Tier::Starter, until, 1)
        .await
        .unwrap();
    // The grant replaced the trial.
    let ent = licenses::entitlement(&app.state, &me.account_id)
        .await
        .unwrap();
    assert_eq!((ent.licenses, ent.tier), (1, Some(Tier::Starter)));
    let trial = ent.rows.iter().find(|l| l.source == "trial").unwrap();
    assert_eq!(trial.state(ent.now), "canceled");

    licenses::require_tier(&app.state, &me.account_id, Tier::Starter)
        .await
        .unwrap();
    let err = licenses::require_tier(&app.state, &me.account_id, Tier::Pro)
        .await
        .unwrap_err();
    assert_eq!((err.status().as_u16(), err.code()), (402, "plan_required"));
    assert!(err.public_detail().contains("pro"));

    let ch = connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    let id = ch["id"].as_str().unwrap();
    assert_eq!(ch["subscription"]["source"], "enterprise");
    assert_eq!(ch["subscription"]["tier"], "starter");
    let err = licenses::require_channel_tier(&app.state, &me.account_id, id, Tier::Pro)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "plan_required");
}

#[tokio::test]
async fn a_fourth_channel_of_one_type_needs_a_fourth_license_and_each_channel_shows_its_own() {
    let app = common::spawn_app().await;
    let (me, key) = owner(&app).await;
    allow_redirect(&app, &key).await;
    // One paid starter license (sandbox), then two granted pro licenses: three in all.
    let url = billing::start_checkout(&app.state, &me, "starter", "1")
        .await
        .unwrap();
    assert_eq!(
        sandbox_checkout(&app, &url, "pay", "starter", "1")
            .await
            .status(),
        303
    );
    licenses::grant(
        &app.state,
        &me.account_id,
        Tier::Pro,
        app.state.now() + 90 * DAY_MS,
        2,
    )
    .await
    .unwrap();
    let (s, added) = app
        .http
        .post(app.url("/sandbox/api/assets"))
        .json(&json!({"kind": "page"}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(s, 201);
    let added: Value = added.json().await.unwrap();
    let page_3 = added["assets"][0]["id"].as_str().unwrap().to_string();
    let res = app
        .http
        .post(app.url("/sandbox/api/assets"))
        .json(&json!({"kind": "page"}))
        .send()
        .await
        .unwrap();
    let added: Value = res.json().await.unwrap();
    let page_4 = added["assets"][0]["id"].as_str().unwrap().to_string();

    let mut ids = vec![];
    for page in [PAGE_1, PAGE_2, page_3.as_str()] {
        let v = connect(&app, &key, "facebook", &[page], None, json!({})).await;
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    // Channels take licenses in connection order.
    let first = channel(&app, &key, &ids[0]).await;
    assert_eq!(first["subscription"]["source"], "stripe");
    assert_eq!(first["subscription"]["tier"], "starter");
    let third = channel(&app, &key, &ids[2]).await;
    assert_eq!(third["subscription"]["source"], "enterprise");
    assert_eq!(third["subscription"]["tier"], "pro");
    let o = billing::overview(&app.state, &me).await.unwrap();
    let labels: Vec<Option<String>> = o.channels.iter().map(|c| c.license.clone()).collect();
    assert_eq!(
        labels,
        vec![
            Some("L2".into()),
            Some("L3 #1".into()),
            Some("L3 #2".into())
        ]
    );

    // The fourth Page is refused, in the hosted flow and by the rule itself.
    let setup = setup_url(&app, &key, "facebook").await;
    let back = run(&app, &setup, Dialog::Continue(&[page_4.as_str()]), None).await;
    assert_eq!(param(&back, "error").as_deref(), Some("setup_failed"));
    assert!(param(&back, "message").unwrap().contains("license"));
    let err = licenses::require_slot(
        &app.state,
        &me.account_id,
        app::domain::ChannelType::Facebook,
    )
    .await
    .unwrap_err();
    assert_eq!(
        (err.status().as_u16(), err.code()),
        (402, "license_limit_reached")
    );
    // Other types still have their three slots.
    licenses::require_slot(
        &app.state,
        &me.account_id,
        app::domain::ChannelType::Whatsapp,
    )
    .await
    .unwrap();
    // Fewer licenses than active channels of one type is refused.
    let paid = o.licenses.iter().find(|l| l.manageable).unwrap();
    let err = billing::change_quantity(&app.state, &me.account_id, &paid.id, "1")
        .await
        .map(|_| ());
    assert!(err.is_ok(), "unchanged quantity is fine");
    let ent = licenses::entitlement(&app.state, &me.account_id)
        .await
        .unwrap();
    let grant = ent.rows.iter().find(|l| l.source == "enterprise").unwrap();
    let err = billing::change_quantity(&app.state, &me.account_id, &grant.id, "1")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "subscription_not_active");
}

#[tokio::test]
async fn grant_license_from_the_command_line() {
    let app = common::spawn_app().await;
    let (me, _) = owner(&app).await;
    let cfg = &app.state.config;
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["admin", "grant-license"])
            .args(args)
            .env("SWITCHBOARD_DATABASE_URL", &cfg.database_url)
            .env("SWITCHBOARD_DATA_DIR", data.path())
            .env("SWITCHBOARD_LOG_FORMAT", "pretty")
            .output()
            .unwrap()
    };
    let out = run(&[
        "--account",
        &me.account_id,
        "--tier",
        "pro",
        "--until",
        "2099-12-31",
        "--quantity",
        "5",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("expires_at=2100-01-01T00:00:00Z"),
        "{stdout}"
    );
    let ent = licenses::entitlement(&app.state, &me.account_id)
        .await
        .unwrap();
    assert_eq!((ent.licenses, ent.tier), (5, Some(Tier::Pro)));
    assert_eq!(ent.view.source.as_deref(), Some("enterprise"));

    // Granting the same tier again replaces quantity and end.
    let out = run(&[
        "--account",
        &me.account_id,
        "--tier",
        "pro",
        "--until",
        "2099-06-30T12:00:00Z",
        "--quantity",
        "2",
    ]);
    assert!(out.status.success());
    let ent = licenses::entitlement(&app.state, &me.account_id)
        .await
        .unwrap();
    assert_eq!(ent.licenses, 2);
    assert_eq!(
        ent.rows.iter().filter(|l| l.source == "enterprise").count(),
        1
    );

    // Bad input says what is wrong.
    for (args, needle) in [
        (
            vec![
                "--account",
                "nobody",
                "--tier",
                "pro",
                "--until",
                "2099-01-01",
            ],
            "account not found",
        ),
        (
            vec![
                "--account",
                &me.account_id,
                "--tier",
                "gold",
                "--until",
                "2099-01-01",
            ],
            "--tier",
        ),
        (
            vec![
                "--account",
                &me.account_id,
                "--tier",
                "pro",
                "--until",
                "soon",
            ],
            "--until",
        ),
        (
            vec![
                "--account",
                &me.account_id,
                "--tier",
                "pro",
                "--until",
                "2001-01-01",
            ],
            "not in the future",
        ),
    ] {
        let out = run(&args);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{needle} not in {err}");
    }
    let err = licenses::grant(
        &app.state,
        &me.account_id,
        Tier::Pro,
        app.state.now() + DAY_MS,
        0,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "validation_error");
}

// ---- Stripe -----------------------------------------------------------------

/// One request to the fake: "METHOD path", form fields, Authorization header.
type Call = (String, HashMap<String, String>, String);

#[derive(Clone, Default)]
struct FakeStripe {
    /// (method path, form fields, authorization header)
    calls: Arc<Mutex<Vec<Call>>>,
    period_end: i64,
}

impl FakeStripe {
    fn calls(&self, path: &str) -> Vec<HashMap<String, String>> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.0 == path)
            .map(|c| c.1.clone())
            .collect()
    }
    fn record(&self, what: String, headers: &HeaderMap, body: &[u8]) {
        let form = url::form_urlencoded::parse(body).into_owned().collect();
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        self.calls.lock().unwrap().push((what, form, auth));
    }
    fn subscription(&self, id: &str, quantity: i64, cancel: bool) -> Value {
        json!({
            "id": id, "object": "subscription", "status": "active", "customer": "cus_fake1",
            "cancel_at_period_end": cancel, "start_date": self.period_end - 30 * 86_400,
            "metadata": {"tier": "pro"},
            "items": {"object": "list", "data": [{
                "id": "si_fake1", "object": "subscription_item", "quantity": quantity,
                "current_period_start": self.period_end - 30 * 86_400,
                "current_period_end": self.period_end,
                "price": {"id": "price_pro_fake", "object": "price"}
            }]}
        })
    }
}

async fn fake_checkout(
    State(f): State<FakeStripe>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<Value> {
    f.record("POST /v1/checkout/sessions".into(), &headers, &body);
    axum::Json(json!({"id": "cs_test_fake1", "object": "checkout.session",
        "url": "https://checkout.stripe.test/c/pay/cs_test_fake1"}))
}

async fn fake_get_subscription(
    State(f): State<FakeStripe>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> axum::Json<Value> {
    f.record(format!("GET /v1/subscriptions/{id}"), &headers, b"");
    axum::Json(f.subscription(&id, 2, false))
}

async fn fake_update_subscription(
    State(f): State<FakeStripe>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<Value> {
    f.record(format!("POST /v1/subscriptions/{id}"), &headers, &body);
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let q = form
        .get("items[0][quantity]")
        .and_then(|q| q.parse().ok())
        .unwrap_or(2);
    let cancel = form.get("cancel_at_period_end").map(String::as_str) == Some("true");
    axum::Json(f.subscription(&id, q, cancel))
}

async fn fake_portal(
    State(f): State<FakeStripe>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<Value> {
    f.record("POST /v1/billing_portal/sessions".into(), &headers, &body);
    axum::Json(json!({"id": "bps_fake1", "url": "https://billing.stripe.test/p/session/fake1"}))
}

async fn spawn_fake_stripe(period_end: i64) -> (FakeStripe, String) {
    let fake = FakeStripe {
        period_end,
        ..Default::default()
    };
    let router = axum::Router::new()
        .route("/v1/checkout/sessions", axum::routing::post(fake_checkout))
        .route(
            "/v1/subscriptions/{id}",
            axum::routing::get(fake_get_subscription).post(fake_update_subscription),
        )
        .route(
            "/v1/billing_portal/sessions",
            axum::routing::post(fake_portal),
        )
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (fake, format!("http://{addr}"))
}

const WHSEC: &str = "whsec_fake_signing_secret";

async fn post_event(
    app: &common::TestApp,
    event: &Value,
    signature: Option<String>,
) -> (u16, Value) {
    let body = serde_json::to_vec(event).unwrap();
    let t = app.state.now() / 1000;
    let sig =
        signature.unwrap_or_else(|| format!("t={t},v1={}", billing::stripe::sign(WHSEC, t, &body)));
    let res = app
        .http
        .post(app.url("/webhooks/stripe"))
        .header("stripe-signature", sig)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn stripe_checkout_signed_webhooks_replays_and_cancellation() {
    let period_end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 30 * 86_400;
    let (fake, base) = spawn_fake_stripe(period_end).await;
    let app = common::spawn_app_with(&[
        ("SWITCHBOARD_BILLING_PROVIDER", "stripe"),
        ("SWITCHBOARD_STRIPE_API_BASE", base.as_str()),
        ("SWITCHBOARD_STRIPE_SECRET_KEY", "sk_test_fake"),
        ("SWITCHBOARD_STRIPE_WEBHOOK_SECRET", WHSEC),
        ("SWITCHBOARD_STRIPE_PRICE_STARTER", "price_starter_fake"),
        ("SWITCHBOARD_STRIPE_PRICE_PRO", "price_pro_fake"),
    ])
    .await;
    let (me, _) = owner(&app).await;

    // Checkout Session with the right form fields.
    let url = billing::start_checkout(&app.state, &me, "pro", "2")
        .await
        .unwrap();
    assert_eq!(url, "https://checkout.stripe.test/c/pay/cs_test_fake1");
    let sent = fake.calls("POST /v1/checkout/sessions");
    let f = &sent[0];
    assert_eq!(f["mode"], "subscription");
    assert_eq!(f["line_items[0][price]"], "price_pro_fake");
    assert_eq!(f["line_items[0][quantity]"], "2");
    assert_eq!(f["client_reference_id"], me.account_id);
    assert_eq!(f["metadata[account_id]"], me.account_id);
    assert_eq!(f["subscription_data[metadata][tier]"], "pro");
    assert_eq!(f["customer_email"], me.email);
    assert!(f["success_url"].ends_with("/billing?checkout=success"));
    assert!(f["cancel_url"].ends_with("/billing?checkout=canceled"));
    let auth = fake.calls.lock().unwrap()[0].2.clone();
    assert_eq!(auth, "Bearer sk_test_fake");

    // Nothing is active until Stripe says so.
    let ent = licenses::entitlement(&app.state, &me.account_id)
        .await
        .unwrap();
    assert_eq!(ent.view.source.as_deref(), Some("trial"));

    let completed = json!({
        "id": "evt_fake_completed", "object": "event", "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_test_fake1", "object": "checkout.session", "mode": "subscription",
            "client_reference_id": me.account_id, "customer": "cus_fake1",
            "subscription": "sub_fake1", "metadata": {"account_id": me.account_id, "tier": "pro"}}}
    });

    // Bad signatures: 400, nothing recorded.
    let (s, v) = post_event(&app, &completed, Some("t=1,v1=00".into())).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("invalid_signature")),
        "{v}"
    );
    let t = app.state.now() / 1000;
    let body = serde_json::to_vec(&completed).unwrap();
    let wrong_secret = format!(
        "t={t},v1={}",
        billing::stripe::sign("whsec_other", t, &body)
    );
    let (s, _) = post_event(&app, &completed, Some(wrong_secret)).await;
    assert_eq!(s, 400);
    let stale = t - 301;
    let stale = format!(
        "t={stale},v1={}",
        billing::stripe::sign(WHSEC, stale, &body)
    );
    let (s, v) = post_event(&app, &completed, Some(stale)).await;
    assert_eq!(s, 400);
    assert!(v["detail"].as_str().unwrap().contains("300 s"));
    let res = app
        .http
        .post(app.url("/webhooks/stripe"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let ent = licenses::entitlement(&app.state, &me.account_id)
        .await
        .unwrap();
    assert_eq!(ent.view.source.as_deref(), Some("trial"));

    // The signed event: the subscription is read from Stripe and becomes 2 pro licenses.
    let (s, v) = post_event(&app, &completed, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["duplicate"], false);
    assert_eq!(fake.calls("GET /v1/subscriptions/sub_fake1").len(), 1);
    let ent = licenses::entitlement(&app.state, &me.account_id)
        .await
        .unwrap();
    assert_eq!((ent.licenses, ent.tier), (2, Some(Tier::Pro)));
    assert_eq!(ent.view.source.as_deref(), Some("stripe"));
    assert!(ent.view.auto_renew);
    assert_eq!(
        ent.view.expires_at,
        Some(app::clock::rfc3339(period_end * 1000))
    );
    assert_eq!(
        app::store::billing::customer_of(&app.state.db, &me.account_id, "stripe")
            .await
            .unwrap()
            .as_deref(),
        Some("cus_fake1")
    );

    // A replayed event id is acknowledged and ignored.
    let (s, v) = post_event(&app, &completed, None).await;
    assert_eq!((s, v["duplicate"].as_bool()), (200, Some(true)));
    assert_eq!(
        fake.calls("GET /v1/subscriptions/sub_fake1").len(),
        1,
        "not even read again"
    );
    let ent = licenses::entitlement(&app.state, &me.account_id)
        .await
        .unwrap();
    assert_eq!(ent.rows.iter().filter(|l| l.source == "stripe").count(), 1);

    // invoice.paid (API 2025-03-31 shape) is listed.
    let invoice = json!({
        "id": "evt_fake_invoice", "type": "invoice.paid",
        "data": {"object": {"id": "in_fake1", "object": "invoice", "customer": "cus_fake1",
            "number": "FAKE-0001", "status": "paid", "amount_paid": 9800, "amount_due": 9800,
            "currency": "usd", "created": period_end - 30 * 86_400,
            "hosted_invoice_url": "https://invoice.stripe.test/i/fake1",
            "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_fake1"}},
            "lines": {"data": [{"description": "2 × Pro", "period": {"start": period_end - 30 * 86_400, "end": period_end}}]}}}
    });
    assert_eq!(post_event(&app, &invoice, None).await.0, 200);
    let o = billing::overview(&app.state, &me).await.unwrap();
    assert_eq!(o.invoices.len(), 1);
    assert_eq!(o.invoices[0].amount, "USD 98.00");
    assert_eq!(o.invoices[0].number.as_deref(), Some("FAKE-0001"));
    assert_eq!(
        o.invoices[0].url.as_deref(),
        Some("https://invoice.stripe.test/i/fake1")
    );

    // A failed payment mails the owner and keeps the licenses until the period ends.
    let failed = json!({"id": "evt_fake_failed", "type": "invoice.payment_failed",
        "data": {"object": {"id": "in_fake2", "customer": "cus_fake1", "subscription": "sub_fake1",
            "amount_due": 9800, "currency": "usd", "status": "open"}}});
    assert_eq!(post_event(&app, &failed, None).await.0, 200);
    let mail = app.last_mail_to(&me.email).await;
    assert!(mail.subject.contains("Payment"), "{}", mail.subject);
    assert_eq!(
        licenses::entitlement(&app.state, &me.account_id)
            .await
            .unwrap()
            .licenses,
        2
    );

    // Quantity from Stripe's side (its own portal).
    let mut updated = fake.subscription("sub_fake1", 3, false);
    updated["metadata"] = json!({});
    let ev = json!({"id": "evt_fake_updated", "type": "customer.subscription.updated",
        "data": {"object": updated}});
    assert_eq!(post_event(&app, &ev, None).await.0, 200);
    assert_eq!(
        licenses::entitlement(&app.state, &me.account_id)
            .await
            .unwrap()
            .licenses,
        3
    );

    // Cancel at period end from the Portal goes to Stripe.
    let ent = licenses::entitlement(&app.state, &me.account_id)
        .await
        .unwrap();
    let lic = ent
        .rows
        .iter()
        .find(|l| l.source == "stripe")
        .unwrap()
        .id
        .clone();
    let v = billing::set_cancel_as(&app.state, &me, &lic, true)
        .await
        .unwrap();
    assert!(!v.auto_renew);
    let sent = fake.calls("POST /v1/subscriptions/sub_fake1");
    assert_eq!(sent.last().unwrap()["cancel_at_period_end"], "true");
    // And the quantity.
    billing::change_quantity_as(&app.state, &me, &lic, "4")
        .await
        .unwrap();
    let sent = fake.calls("POST /v1/subscriptions/sub_fake1");
    let last = sent.last().unwrap();
    assert_eq!(
        (
            last["items[0][id]"].as_str(),
            last["items[0][quantity]"].as_str()
        ),
        ("si_fake1", "4")
    );
    // The customer portal is Stripe's.
    let portal = billing::open_portal(&app.state, &me).await.unwrap();
    assert_eq!(portal, "https://billing.stripe.test/p/session/fake1");
    assert_eq!(
        fake.calls("POST /v1/billing_portal/sessions")[0]["customer"],
        "cus_fake1"
    );

    // Deleted: no license any more; the sandbox pages are off.
    let mut gone = fake.subscription("sub_fake1", 4, true);
    gone["status"] = json!("canceled");
    let ev = json!({"id": "evt_fake_deleted", "type": "customer.subscription.deleted",
        "data": {"object": gone}});
    assert_eq!(post_event(&app, &ev, None).await.0, 200);
    let ent = licenses::entitlement(&app.state, &me.account_id)
        .await
        .unwrap();
    assert_eq!(ent.licenses, 0);
    assert_eq!(ent.view.status, "canceled");
    let res = app
        .browser
        .get(app.url("/billing/sandbox/checkout/sbcs_x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // Not JSON, but signed: 400, not 500.
    let t = app.state.now() / 1000;
    let res = app
        .http
        .post(app.url("/webhooks/stripe"))
        .header(
            "stripe-signature",
            format!("t={t},v1={}", billing::stripe::sign(WHSEC, t, b"nope")),
        )
        .body("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn the_stripe_endpoint_is_off_with_the_sandbox_provider() {
    let app = common::spawn_app().await;
    let res = app
        .http
        .post(app.url("/webhooks/stripe"))
        .header("stripe-signature", "t=1,v1=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["code"], "not_found");
}
