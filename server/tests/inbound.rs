//! Meta webhooks in (SPEC §4.1–4.2): handshake, signature, durable storage,
//! routing, dedupe, status mapping and read cascading. The sandbox plays Meta
//! and a local endpoint plays the customer.

mod common;
mod connect_support;
mod customer_support;
mod sandbox_support;

use app::meta::signature::{meta_json_bytes, sign};
use app::store::messages::Message;
use common::TestApp;
use connect_support::{IG, PAGE_1, PHONE_1, WABA, allow_redirect, connect};
use customer_support::{Customer, spawn_customer};
use sandbox_support::{app_secret, control};
use serde_json::{Value, json};
use sqlx::Row;

const ALL_WA: [&str; 6] = [
    "message.received",
    "message.sent",
    "message.delivered",
    "message.read",
    "message.failed",
    "message.echo",
];
const ALL_MSG: [&str; 5] = [
    "message.received",
    "message.delivered",
    "message.read",
    "message.failed",
    "message.echo",
];

async fn post_meta(app: &TestApp, body: &Value) -> reqwest::Response {
    let raw = meta_json_bytes(body);
    app.http
        .post(app.url("/webhooks/meta"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(&app_secret(app), &raw))
        .body(raw)
        .send()
        .await
        .unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// Stored events of a channel as the customer would get them, oldest first.
async fn stored_events(app: &TestApp, channel_id: &str) -> Vec<Value> {
    let rows = sqlx::query("SELECT payload FROM events WHERE channel_id = $1 ORDER BY id")
        .bind(channel_id)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let ct: String = r.get("payload");
            serde_json::from_slice(&app.state.cipher.decrypt(&ct).unwrap()).unwrap()
        })
        .collect()
}

/// Connects `asset` of `channel_type` with the customer's URL and `events`.
async fn channel(
    app: &TestApp,
    channel_type: &str,
    asset: &str,
    customer: &Customer,
    events: &[&str],
) -> String {
    let (_, key) = app.account_with_key().await;
    allow_redirect(app, &key).await;
    let v = connect(
        app,
        &key,
        channel_type,
        &[asset],
        Some(asset),
        json!({"webhook_url": customer.url, "webhook_events": events}),
    )
    .await;
    v["id"].as_str().unwrap().to_string()
}

async fn inbound(app: &TestApp, body: Value) -> String {
    let (s, v) = control(app, "inbound", body).await;
    assert_eq!(s, 200, "{v}");
    v["meta_message_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn handshake_answers_the_challenge_only_with_the_right_token() {
    let app = common::spawn_app().await;
    let token = app.state.config.meta_verify_token.clone().unwrap();
    let ok = app
        .http
        .get(app.url(&format!(
            "/webhooks/meta?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(
        ok.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    for q in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        &format!("hub.mode=unsubscribe&hub.verify_token={token}&hub.challenge=1"),
        "hub.challenge=1",
    ] {
        let r = app
            .http
            .get(app.url(&format!("/webhooks/meta?{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{q}");
    }

    // A customer's own app: found by the hash of its verify token.
    let (account_id, _) = app.account_with_key().await;
    app::store::meta_apps::upsert(
        &app.state.db,
        &app::store::meta_apps::MetaApp {
            id: "ma1".into(),
            account_id,
            meta_app_id: "777000111".into(),
            app_secret: app.state.cipher.encrypt(b"own-app-secret"),
            verify_token: app.state.cipher.encrypt(b"own-verify"),
            verify_token_hash: app::crypto::sha256_hex("own-verify"),
        },
        app.state.now(),
    )
    .await
    .unwrap();
    let path =
        "/webhooks/meta/apps/777000111?hub.mode=subscribe&hub.challenge=42&hub.verify_token=";
    let r = app
        .http
        .get(app.url(&format!("{path}own-verify")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "42");
    let r = app
        .http
        .get(app.url(&format!("{path}{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Its POSTs verify with its own secret, not the platform's.
    let body = sandbox_support::fixtures()["A.1"].clone();
    let raw = meta_json_bytes(&body);
    let post = |secret: &'static str| {
        let raw = raw.clone();
        let app = &app;
        async move {
            app.http
                .post(app.url("/webhooks/meta/apps/777000111"))
                .header("x-hub-signature-256", sign(secret, &raw))
                .body(raw)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(post("own-app-secret").await, 200);
    assert_eq!(post("another-secret").await, 401);
}

#[tokio::test]
async fn bad_signature_is_refused_and_nothing_is_stored() {
    let app = common::spawn_app().await;
    let body = sandbox_support::fixtures()["A.1"].clone();
    let raw = meta_json_bytes(&body);
    let good = sign(&app_secret(&app), &raw);
    let mut tampered = raw.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 1;
    for (sig, bytes) in [
        (good.clone(), tampered),
        ("sha256=00".to_string(), raw.clone()),
        (String::new(), raw.clone()),
    ] {
        let r = app
            .http
            .post(app.url("/webhooks/meta"))
            .header("x-hub-signature-256", sig)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "invalid_signature");
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM inbound_payloads").await,
        0
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM events").await, 0);
}

#[tokio::test]
async fn unknown_assets_are_kept_as_orphans() {
    let app = common::spawn_app().await;
    let body = sandbox_support::fixtures()["A.1"].clone();
    let r = post_meta(&app, &body).await;
    let st = r.status();
    assert_eq!(st, 200, "{}", r.text().await.unwrap());
    let row = sqlx::query("SELECT orphaned, orphan_assets, body FROM inbound_payloads")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(row.get::<i64, _>("orphaned"), 1);
    assert_eq!(
        row.get::<Option<String>, _>("orphan_assets").as_deref(),
        Some("[\"110000000000001\"]")
    );
    // Kept exactly as it arrived, encrypted at rest.
    let stored = row.get::<String, _>("body");
    assert!(!stored.contains("messaging_product"), "{stored}");
    assert_eq!(
        app.state.cipher.decrypt(&stored).unwrap(),
        meta_json_bytes(&body)
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM events").await, 0);
}

#[tokio::test]
async fn whatsapp_messages_reach_the_customer_in_the_documented_shape() {
    let app = common::spawn_app().await;
    let customer = spawn_customer().await;
    let ch = channel(&app, "whatsapp", PHONE_1, &customer, &ALL_WA).await;
    let from = "15550199001";
    let cases: Vec<(Value, Value)> = vec![
        (
            json!({"type": "text", "text": "Hello there", "from_name": "Ana"}),
            json!({"type": "text", "text": "Hello there", "from_name": "Ana"}),
        ),
        (
            json!({"type": "location", "location": {"latitude": 52.52, "longitude": 13.405, "name": "Office", "address": "Main St 1"}}),
            json!({"type": "location", "location": {"latitude": 52.52, "longitude": 13.405, "name": "Office", "address": "Main St 1"}}),
        ),
        (
            json!({"type": "interactive", "interactive": {"kind": "list", "id": "opt-2", "title": "Tuesday"}}),
            json!({"type": "interactive", "interactive": {"kind": "list", "id": "opt-2", "title": "Tuesday"}}),
        ),
        (
            json!({"type": "button", "button": {"text": "Yes", "payload": "CONFIRM"}}),
            json!({"type": "button", "button": {"text": "Yes", "payload": "CONFIRM"}}),
        ),
        (
            json!({"type": "unsupported", "unsupported_type": "poll"}),
            json!({"type": "unsupported", "unsupported_type": "poll"}),
        ),
    ];
    for (input, expected) in cases {
        let mut req = json!({"asset_id": PHONE_1, "from": from});
        req.as_object_mut()
            .unwrap()
            .extend(input.as_object().unwrap().clone());
        let wamid = inbound(&app, req).await;
        let hit = customer.find(|v| v["data"]["message_id"] == wamid).await;
        let v = hit.json();
        assert_eq!(v["event"], "message.received");
        assert_eq!(v["channel_id"], ch.as_str());
        assert_eq!(v["channel_type"], "whatsapp");
        assert!(v["event_id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(hit.header("webhook-id"), v["event_id"].as_str());
        assert_eq!(hit.header("x-webhook-event"), Some("message.received"));
        let data = &v["data"];
        assert_eq!(data["from"], from);
        assert_eq!(data["from_user_id"], Value::Null);
        assert_eq!(data["context"], Value::Null);
        for (k, want) in expected.as_object().unwrap() {
            assert_eq!(&data[k], want, "{k} of {v}");
        }
    }

    // Echoes from the business side are never message.received.
    let echo = inbound(
        &app,
        json!({"asset_id": PHONE_1, "from": from, "type": "echo", "text": "typed on the phone"}),
    )
    .await;
    let v = customer
        .find(|v| v["data"]["message_id"] == echo)
        .await
        .json();
    assert_eq!(v["event"], "message.echo");
}

#[tokio::test]
async fn messenger_and_instagram_messages_reach_the_customer() {
    let app = common::spawn_app().await;
    let customer = spawn_customer().await;
    let fb = channel(&app, "facebook", PAGE_1, &customer, &ALL_MSG).await;
    let mid = inbound(
        &app,
        json!({"asset_id": PAGE_1, "from": "24000000000001", "type": "text", "text": "Hi page"}),
    )
    .await;
    let v = customer
        .find(|v| v["data"]["message_id"] == mid)
        .await
        .json();
    assert_eq!(v["channel_id"], fb.as_str());
    assert_eq!(v["channel_type"], "facebook");
    assert_eq!(v["data"]["text"], "Hi page");
    assert_eq!(v["data"]["from"], "24000000000001");
    assert_eq!(v["data"]["from_name"], Value::Null);
    let pb = inbound(
        &app,
        json!({"asset_id": PAGE_1, "from": "24000000000001", "type": "postback", "postback": {"title": "Start", "payload": "GET_STARTED"}}),
    )
    .await;
    let _ = pb;
    let v = customer
        .find(|v| v["data"]["type"] == "postback")
        .await
        .json();
    assert_eq!(
        v["data"]["postback"],
        json!({"title": "Start", "payload": "GET_STARTED"})
    );

    let customer_ig = spawn_customer().await;
    let ig = channel(&app, "instagram", IG, &customer_ig, &ALL_MSG).await;
    let mid = inbound(
        &app,
        json!({"asset_id": IG, "from": "25000000000001", "type": "text", "text": "Hi insta"}),
    )
    .await;
    let v = customer_ig
        .find(|v| v["data"]["message_id"] == mid)
        .await
        .json();
    assert_eq!(v["channel_id"], ig.as_str());
    assert_eq!(v["channel_type"], "instagram");
    assert_eq!(v["data"]["text"], "Hi insta");
}

#[tokio::test]
async fn a_payload_sent_twice_yields_one_event_also_concurrently() {
    let app = common::spawn_app().await;
    let customer = spawn_customer().await;
    let ch = channel(&app, "whatsapp", PHONE_1, &customer, &["message.received"]).await;
    // The sandbox sends every webhook twice, like Meta sometimes does.
    let (s, _) = control(
        &app,
        "faults",
        json!({"kind": "duplicate_webhooks", "enabled": true}),
    )
    .await;
    assert_eq!(s, 200);
    inbound(
        &app,
        json!({"asset_id": PHONE_1, "from": "15550199002", "type": "text", "text": "once"}),
    )
    .await;
    customer.wait_for(1).await;
    for _ in 0..40 {
        if count(&app, "SELECT COUNT(*) FROM inbound_payloads").await >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Both copies are stored (a third when the sandbox also retried a copy
    // whose answer was slow: Meta does that too); they make one event.
    assert!(count(&app, "SELECT COUNT(*) FROM inbound_payloads").await >= 2);
    assert_eq!(stored_events(&app, &ch).await.len(), 1);

    // Twenty identical POSTs at once: one event, one delivery.
    let raw = meta_json_bytes(&sandbox_support::fixtures()["A.1"]);
    let sig = sign(&app_secret(&app), &raw);
    let mut posts = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (client, url, raw, sig) = (
            app.http.clone(),
            app.url("/webhooks/meta"),
            raw.clone(),
            sig.clone(),
        );
        posts.spawn(async move {
            let r = client
                .post(url)
                .header("x-hub-signature-256", sig)
                .body(raw)
                .send()
                .await;
            r.unwrap().status().as_u16()
        });
    }
    while let Some(status) = posts.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    assert_eq!(stored_events(&app, &ch).await.len(), 2);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM deliveries").await,
        2,
        "one delivery per event"
    );
}

#[tokio::test]
async fn disabled_events_are_stored_but_not_delivered() {
    let app = common::spawn_app().await;
    let customer = spawn_customer().await;
    let ch = channel(&app, "whatsapp", PHONE_1, &customer, &[]).await;
    inbound(
        &app,
        json!({"asset_id": PHONE_1, "from": "15550199003", "type": "text", "text": "kept"}),
    )
    .await;
    for _ in 0..40 {
        if !stored_events(&app, &ch).await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let evs = stored_events(&app, &ch).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["data"]["text"], "kept");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM deliveries").await, 0);
    // The channel list can show when something last arrived.
    let last: Option<i64> = sqlx::query_scalar("SELECT last_event_at FROM channels WHERE id = $1")
        .bind(&ch)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(last.is_some());
}

async fn sent_message(app: &TestApp, channel_id: &str, meta_id: &str, to: &str, at: i64) -> String {
    let account_id: String = sqlx::query_scalar("SELECT account_id FROM channels WHERE id = $1")
        .bind(channel_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let id = uuid_v7();
    app::store::messages::insert(
        &app.state.db,
        &Message {
            id: id.clone(),
            account_id,
            channel_id: channel_id.to_string(),
            meta_message_id: Some(meta_id.to_string()),
            recipient: to.to_string(),
            kind: "text".into(),
            status: "sent".into(),
            status_rank: 1,
            error: None,
            created_at: at,
            updated_at: at,
        },
    )
    .await
    .unwrap();
    id
}

fn uuid_v7() -> String {
    app::services::new_id()
}

fn wa_status(wamid: &str, status: &str, to: &str) -> Value {
    let mut s =
        json!({"id": wamid, "status": status, "timestamp": "1790000100", "recipient_id": to});
    if status == "failed" {
        s["errors"] = json!([{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message"}]);
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": WABA, "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "15550100001", "phone_number_id": PHONE_1},
                  "statuses": [s]}}]}]})
}

/// (event, Switchboard message id) of the stored status events, in order.
async fn status_events(app: &TestApp, ch: &str) -> Vec<(String, String)> {
    stored_events(app, ch)
        .await
        .iter()
        .map(|v| {
            (
                v["event"].as_str().unwrap().to_string(),
                v["data"]["message_id"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn statuses_map_to_the_send_never_go_back_and_reads_cascade() {
    let app = common::spawn_app().await;
    let customer = spawn_customer().await;
    let ch = channel(
        &app,
        "whatsapp",
        PHONE_1,
        &customer,
        &["message.delivered", "message.read", "message.failed"],
    )
    .await;
    let to = "15550199004";
    let t = app.state.now();
    let m1 = sent_message(&app, &ch, "wamid.one", to, t - 3_000).await;
    let m2 = sent_message(&app, &ch, "wamid.two", to, t - 2_000).await;
    let m3 = sent_message(&app, &ch, "wamid.three", to, t - 1_000).await;
    let other = sent_message(&app, &ch, "wamid.other", "15550199999", t - 2_500).await;

    assert_eq!(
        post_meta(&app, &wa_status("wamid.one", "delivered", to))
            .await
            .status(),
        200
    );
    // A read of the newest message reads every earlier one to that person.
    assert_eq!(
        post_meta(&app, &wa_status("wamid.three", "read", to))
            .await
            .status(),
        200
    );
    // Late and repeated statuses are kept but not delivered.
    assert_eq!(
        post_meta(&app, &wa_status("wamid.three", "delivered", to))
            .await
            .status(),
        200
    );
    assert_eq!(
        post_meta(&app, &wa_status("wamid.three", "read", to))
            .await
            .status(),
        200
    );

    let evs = status_events(&app, &ch).await;
    let e = |ev: &str, id: &str| (ev.to_string(), id.to_string());
    assert_eq!(
        evs,
        vec![
            e("message.delivered", &m1),
            e("message.delivered", &m3),
            e("message.read", &m3),
            e("message.read", &m1),
            e("message.delivered", &m2),
            e("message.read", &m2),
            e("message.delivered", &m3),
            e("message.read", &m3),
        ],
    );
    // Delivered to the customer: only enabled events, never the late one.
    let delivered = customer.wait_for(6).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let got: Vec<(String, String)> = customer
        .bodies()
        .iter()
        .map(|v| {
            (
                v["event"].as_str().unwrap().to_string(),
                v["data"]["message_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got.len(), 6, "{delivered:?}");
    for want in [
        e("message.delivered", &m1),
        e("message.delivered", &m3),
        e("message.read", &m3),
        e("message.read", &m1),
        e("message.delivered", &m2),
        e("message.read", &m2),
    ] {
        assert!(got.contains(&want), "{want:?} missing from {got:?}");
    }
    let read = customer
        .bodies()
        .into_iter()
        .find(|v| v["event"] == "message.read" && v["data"]["message_id"] == m3.as_str())
        .unwrap();
    assert_eq!(
        read["data"],
        json!({"message_id": m3, "status": "read", "recipient": to, "meta_message_id": "wamid.three",
            "pricing": null, "conversation": null})
    );
    let status: String = sqlx::query_scalar("SELECT status FROM messages WHERE id = $1")
        .bind(&other)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(status, "sent", "another recipient's message is untouched");

    // A failure carries Meta's errors.
    let m4 = sent_message(&app, &ch, "wamid.four", to, app.state.now()).await;
    post_meta(&app, &wa_status("wamid.four", "failed", to)).await;
    let failed = customer
        .find(|v| v["event"] == "message.failed")
        .await
        .json();
    assert_eq!(failed["data"]["message_id"], m4.as_str());
    assert_eq!(failed["data"]["error"], "Re-engagement message");
    assert_eq!(
        failed["data"]["errors"],
        json!([{"code": 131047, "title": "Re-engagement message"}])
    );
}

#[tokio::test]
async fn messenger_read_watermark_reads_every_earlier_message() {
    let app = common::spawn_app().await;
    let customer = spawn_customer().await;
    let ch = channel(
        &app,
        "facebook",
        PAGE_1,
        &customer,
        &["message.read", "message.delivered"],
    )
    .await;
    let user = "24000000000009";
    let t = app.state.now();
    let a = sent_message(&app, &ch, "m_a", user, t - 2_000).await;
    let b = sent_message(&app, &ch, "m_b", user, t - 1_000).await;
    let later = sent_message(&app, &ch, "m_later", user, t + 60_000).await;
    let read = json!({"object": "page", "entry": [{"id": PAGE_1, "time": t, "messaging": [{
        "sender": {"id": user}, "recipient": {"id": PAGE_1}, "timestamp": t,
        "read": {"watermark": t}}]}]});
    assert_eq!(post_meta(&app, &read).await.status(), 200);
    let evs = status_events(&app, &ch).await;
    let e = |ev: &str, id: &str| (ev.to_string(), id.to_string());
    assert_eq!(
        evs,
        vec![
            e("message.delivered", &a),
            e("message.read", &a),
            e("message.delivered", &b),
            e("message.read", &b),
        ]
    );
    // The same watermark again changes nothing.
    assert_eq!(post_meta(&app, &read).await.status(), 200);
    assert_eq!(status_events(&app, &ch).await.len(), 4);
    let status: String = sqlx::query_scalar("SELECT status FROM messages WHERE id = $1")
        .bind(&later)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(status, "sent");
    customer.wait_for(4).await;
}

#[tokio::test]
async fn deliveries_are_held_while_the_account_has_no_license() {
    let app = common::spawn_app().await;
    let customer = spawn_customer().await;
    let ch = channel(&app, "whatsapp", PHONE_1, &customer, &["message.received"]).await;
    // The 7-day trial ends.
    app.clock.advance(8 * 86_400_000);
    let body = sandbox_support::fixtures()["A.1"].clone();
    assert_eq!(post_meta(&app, &body).await.status(), 200);
    assert_eq!(stored_events(&app, &ch).await.len(), 1);
    let status: String = sqlx::query_scalar("SELECT status FROM deliveries")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(status, "held");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(customer.hits().is_empty());
}

#[tokio::test]
async fn template_status_updates_reach_the_account_event_endpoint() {
    let app = common::spawn_app().await;
    let customer = spawn_customer().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    let endpoint = spawn_customer().await;
    let (s, v) = connect_support::call(
        &app,
        &key,
        "POST",
        "/api/v1/event-endpoints",
        Some(json!({"url": endpoint.url, "events": ["template.status_updated"]})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let update = json!({"object": "whatsapp_business_account", "entry": [{"id": WABA, "time": 1790000200,
        "changes": [{"field": "message_template_status_update", "value": {
            "event": "APPROVED", "message_template_id": 1200000000000001_u64,
            "message_template_name": "order_update", "message_template_language": "en_US", "reason": "NONE"}}]}]});
    assert_eq!(post_meta(&app, &update).await.status(), 200);
    // Meta repeats itself: still one event.
    assert_eq!(post_meta(&app, &update).await.status(), 200);
    let hit = endpoint
        .find(|v| v["event"] == "template.status_updated")
        .await;
    let v = hit.json();
    assert!(v["account_id"].is_string());
    assert_eq!(v["data"]["template_name"], "order_update");
    assert_eq!(v["data"]["status"], "APPROVED");
    assert!(hit.header("webhook-signature").is_some());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(endpoint.hits().len(), 1);
    assert!(customer.hits().is_empty());
}
