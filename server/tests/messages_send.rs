//! `POST /api/v1/messages/send` end to end (SPEC §5.1): the sandbox plays
//! Meta (outbox, statuses, faults, revoked tokens), a local endpoint plays
//! the customer, the send queue worker that `serve` runs retries with the
//! test clock moved forward.

mod common;
mod connect_support;
mod customer_support;
mod sandbox_support;

use app::clock::{DAY_MS, HOUR_MS};
use common::TestApp;
use connect_support::{IG, PAGE_1, PHONE_1, allow_redirect, call, connect};
use customer_support::{Customer, spawn_customer};
use sandbox_support::{control, whatsapp_token};
use serde_json::{Value, json};

const WA_EVENTS: [&str; 4] = [
    "message.sent",
    "message.delivered",
    "message.read",
    "message.failed",
];
const MSG_EVENTS: [&str; 3] = ["message.delivered", "message.read", "message.failed"];

async fn app() -> TestApp {
    common::spawn_app_with(&[
        ("SWITCHBOARD_SANDBOX_SENT_DELAY_MS", "300"),
        ("SWITCHBOARD_SANDBOX_DELIVERED_DELAY_MS", "200"),
    ])
    .await
}

struct Chan {
    id: String,
    key: String,
    account: String,
}

/// A fresh account with `asset` connected as `channel_type`, its webhook
/// going to `customer` with `events`.
async fn channel(
    app: &TestApp,
    channel_type: &str,
    asset: &str,
    customer: &Customer,
    events: &[&str],
) -> Chan {
    let (account, key) = app.account_with_key().await;
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
    let id = v["id"].as_str().unwrap().to_string();
    if channel_type == "whatsapp" {
        // Fresh out of Embedded Signup, a number sends only once registered.
        let path = format!("/api/v1/channels/{id}/register");
        let (s, v) = call(app, &key, "POST", &path, Some(json!({"pin": "123456"}))).await;
        assert_eq!(s, 200, "{v}");
    }
    Chan { id, key, account }
}

/// The end user writes first (opens the 24-hour window).
async fn user_writes(app: &TestApp, asset: &str, from: &str) {
    let (s, v) = control(
        app,
        "inbound",
        json!({"asset_id": asset, "from": from, "type": "text", "text": "hello"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

async fn send(app: &TestApp, c: &Chan, body: Value) -> (u16, Value) {
    let mut body = body;
    body["channel_id"] = json!(c.id);
    call(app, &c.key, "POST", "/api/v1/messages/send", Some(body)).await
}

async fn send_keyed(app: &TestApp, c: &Chan, key: &str, body: Value) -> reqwest::Response {
    let mut body = body;
    body["channel_id"] = json!(c.id);
    app.http
        .post(app.url("/api/v1/messages/send"))
        .header("x-api-key", &c.key)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn outbox(app: &TestApp, asset: &str, to: &str) -> Vec<Value> {
    let v: Value = app
        .http
        .get(app.url(&format!("/sandbox/api/outbox?asset_id={asset}&to={to}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["messages"].as_array().cloned().unwrap_or_default()
}

async fn fault(app: &TestApp, code: i64, count: i64) {
    let (s, v) = control(
        app,
        "faults",
        json!({"kind": "graph_error", "path": "messages", "count": count, "http_status": 400,
               "code": code, "message": format!("(#{code}) injected")}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

fn is(ev: &str, id: &str) -> impl Fn(&Value) -> bool {
    let ev = ev.to_string();
    let id = id.to_string();
    move |v: &Value| v["event"] == ev.as_str() && v["data"]["message_id"] == id.as_str()
}

async fn row(app: &TestApp, id: &str) -> (String, Option<String>, Option<String>, i64) {
    let m = app::store::messages::get(&app.state.db, &account_of(app, id).await, id)
        .await
        .unwrap()
        .expect("message row");
    let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM messages WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    (m.status, m.meta_message_id, m.error, attempts)
}

async fn account_of(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT account_id FROM messages WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// Waits (up to 10 s) until the message has `status`.
async fn wait_status(app: &TestApp, id: &str, status: &str) {
    for _ in 0..200 {
        if row(app, id).await.0 == status {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "message {id} never became {status}: {:?}",
        row(app, id).await
    );
}

#[tokio::test]
async fn text_goes_out_on_every_channel_type_and_statuses_carry_the_uuid() {
    let app = app().await;

    // WhatsApp: sent (ours), delivered (the sandbox's progression), read.
    let wa_hook = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &wa_hook, &WA_EVENTS).await;
    user_writes(&app, PHONE_1, "15550123001").await;
    let (s, v) = send(
        &app,
        &wa,
        json!({"recipient": "15550123001", "text": "Your order shipped"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["status"], "sent");
    let id = v["message_id"].as_str().unwrap().to_string();
    // UUID v7: 8-4-4-4-12 hex with the version nibble 7.
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "7", "{id}");
    let wamid = v["meta_message_id"].as_str().unwrap().to_string();
    assert!(wamid.starts_with("wamid."));
    let out = outbox(&app, PHONE_1, "15550123001").await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["text"], "Your order shipped");
    assert_eq!(out[0]["meta_message_id"], wamid.as_str());
    let sent = wa_hook.find(is("message.sent", &id)).await.json();
    assert_eq!(sent["data"]["meta_message_id"], wamid.as_str());
    assert_eq!(sent["data"]["recipient"], "15550123001");
    assert_eq!(sent["channel_id"], wa.id.as_str());
    wa_hook.find(is("message.delivered", &id)).await;
    let (s, v) = control(
        &app,
        "status",
        json!({"meta_message_id": wamid, "status": "read"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    wa_hook.find(is("message.read", &id)).await;
    wait_status(&app, &id, "read").await;
    // Meta's own `sent` came too, but only ours was delivered.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let sents = wa_hook
        .bodies()
        .iter()
        .filter(|b| b["event"] == "message.sent")
        .count();
    assert_eq!(sents, 1, "{:?}", wa_hook.bodies());

    // Messenger: delivered by the sandbox's delivery watermark, then read.
    let fb_hook = spawn_customer().await;
    let fb = channel(&app, "facebook", PAGE_1, &fb_hook, &MSG_EVENTS).await;
    user_writes(&app, PAGE_1, "24000000000101").await;
    let (s, v) = send(
        &app,
        &fb,
        json!({"recipient": "24000000000101", "text": "Hi from the Page"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "sent");
    let fb_id = v["message_id"].as_str().unwrap().to_string();
    let mid = v["meta_message_id"].as_str().unwrap().to_string();
    let out = outbox(&app, PAGE_1, "24000000000101").await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["text"], "Hi from the Page");
    fb_hook.find(is("message.delivered", &fb_id)).await;
    let (s, _) = control(
        &app,
        "status",
        json!({"meta_message_id": mid, "status": "read"}),
    )
    .await;
    assert_eq!(s, 200);
    fb_hook.find(is("message.read", &fb_id)).await;
    assert!(
        !fb_hook
            .bodies()
            .iter()
            .any(|b| b["event"] == "message.sent")
    );

    // Instagram: read names the mid.
    let ig_hook = spawn_customer().await;
    let ig = channel(&app, "instagram", IG, &ig_hook, &MSG_EVENTS).await;
    user_writes(&app, IG, "25000000000101").await;
    let (s, v) = send(
        &app,
        &ig,
        json!({"recipient": "25000000000101", "text": "Hi from Instagram"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let ig_id = v["message_id"].as_str().unwrap().to_string();
    let mid = v["meta_message_id"].as_str().unwrap().to_string();
    assert_eq!(
        outbox(&app, IG, "25000000000101").await[0]["text"],
        "Hi from Instagram"
    );
    let (s, _) = control(
        &app,
        "status",
        json!({"meta_message_id": mid, "status": "read"}),
    )
    .await;
    assert_eq!(s, 200);
    let read = ig_hook.find(is("message.read", &ig_id)).await.json();
    assert_eq!(read["channel_type"], "instagram");
    assert_eq!(read["data"]["meta_message_id"], mid.as_str());
}

#[tokio::test]
async fn replies_reactions_and_interactive_messages_on_whatsapp() {
    let app = app().await;
    let hook = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &hook, &[]).await;
    let to = "15550123002";
    user_writes(&app, PHONE_1, to).await;
    let (_, first) = send(
        &app,
        &wa,
        json!({"recipient": to, "text": "Order #42 is ready"}),
    )
    .await;
    let first_id = first["message_id"].as_str().unwrap();
    let first_wamid = first["meta_message_id"].as_str().unwrap();

    // reply_to by Switchboard id → Meta's context.message_id.
    let (s, v) = send(
        &app,
        &wa,
        json!({"recipient": to, "text": "Pick it up any time", "reply_to": first_id}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let m =
        server::sandbox::db::message_by_id(&app.state.db, v["meta_message_id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(m.body["reply_to"], first_wamid);
    // … and by Meta's id, passed through.
    let (s, v) = send(
        &app,
        &wa,
        json!({"recipient": to, "text": "Quoted", "reply_to": "wamid.FROMTHEUSER"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let m =
        server::sandbox::db::message_by_id(&app.state.db, v["meta_message_id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(m.body["reply_to"], "wamid.FROMTHEUSER");
    // An unknown Switchboard id is refused.
    let (s, v) = send(
        &app,
        &wa,
        json!({"recipient": to, "text": "x", "reply_to": "01890a5d-ac96-774b-bcce-b302099a8057"}),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("validation_error")),
        "{v}"
    );

    // Reaction to our own message by its UUID.
    let (s, v) = send(
        &app,
        &wa,
        json!({"recipient": to, "type": "reaction", "reaction": {"message_id": first_id, "emoji": "👍"}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let out = outbox(&app, PHONE_1, to).await;
    let reaction = out.iter().find(|m| m["type"] == "reaction").unwrap();
    assert_eq!(reaction["reaction"]["message_id"], first_wamid);
    assert_eq!(reaction["reaction"]["emoji"], "👍");

    // Interactive reply buttons and a list.
    let buttons = json!({"type": "button", "body": {"text": "Deliver tomorrow 9–12?"},
        "action": {"buttons": [
            {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
            {"type": "reply", "reply": {"id": "no", "title": "No"}}]}});
    let (s, v) = send(
        &app,
        &wa,
        json!({"recipient": to, "type": "interactive", "interactive": buttons}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let list = json!({"type": "list", "body": {"text": "Pick a slot"},
        "action": {"button": "Slots", "sections": [
            {"title": "Morning", "rows": [{"id": "s9", "title": "09:00"}]},
            {"title": "Afternoon", "rows": [{"id": "s14", "title": "14:00", "description": "After lunch"}]}]}});
    let (s, v) = send(
        &app,
        &wa,
        json!({"recipient": to, "type": "interactive", "interactive": list}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let out = outbox(&app, PHONE_1, to).await;
    let kinds: Vec<&str> = out
        .iter()
        .filter(|m| m["type"] == "interactive")
        .map(|m| m["interactive"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"button") && kinds.contains(&"list"));

    // Meta's limits are checked before anything is sent.
    let four: Vec<Value> = (0..4)
        .map(|i| json!({"type": "reply", "reply": {"id": format!("b{i}"), "title": "B"}}))
        .collect();
    let (s, v) = send(
        &app,
        &wa,
        json!({"recipient": to, "type": "interactive",
               "interactive": {"type": "button", "body": {"text": "x"}, "action": {"buttons": four}}}),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("validation_error")),
        "{v}"
    );
    assert!(v["detail"].as_str().unwrap().contains("action.buttons"));
    let sent_before = outbox(&app, PHONE_1, to).await.len();
    assert_eq!(sent_before, 6);
}

#[tokio::test]
async fn every_refusal_has_its_code() {
    let app = app().await;
    let hook = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &hook, &[]).await;
    let fb = channel(&app, "facebook", PAGE_1, &hook, &[]).await;
    let ig = channel(&app, "instagram", IG, &hook, &[]).await;
    user_writes(&app, PHONE_1, "15550123003").await;
    user_writes(&app, PAGE_1, "24000000000103").await;
    user_writes(&app, IG, "25000000000103").await;
    let expect = |got: (u16, Value), status: u16, code: &str| {
        assert_eq!(got.0, status, "{}", got.1);
        assert_eq!(got.1["code"], code, "{}", got.1);
        assert!(got.1["detail"].as_str().is_some_and(|d| !d.is_empty()));
        got.1["detail"].as_str().unwrap().to_string()
    };

    // Channels: unknown, another account's.
    let mut body =
        json!({"channel_id": "00000000000000ff", "recipient": "15550123003", "text": "x"});
    expect(
        call(
            &app,
            &wa.key,
            "POST",
            "/api/v1/messages/send",
            Some(body.clone()),
        )
        .await,
        404,
        "not_found",
    );
    body["channel_id"] = json!(fb.id);
    expect(
        call(&app, &wa.key, "POST", "/api/v1/messages/send", Some(body)).await,
        404,
        "not_found",
    );

    // Shape: bad JSON 400, wrong shape 422.
    let res = app
        .http
        .post(app.url("/api/v1/messages/send"))
        .header("x-api-key", &wa.key)
        .header("content-type", "application/json")
        .body("{\"channel_id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_json");
    expect(
        send(&app, &wa, json!({"text": "no recipient"})).await,
        422,
        "validation_error",
    );
    expect(
        send(&app, &wa, json!({"recipient": "15550123003", "text": 5})).await,
        422,
        "validation_error",
    );

    // Types.
    expect(
        send(
            &app,
            &wa,
            json!({"recipient": "15550123003", "type": "fax", "text": "x"}),
        )
        .await,
        400,
        "validation_error",
    );
    expect(
        send(&app, &wa, json!({"recipient": "15550123003"})).await,
        400,
        "validation_error",
    );
    expect(
        send(&app, &fb, json!({"recipient": "24000000000103", "type": "sticker", "media": {"link": "https://x/y.webp"}})).await,
        400,
        "not_supported",
    );
    expect(
        send(&app, &fb, json!({"recipient": "24000000000103", "type": "reaction", "reaction": {"message_id": "m_1", "emoji": "👍"}})).await,
        400,
        "not_supported",
    );

    // Length as Meta counts it.
    expect(
        send(
            &app,
            &wa,
            json!({"recipient": "15550123003", "text": "a".repeat(4097)}),
        )
        .await,
        400,
        "text_too_long",
    );
    expect(
        send(
            &app,
            &fb,
            json!({"recipient": "24000000000103", "text": "é".repeat(2001)}),
        )
        .await,
        400,
        "text_too_long",
    );
    let d = expect(
        send(
            &app,
            &ig,
            json!({"recipient": "25000000000103", "text": "😀".repeat(251)}),
        )
        .await,
        400,
        "text_too_long",
    );
    assert!(d.contains("bytes"), "{d}");
    let (s, v) = send(
        &app,
        &wa,
        json!({"recipient": "15550123003", "text": "a".repeat(4096)}),
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // Recipient formats.
    let d = expect(
        send(&app, &wa, json!({"recipient": "+15550123003", "text": "x"})).await,
        400,
        "invalid_recipient",
    );
    assert!(d.contains("+"));
    expect(
        send(&app, &wa, json!({"recipient": "call-me", "text": "x"})).await,
        400,
        "invalid_recipient",
    );
    expect(
        send(&app, &ig, json!({"recipient": "ana.customer", "text": "x"})).await,
        400,
        "invalid_recipient",
    );

    // The 24-hour window: never wrote, and wrote too long ago.
    let d = expect(
        send(&app, &wa, json!({"recipient": "15550123999", "text": "x"})).await,
        400,
        "outside_window",
    );
    assert!(d.contains("send-template"), "{d}");
    let d = expect(
        send(
            &app,
            &fb,
            json!({"recipient": "24000000000999", "text": "x"}),
        )
        .await,
        400,
        "outside_window",
    );
    assert!(!d.contains("send-template"), "{d}");
    app.clock.advance(25 * HOUR_MS);
    expect(
        send(&app, &wa, json!({"recipient": "15550123003", "text": "x"})).await,
        400,
        "outside_window",
    );
    user_writes(&app, PHONE_1, "15550123003").await;

    // Meta refuses the recipient (the sandbox's undeliverable number) → 400;
    // other Meta errors → 502 with Meta's code in the detail.
    user_writes(&app, PHONE_1, "15550120199").await;
    let d = expect(
        send(&app, &wa, json!({"recipient": "15550120199", "text": "x"})).await,
        400,
        "invalid_recipient",
    );
    assert!(d.contains("131026"), "{d}");
    fault(&app, 131009, 1).await;
    let d = expect(
        send(&app, &wa, json!({"recipient": "15550123003", "text": "x"})).await,
        502,
        "meta_error",
    );
    assert!(d.contains("131009"), "{d}");
    // Refused sends leave no message behind.
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE recipient = '15550120199'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(n, 0);

    // Inactive channel.
    let (s, _) = call(
        &app,
        &fb.key,
        "DELETE",
        &format!("/api/v1/channels/{}", fb.id),
        None,
    )
    .await;
    assert_eq!(s, 200);
    expect(
        send(
            &app,
            &fb,
            json!({"recipient": "24000000000103", "text": "x"}),
        )
        .await,
        400,
        "channel_inactive",
    );

    // No license once the trial is over.
    app.clock.advance(8 * DAY_MS);
    user_writes(&app, PHONE_1, "15550123003").await;
    expect(
        send(&app, &wa, json!({"recipient": "15550123003", "text": "x"})).await,
        402,
        "subscription_required",
    );
}

#[tokio::test]
async fn an_idempotent_retry_sends_once_and_another_body_conflicts() {
    let app = app().await;
    let hook = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &hook, &[]).await;
    let to = "15550123004";
    user_writes(&app, PHONE_1, to).await;
    let body = json!({"recipient": to, "text": "Exactly once"});
    let first = send_keyed(&app, &wa, "order-42-shipped", body.clone()).await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = send_keyed(&app, &wa, "order-42-shipped", body.clone()).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    assert_eq!(outbox(&app, PHONE_1, to).await.len(), 1);

    // Same key, other body.
    let other = send_keyed(
        &app,
        &wa,
        "order-42-shipped",
        json!({"recipient": to, "text": "Different"}),
    )
    .await;
    assert_eq!(other.status(), 409);
    assert_eq!(
        other.json::<Value>().await.unwrap()["code"],
        "idempotency_conflict"
    );
    // Keys belong to one account: another account may use the same one.
    let hook2 = spawn_customer().await;
    let fb = channel(&app, "facebook", PAGE_1, &hook2, &[]).await;
    user_writes(&app, PAGE_1, "24000000000104").await;
    let r = send_keyed(
        &app,
        &fb,
        "order-42-shipped",
        json!({"recipient": "24000000000104", "text": "Hi"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    // A refused request does not take the key.
    let bad = send_keyed(
        &app,
        &wa,
        "retry-me",
        json!({"recipient": "15550123999", "text": "x"}),
    )
    .await;
    assert_eq!(bad.status(), 400);
    user_writes(&app, PHONE_1, "15550123999").await;
    let good = send_keyed(
        &app,
        &wa,
        "retry-me",
        json!({"recipient": "15550123999", "text": "x"}),
    )
    .await;
    assert_eq!(good.status(), 200);
    // A malformed key.
    let r = send_keyed(&app, &wa, "has spaces", body.clone()).await;
    assert_eq!(r.status(), 400);

    // After 24 hours the key may be used again: a new message.
    app.clock.advance(25 * HOUR_MS);
    user_writes(&app, PHONE_1, to).await;
    let later: Value = send_keyed(
        &app,
        &wa,
        "order-42-shipped",
        json!({"recipient": to, "text": "New day"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(later["status"], "sent", "{later}");
    assert_ne!(later["message_id"], first["message_id"]);
    assert_eq!(outbox(&app, PHONE_1, to).await.len(), 2);
}

#[tokio::test]
async fn a_throttled_send_is_queued_then_sent_by_the_worker() {
    let app = app().await;
    let hook = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &hook, &WA_EVENTS).await;
    let to = "15550123005";
    user_writes(&app, PHONE_1, to).await;
    fault(&app, 130429, 1).await;
    let body = json!({"recipient": to, "text": "Busy right now"});
    let r = send_keyed(&app, &wa, "throttled-1", body.clone()).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "queued", "{v}");
    assert_eq!(v["meta_message_id"], Value::Null);
    let id = v["message_id"].as_str().unwrap().to_string();
    let (status, meta, error, attempts) = row(&app, &id).await;
    assert_eq!((status.as_str(), meta, attempts), ("queued", None, 1));
    assert!(error.unwrap().contains("130429"));
    // The request waits encrypted.
    let stored: Option<String> = sqlx::query_scalar("SELECT request FROM messages WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(!stored.unwrap().contains("Busy right now"));
    assert!(outbox(&app, PHONE_1, to).await.is_empty());

    // Not before the backoff…
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(row(&app, &id).await.0, "queued");
    // … then the worker sends it.
    app.clock.advance(11_000);
    let sent = hook.find(is("message.sent", &id)).await.json();
    let wamid = sent["data"]["meta_message_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(wamid.starts_with("wamid."));
    let out = outbox(&app, PHONE_1, to).await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["text"], "Busy right now");
    hook.find(is("message.delivered", &id)).await;
    let (status, meta, _, attempts) = row(&app, &id).await;
    assert_eq!(meta.as_deref(), Some(wamid.as_str()));
    assert_eq!(attempts, 2);
    assert!(status == "sent" || status == "delivered");
    let request: Option<String> = sqlx::query_scalar("SELECT request FROM messages WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(request, None);
    // A retry of the first request still answers what it answered then.
    let again: Value = send_keyed(&app, &wa, "throttled-1", body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, v);
}

#[tokio::test]
async fn queued_sends_fail_on_a_permanent_error_or_after_four_hours() {
    let app = app().await;
    let hook = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &hook, &WA_EVENTS).await;

    // Queued, then Meta refuses for good → failed with Meta's code.
    let to = "15550123006";
    user_writes(&app, PHONE_1, to).await;
    fault(&app, 131056, 1).await;
    let (_, v) = send(&app, &wa, json!({"recipient": to, "text": "pair limit"})).await;
    assert_eq!(v["status"], "queued", "{v}");
    let id = v["message_id"].as_str().unwrap().to_string();
    fault(&app, 131009, 1).await;
    app.clock.advance(11_000);
    let failed = hook.find(is("message.failed", &id)).await.json();
    assert_eq!(failed["data"]["errors"][0]["code"], 131009);
    assert!(failed["data"]["error"].as_str().unwrap().contains("131009"));
    assert_eq!(row(&app, &id).await.0, "failed");

    // The sandbox throttles this number forever: retried, then expired.
    let slow = "15550120196";
    user_writes(&app, PHONE_1, slow).await;
    let (_, v) = send(&app, &wa, json!({"recipient": slow, "text": "late"})).await;
    assert_eq!(v["status"], "queued", "{v}");
    let id = v["message_id"].as_str().unwrap().to_string();
    app.clock.advance(11_000);
    for _ in 0..100 {
        if row(&app, &id).await.3 >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(row(&app, &id).await.3, 2, "retried once");
    assert_eq!(row(&app, &id).await.0, "queued");
    app.clock.advance(4 * HOUR_MS);
    let failed = hook.find(is("message.failed", &id)).await.json();
    assert_eq!(failed["data"]["error"], "expired");
    assert_eq!(failed["data"]["recipient"], slow);
    let (status, _, error, _) = row(&app, &id).await;
    assert_eq!(
        (status.as_str(), error.as_deref()),
        ("failed", Some("expired"))
    );
    assert!(!hook.bodies().iter().any(|b| is("message.sent", &id)(b)));

    // Messenger reports message.failed for queued sends too.
    let fb_hook = spawn_customer().await;
    let fb = channel(&app, "facebook", PAGE_1, &fb_hook, &MSG_EVENTS).await;
    user_writes(&app, PAGE_1, "24000000000106").await;
    fault(&app, 613, 1).await;
    let (_, v) = send(
        &app,
        &fb,
        json!({"recipient": "24000000000106", "text": "x"}),
    )
    .await;
    assert_eq!(v["status"], "queued", "{v}");
    let fb_id = v["message_id"].as_str().unwrap().to_string();
    app.clock.advance(4 * HOUR_MS + 1_000);
    let failed = fb_hook.find(is("message.failed", &fb_id)).await.json();
    assert_eq!(failed["channel_type"], "facebook");
    assert_eq!(failed["data"]["error"], "expired");
}

#[tokio::test]
async fn a_revoked_token_deactivates_the_channel() {
    let app = app().await;
    let hook = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &hook, &[]).await;
    let account_hook = spawn_customer().await;
    let (s, v) = call(
        &app,
        &wa.key,
        "POST",
        "/api/v1/event-endpoints",
        Some(json!({"url": account_hook.url, "events": ["channel.disconnected"]})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let to = "15550123007";
    user_writes(&app, PHONE_1, to).await;
    let (s, v) = control(&app, "revoke", json!({"asset_id": PHONE_1})).await;
    assert_eq!(s, 200, "{v}");

    let (s, v) = send(&app, &wa, json!({"recipient": to, "text": "x"})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("channel_inactive")),
        "{v}"
    );
    assert!(v["detail"].as_str().unwrap().contains("token"), "{v}");
    let (_, ch) = call(
        &app,
        &wa.key,
        "GET",
        &format!("/api/v1/channels/{}", wa.id),
        None,
    )
    .await;
    assert_eq!(ch["is_active"], false);
    let ev = account_hook
        .find(|b| b["event"] == "channel.disconnected")
        .await
        .json();
    assert_eq!(ev["account_id"], wa.account.as_str());
    assert_eq!(ev["data"]["channel_id"], wa.id.as_str());
    let (s, v) = send(&app, &wa, json!({"recipient": to, "text": "again"})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("channel_inactive")),
        "{v}"
    );
    assert!(outbox(&app, PHONE_1, to).await.is_empty());
}

/// Many sends at once on one channel (as an application's burst would be):
/// every one is answered 200 `sent` or `queued`, none is lost, and the
/// sandbox outbox holds each exactly once. The sends, the sandbox's own
/// writes and its status webhooks into the ingest share one database.
#[tokio::test]
async fn a_burst_of_concurrent_sends_all_succeed() {
    let app = app().await;
    let hook = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &hook, &WA_EVENTS).await;
    user_writes(&app, PHONE_1, "15550123077").await;
    let mut answers = Vec::new();
    for wave in 0..3 {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..16 {
            let req = app
                .http
                .post(app.url("/api/v1/messages/send"))
                .header("x-api-key", &wa.key)
                .json(&json!({"channel_id": wa.id, "recipient": "15550123077",
                              "text": format!("burst {wave}.{i}")}));
            tasks.spawn(async move {
                let r = req.send().await.unwrap();
                let s = r.status().as_u16();
                (s, r.json::<Value>().await.unwrap())
            });
        }
        answers.extend(tasks.join_all().await);
    }
    let mut ids = std::collections::HashSet::new();
    for (s, v) in &answers {
        assert_eq!(*s, 200, "{v}");
        assert!(v["status"] == "sent" || v["status"] == "queued", "{v}");
        ids.insert(v["message_id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 48);
    for id in &ids {
        wait_status(&app, id, "delivered").await;
    }
    let texts: std::collections::HashSet<_> = outbox(&app, PHONE_1, "15550123077")
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts.len(), 48);
}

/// Meta's statuses can arrive before its answer to the send (here the
/// sandbox answers 3 s late, after the statuses went out). They wait for the
/// send to record its Meta id and then carry the Switchboard id; a status of
/// a message another tool sent in the meantime waits too, and is reported
/// without a Switchboard id once 2 minutes passed.
#[tokio::test]
async fn statuses_that_beat_the_answer_to_their_send_keep_its_id() {
    let app = app().await;
    let hook = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &hook, &WA_EVENTS).await;
    let to = "15550123079";
    user_writes(&app, PHONE_1, to).await;
    let other_tool = whatsapp_token(&app).await;
    let (s, v) = control(
        &app,
        "faults",
        json!({"kind": "latency", "path": "/messages", "ms": 3000, "count": 1, "after": true}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let ours = {
        let app_http = app.http.clone();
        let req = app_http
            .post(app.url("/api/v1/messages/send"))
            .header("x-api-key", &wa.key)
            .json(&json!({"channel_id": wa.id, "recipient": to, "text": "slow answer"}));
        tokio::spawn(async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // Another tool on the same number, while ours is still at "Meta".
    let direct: Value = app
        .http
        .post(app.url(&format!("/sandbox/graph/v26.0/{PHONE_1}/messages")))
        .bearer_auth(&other_tool)
        .json(
            &json!({"messaging_product": "whatsapp", "to": to, "type": "text",
                      "text": {"body": "from elsewhere"}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let foreign = direct["messages"][0]["id"].as_str().unwrap().to_string();

    let (s, v) = ours.await.unwrap();
    assert_eq!((s, v["status"].as_str()), (200, Some("sent")), "{v}");
    let id = v["message_id"].as_str().unwrap().to_string();
    wait_status(&app, &id, "delivered").await;
    let delivered = hook.find(is("message.delivered", &id)).await.json();
    assert_eq!(delivered["data"]["meta_message_id"], v["meta_message_id"]);
    let parked: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM early_statuses WHERE meta_message_id = $1")
            .bind(&foreign)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(parked, 2, "the other tool's sent and delivered wait");
    assert!(
        !hook
            .bodies()
            .iter()
            .any(|b| b["data"]["meta_message_id"] == foreign.as_str()),
        "{:?}",
        hook.bodies()
    );

    app.clock.advance(3 * 60_000);
    let late = hook
        .find(|b| {
            b["event"] == "message.delivered" && b["data"]["meta_message_id"] == foreign.as_str()
        })
        .await
        .json();
    assert_eq!(late["data"]["message_id"], Value::Null);
    // Each status once: ours `sent` (recorded by the send) and `delivered`.
    let ours_events: Vec<_> = hook
        .bodies()
        .into_iter()
        .filter(|b| b["data"]["message_id"] == id.as_str())
        .map(|b| b["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ours_events, ["message.sent", "message.delivered"]);
}

/// On PostgreSQL the send's transaction can take the parked statuses just
/// before the ingest's parking commits; such a status is applied by the send
/// queue's loop as soon as its message is known, not after the 2 minutes.
#[tokio::test]
async fn a_status_parked_as_its_send_recorded_is_applied_by_the_queue_loop() {
    let app = app().await;
    let hook = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &hook, &WA_EVENTS).await;
    let to = "15550123080";
    user_writes(&app, PHONE_1, to).await;
    let (s, v) = send(&app, &wa, json!({"recipient": to, "text": "crossed"})).await;
    assert_eq!(s, 200, "{v}");
    let id = v["message_id"].as_str().unwrap().to_string();
    let wamid = v["meta_message_id"].as_str().unwrap().to_string();
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    let now = app.state.now();
    app::store::early_statuses::park(
        &mut conn,
        &app::store::early_statuses::EarlyStatus {
            id: "parked-read".into(),
            channel_id: wa.id.clone(),
            meta_message_id: wamid.clone(),
            payload_id: "crossed-payload".into(),
            status: app::domain::events::MessageStatus::Read,
            recipient: to.into(),
            occurred_at: now,
            errors: vec![],
            received_at: now,
            details: Default::default(),
        },
    )
    .await
    .unwrap();
    drop(conn);
    let read = hook.find(is("message.read", &id)).await.json();
    assert_eq!(read["data"]["meta_message_id"], wamid.as_str());
    wait_status(&app, &id, "read").await;
}

/// `POST /api/v1/messages/read`: WhatsApp marks the message read on the
/// user's side (the sandbox records it), Messenger sends `mark_seen` to the
/// user who wrote; unknown ids, another tenant's channel and bad ids are
/// refused with their codes.
#[tokio::test]
async fn inbound_messages_are_marked_read_with_typing() {
    let app = app().await;
    let customer = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &customer, &["message.received"]).await;
    let (s, v) = control(
        &app,
        "inbound",
        json!({"asset_id": PHONE_1, "from": "15550177300", "type": "text", "text": "seen?"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let wamid = v["meta_message_id"].as_str().unwrap().to_string();
    let read = |c: &Chan, id: &str, typing: bool| {
        let body = json!({"channel_id": c.id, "message_id": id, "typing": typing});
        let key = c.key.clone();
        let app = &app;
        async move { call(app, &key, "POST", "/api/v1/messages/read", Some(body)).await }
    };
    let (s, v) = read(&wa, &wamid, true).await;
    assert_eq!((s, v.clone()), (200, json!({"success": true})), "{v}");
    let stored = server::sandbox::db::message_by_id(&app.state.db, &wamid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, "read");
    // An id WhatsApp does not know: Meta's refusal, with its code.
    let (s, v) = read(&wa, "wamid.UNKNOWN", false).await;
    assert_eq!((s, v["code"].as_str()), (502, Some("meta_error")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("100"), "{v}");
    for bad in ["", "wamid with spaces", &"x".repeat(600)] {
        let (s, v) = read(&wa, bad, false).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (400, Some("validation_error")),
            "{v}"
        );
    }

    // Messenger: mark_seen goes to the user who sent the message.
    let fb = channel(&app, "facebook", PAGE_1, &customer, &["message.received"]).await;
    let (s, v) = control(
        &app,
        "inbound",
        json!({"asset_id": PAGE_1, "from": "7100000000000301", "type": "text", "text": "hi page"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let mid = v["meta_message_id"].as_str().unwrap().to_string();
    customer
        .find(|b| b["data"]["message_id"] == json!(mid))
        .await;
    let (s, v) = read(&fb, &mid, true).await;
    assert_eq!((s, v.clone()), (200, json!({"success": true})), "{v}");
    let (s, v) = read(&fb, "m_never_received", false).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")), "{v}");

    // Another account's key cannot reach the channel.
    let (_, other_key) = app.account_with_key().await;
    let foreign = Chan {
        id: wa.id.clone(),
        key: other_key,
        account: String::new(),
    };
    let (s, v) = read(&foreign, &wamid, false).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")), "{v}");
}
