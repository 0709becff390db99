//! Manual Meta apps are bound to their tenant (SPEC §14): a secret vouches
//! only for channels connected through its own `meta_apps` row; the
//! installation's app id and ids that do not match the token are refused; a
//! failed manual connect stores nothing.

use app::meta::signature::{meta_json_bytes, sign};
use serde_json::{Value, json};

use super::common::{self, TestApp};
use super::connect_support::{
    PHONE_1, PHONE_2, WABA, allow_redirect, call, connect, customer_app, manual_connect,
};
use super::relay_support::{Answer, spawn_endpoint};

/// The seeded numbers as a person types them (PHONE_1 and PHONE_2 are their ids).
const NUMBER_1: &str = "+1 555 0100 001";
const NUMBER_2: &str = "15550100002";

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

fn text_to(phone_id: &str, msg_id: &str) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    meta_json_bytes(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": WABA,
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100001", "phone_number_id": phone_id},
            "contacts": [{"profile": {"name": "Mallory"}, "wa_id": "15550166001"}],
            "messages": [{"from": "15550166001", "id": msg_id, "timestamp": now,
                          "type": "text", "text": {"body": "transfer the funds"}}]}}]}]}),
    )
}

async fn post_app_webhook(app: &TestApp, app_id: &str, secret: &str, body: Vec<u8>) -> u16 {
    app.http
        .post(app.url(&format!("/webhooks/meta/apps/{app_id}")))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(secret, &body))
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn events_of(app: &TestApp, channel_id: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE channel_id = $1")
        .bind(channel_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// Tenant A connects a number through its own app; tenant B holds a record of
/// the same app id with a secret of its own (a second installation of the
/// app, or a record made while Meta could not be asked). B's signature on a
/// payload for A's number is accepted as B's but never reaches A.
#[tokio::test]
async fn a_secret_vouches_only_for_channels_connected_through_it() {
    let app = common::spawn_app().await;
    let endpoint = spawn_endpoint(Answer::Status(200)).await;
    let (_, key_a) = app.account_with_key().await;
    let own = customer_app(&app).await;
    let (s, v) = manual_connect(&app, &key_a, &own, NUMBER_1, &own.app_secret).await;
    assert_eq!(s, 201, "{v}");
    let channel_a = v["id"].as_str().unwrap().to_string();
    let (s, v) = call(
        &app,
        &key_a,
        "PATCH",
        &format!("/api/v1/channels/{channel_a}"),
        Some(json!({"webhook_url": endpoint.url, "webhook_events": ["message.received"]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // B's record of the same app id, with B's own secret.
    let (account_b, _) = app.account_with_key().await;
    app::store::meta_apps::upsert(
        &app.state.db,
        &app::store::meta_apps::MetaApp {
            id: "b-row".into(),
            account_id: account_b,
            meta_app_id: own.app_id.clone(),
            app_secret: app.state.cipher.encrypt(b"b-secret"),
            verify_token: app.state.cipher.encrypt(b"b-verify"),
            verify_token_hash: app::crypto::sha256_hex("b-verify"),
        },
        app.state.now(),
    )
    .await
    .unwrap();

    // The forged payload verifies (B's secret is B's) but is kept as an orphan.
    let forged = text_to(PHONE_1, "wamid.FORGED");
    assert_eq!(
        post_app_webhook(&app, &own.app_id, "b-secret", forged).await,
        200
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM inbound_payloads WHERE orphaned = 1"
        )
        .await,
        1
    );
    assert_eq!(events_of(&app, &channel_a).await, 0);

    // The same payload signed with A's secret is A's.
    let genuine = text_to(PHONE_1, "wamid.GENUINE");
    assert_eq!(
        post_app_webhook(&app, &own.app_id, &own.app_secret, genuine).await,
        200
    );
    let hits = endpoint.wait_for(1).await;
    endpoint.stays_at(1, 500).await;
    let body = hits[0].json();
    assert_eq!(body["data"]["message_id"], "wamid.GENUINE", "{body}");
    assert_eq!(events_of(&app, &channel_a).await, 1);
}

/// A tenant's own-app payloads cannot reach channels connected through the
/// installation's app, and the installation's signature cannot reach
/// channels connected through a customer's app.
#[tokio::test]
async fn platform_and_customer_apps_do_not_cross() {
    let app = common::spawn_app().await;
    let endpoint = spawn_endpoint(Answer::Status(200)).await;
    let (_, key_a) = app.account_with_key().await;
    allow_redirect(&app, &key_a).await;
    let a = connect(
        &app,
        &key_a,
        "whatsapp",
        &[PHONE_1],
        Some(PHONE_1),
        json!({"webhook_url": endpoint.url, "webhook_events": ["message.received"]}),
    )
    .await;
    let channel_a = a["id"].as_str().unwrap().to_string();

    let (_, key_b) = app.account_with_key().await;
    let own = customer_app(&app).await;
    let (s, v) = manual_connect(&app, &key_b, &own, NUMBER_2, &own.app_secret).await;
    assert_eq!(s, 201, "{v}");
    let channel_b = v["id"].as_str().unwrap().to_string();

    // B's app, B's secret, A's number (connected through the platform app).
    let forged = text_to(PHONE_1, "wamid.CROSS");
    assert_eq!(
        post_app_webhook(&app, &own.app_id, &own.app_secret, forged).await,
        200
    );
    // The platform's signature for B's number, connected through B's app.
    let platform_secret = app.state.config.meta_app_secret.clone().unwrap();
    let body = text_to(PHONE_2, "wamid.PLATFORM");
    let r = app
        .http
        .post(app.url("/webhooks/meta"))
        .header("x-hub-signature-256", sign(&platform_secret, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(events_of(&app, &channel_a).await, 0);
    assert_eq!(events_of(&app, &channel_b).await, 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM inbound_payloads WHERE orphaned = 1"
        )
        .await,
        2
    );
    endpoint.stays_at(0, 500).await;
}

/// The sandbox plays a customer app end to end: its webhooks are signed with
/// its own secret and sent to `/webhooks/meta/apps/{app_id}`, and reach the
/// channel connected through it.
#[tokio::test]
async fn a_customer_apps_webhooks_reach_its_channel() {
    let app = common::spawn_app().await;
    let endpoint = spawn_endpoint(Answer::Status(200)).await;
    let (_, key) = app.account_with_key().await;
    let own = customer_app(&app).await;
    let (s, v) = manual_connect(&app, &key, &own, NUMBER_1, &own.app_secret).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    call(
        &app,
        &key,
        "PATCH",
        &format!("/api/v1/channels/{id}"),
        Some(json!({"webhook_url": endpoint.url, "webhook_events": ["message.received"]})),
    )
    .await;
    let res = app
        .http
        .post(app.url("/sandbox/api/inbound"))
        .json(&json!({"asset_id": PHONE_1, "from": "15550177001", "type": "text", "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["webhook"]["status"], "delivered", "{v}");
    let hits = endpoint.wait_for(1).await;
    assert_eq!(hits[0].json()["data"]["from"], "15550177001");
}

/// The installation's own app id is never a manual app, a given id must be
/// the token's, and every refused or failed connect leaves no app record.
#[tokio::test]
async fn manual_apps_must_be_the_tokens_own_and_failures_store_nothing() {
    let app = common::spawn_app().await;
    let (_, key_a) = app.account_with_key().await;
    allow_redirect(&app, &key_a).await;
    connect(
        &app,
        &key_a,
        "whatsapp",
        &[PHONE_1],
        Some(PHONE_1),
        json!({}),
    )
    .await;

    let (_, key_b) = app.account_with_key().await;
    let own = customer_app(&app).await;
    let body = |token: &str, app_id: Option<&str>, phone: &str| {
        let mut b = json!({"channel_type": "whatsapp", "waba_id": WABA, "access_token": token,
            "app_secret": "b-secret", "verify_token": "b-verify", "phone_number": phone});
        if let Some(id) = app_id {
            b["meta_app_id"] = json!(id);
        }
        b
    };
    let body_with_secret = |token: &str, secret: &str, phone: &str| {
        json!({"channel_type": "whatsapp", "waba_id": WABA, "access_token": token,
            "app_secret": secret, "verify_token": "b-verify", "phone_number": phone})
    };
    let platform_id = app.state.config.meta_app_id.clone().unwrap();
    let cases = [
        // Any id the token does not belong to.
        (
            body(&own.token, Some("1"), NUMBER_2),
            400,
            "meta_app_mismatch",
        ),
        // The installation's own app, named…
        (
            body(&own.token, Some(&platform_id), NUMBER_2),
            400,
            "meta_app_mismatch",
        ),
        // … or reached with one of its tokens.
        (
            body(&platform_token(&app).await, None, NUMBER_2),
            400,
            "meta_app_reserved",
        ),
        (
            body(&platform_token(&app).await, Some(&platform_id), NUMBER_2),
            400,
            "meta_app_reserved",
        ),
        // A secret that is not the app's (Meta refuses the app token).
        (
            body(&own.token, None, NUMBER_2),
            400,
            "meta_app_secret_invalid",
        ),
        // A number another account holds.
        (
            body_with_secret(&own.token, &own.app_secret, NUMBER_1),
            400,
            "already_connected_elsewhere",
        ),
    ];
    for (b, status, code) in cases {
        let (s, v) = call(&app, &key_b, "POST", "/api/v1/channels/manual", Some(b)).await;
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{v}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM meta_apps").await, 0);
    // Nothing to verify a payload with: the app path refuses every signature.
    let forged = text_to(PHONE_1, "wamid.NOROW");
    assert_eq!(
        post_app_webhook(&app, "1", "b-secret", forged.clone()).await,
        401
    );
    assert_eq!(
        post_app_webhook(&app, &own.app_id, "b-secret", forged).await,
        401
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM inbound_payloads").await,
        0
    );
}

/// A token of the installation's own app, as the hosted flow would get it.
async fn platform_token(app: &TestApp) -> String {
    super::sandbox_support::whatsapp_token(app).await
}
