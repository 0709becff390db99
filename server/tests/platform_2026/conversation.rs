//! Conversation features of SPEC §13 over HTTP, the sandbox playing Meta:
//! reply context resolved to Switchboard's id, WhatsApp Flows in and out,
//! pricing and conversation on statuses (from Meta's printed examples too),
//! and raw passthrough per channel.

use app::meta::signature::{meta_json_bytes, sign};
use serde_json::{Value, json};

use crate::common::{self, TestApp};
use crate::connect_support::{PAGE_1, PHONE_1, allow_redirect, call, connect};
use crate::customer_support::{Customer, spawn_customer};
use crate::sandbox_support::{app_secret, control, fixtures};

const EVENTS: [&str; 5] = [
    "message.received",
    "message.sent",
    "message.delivered",
    "message.read",
    "message.failed",
];

async fn app() -> TestApp {
    common::spawn_app_with(&[
        ("SWITCHBOARD_SANDBOX_SENT_DELAY_MS", "100"),
        ("SWITCHBOARD_SANDBOX_DELIVERED_DELAY_MS", "100"),
    ])
    .await
}

struct Chan {
    id: String,
    key: String,
}

/// A fresh account with `asset` connected, its webhook going to `hook`.
async fn channel(app: &TestApp, channel_type: &str, asset: &str, hook: &Customer) -> Chan {
    let (_, key) = app.account_with_key().await;
    allow_redirect(app, &key).await;
    let events = if channel_type == "whatsapp" {
        &EVENTS[..]
    } else {
        &["message.received", "message.delivered", "message.read"][..]
    };
    let v = connect(
        app,
        &key,
        channel_type,
        &[asset],
        Some(asset),
        json!({"webhook_url": hook.url, "webhook_events": events}),
    )
    .await;
    let id = v["id"].as_str().unwrap().to_string();
    if channel_type == "whatsapp" {
        // Registered at connect where that is in place; registering again
        // with a PIN is harmless either way.
        let path = format!("/api/v1/channels/{id}/register");
        call(app, &key, "POST", &path, Some(json!({"pin": "123456"}))).await;
    }
    Chan { id, key }
}

/// The end user writes to `asset`; returns Meta's id of the message.
async fn user_sends(app: &TestApp, body: Value) -> String {
    let (s, v) = control(app, "inbound", body).await;
    assert_eq!(s, 200, "{v}");
    v["meta_message_id"].as_str().unwrap().to_string()
}

async fn send(app: &TestApp, c: &Chan, body: Value) -> (u16, Value) {
    let mut body = body;
    body["channel_id"] = json!(c.id);
    call(app, &c.key, "POST", "/api/v1/messages/send", Some(body)).await
}

/// The `message.received` event of Meta's message `wamid`.
async fn received(hook: &Customer, wamid: &str) -> Value {
    hook.find(|v| v["event"] == "message.received" && v["data"]["message_id"] == wamid)
        .await
        .json()
}

/// Posts a Meta webhook body signed with the platform app's secret.
async fn post_meta(app: &TestApp, body: &Value) {
    let raw = meta_json_bytes(body);
    let r = app
        .http
        .post(app.url("/webhooks/meta"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(&app_secret(app), &raw))
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Meta's printed status example `key`, addressed to the sandbox number.
fn status_fixture(key: &str) -> Value {
    let mut v = fixtures()[key].clone();
    v["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = json!(PHONE_1);
    v
}

#[tokio::test]
async fn replies_name_our_message_and_flows_go_out_and_come_back() {
    let app = app().await;
    let hook = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &hook).await;
    let user = "15550177001";
    user_sends(
        &app,
        json!({"asset_id": PHONE_1, "from": user, "type": "text", "text": "hi"}),
    )
    .await;
    let (s, sent) = send(&app, &wa, json!({"recipient": user, "text": "Your order?"})).await;
    assert_eq!(s, 200, "{sent}");
    let (ours, ours_wamid) = (
        sent["message_id"].as_str().unwrap(),
        sent["meta_message_id"].as_str().unwrap(),
    );

    // The user quotes our message: Meta's id stays, ours is added.
    let quoted = user_sends(
        &app,
        json!({"asset_id": PHONE_1, "from": user, "type": "text", "text": "this one",
            "reply_to": ours_wamid}),
    )
    .await;
    let ev = received(&hook, &quoted).await;
    assert_eq!(
        ev["data"]["context"],
        json!({"reply_to": ours_wamid, "reply_to_message_id": ours, "forwarded": false})
    );
    // A quote of a message not sent through Switchboard has no id of ours.
    let other = user_sends(
        &app,
        json!({"asset_id": PHONE_1, "from": user, "type": "text", "text": "that one",
            "reply_to": "wamid.NOTOURS"}),
    )
    .await;
    let ev = received(&hook, &other).await;
    assert_eq!(ev["data"]["context"]["reply_to"], "wamid.NOTOURS");
    assert_eq!(ev["data"]["context"]["reply_to_message_id"], Value::Null);

    // A Flow goes out as Meta's interactive flow message.
    let flow = json!({"flow_id": "1500000000000042", "cta": "Book a slot", "body": "Pick a time",
        "flow_token": "booking-42", "screen": "SLOTS", "data": {"day": "mon"}});
    let (s, v) = send(
        &app,
        &wa,
        json!({"recipient": user, "type": "flow", "flow": flow}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (flow_id, flow_wamid) = (
        v["message_id"].as_str().unwrap().to_string(),
        v["meta_message_id"].as_str().unwrap().to_string(),
    );
    let at_meta = server::sandbox::db::message_by_id(&app.state.db, &flow_wamid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        at_meta.body["interactive"],
        json!({"type": "flow", "body": {"text": "Pick a time"}, "action": {"name": "flow",
            "parameters": {"flow_message_version": "3", "flow_id": "1500000000000042",
                "flow_cta": "Book a slot", "flow_token": "booking-42", "flow_action": "navigate",
                "flow_action_payload": {"screen": "SLOTS", "data": {"day": "mon"}}}}})
    );
    // Meta's limits are checked before Meta sees the message.
    for (bad, word) in [
        (
            json!({"flow_id": "1", "cta": "x".repeat(21), "body": "b"}),
            "flow.cta",
        ),
        (
            json!({"flow_id": "1", "cta": "Go", "body": ""}),
            "flow.body",
        ),
        (
            json!({"flow_id": "1", "cta": "Go", "body": "b", "data": {"a": 1}}),
            "needs `screen`",
        ),
    ] {
        let (s, v) = send(
            &app,
            &wa,
            json!({"recipient": user, "type": "flow", "flow": bad}),
        )
        .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (400, Some("validation_error")),
            "{v}"
        );
        assert!(v["detail"].as_str().unwrap().contains(word), "{v}");
    }
    // The user completes the Flow: its answers arrive parsed, with the
    // token it was sent with and the Flow message quoted.
    let answer = user_sends(
        &app,
        json!({"asset_id": PHONE_1, "from": user, "type": "flow_reply",
            "flow_reply": {"response": {"slot": "09:00"}}}),
    )
    .await;
    let ev = received(&hook, &answer).await;
    assert_eq!(ev["data"]["type"], "flow_reply");
    assert_eq!(
        ev["data"]["flow_reply"],
        json!({"name": "flow", "flow_token": "booking-42",
            "response": {"slot": "09:00", "flow_token": "booking-42"}})
    );
    assert_eq!(
        ev["data"]["context"]["reply_to_message_id"],
        flow_id.as_str()
    );
    // An explicit token and name are Meta's to echo.
    let answer = user_sends(
        &app,
        json!({"asset_id": PHONE_1, "from": user, "type": "flow_reply",
            "flow_reply": {"name": "survey", "flow_token": "t-2", "response": {"rating": 5}}}),
    )
    .await;
    let ev = received(&hook, &answer).await;
    assert_eq!(
        ev["data"]["flow_reply"],
        json!({"name": "survey", "flow_token": "t-2", "response": {"rating": 5, "flow_token": "t-2"}})
    );

    // Flows are WhatsApp's: a Messenger channel says so.
    let fb = channel(&app, "facebook", PAGE_1, &hook).await;
    let (s, v) = send(
        &app,
        &fb,
        json!({"recipient": "7100000000000777", "type": "flow",
            "flow": {"flow_id": "1", "cta": "Go", "body": "b"}}),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("not_supported")), "{v}");
}

#[tokio::test]
async fn sandbox_graph_checks_flow_messages_like_meta() {
    use app::meta::types::{WaContent, WaMessage};
    let app = app().await;
    let meta = &app.state.meta;
    let token = crate::sandbox_support::whatsapp_token(&app).await;
    meta.register_phone(PHONE_1, "123456", &token)
        .await
        .unwrap();
    let user = "15550177002";
    user_sends(
        &app,
        json!({"asset_id": PHONE_1, "from": user, "type": "text", "text": "hi"}),
    )
    .await;
    let flow = |params: Value| WaMessage {
        content: WaContent::Interactive(json!({"type": "flow", "body": {"text": "Pick"},
            "action": {"name": "flow", "parameters": params}})),
        ..WaMessage::text(user, "")
    };
    let ok = json!({"flow_message_version": "3", "flow_id": "1500000000000042",
        "flow_cta": "Open", "flow_action": "navigate", "flow_action_payload": {"screen": "A"}});
    meta.send_whatsapp(PHONE_1, &token, &flow(ok.clone()))
        .await
        .expect("a valid flow message is accepted");
    for (change, code) in [
        (json!({"flow_cta": "An extremely long button"}), 131009),
        (json!({"flow_cta": "Go \u{1f680}"}), 131009),
        (json!({"flow_message_version": "2"}), 131009),
        (json!({"flow_action_payload": null}), 131008),
        (json!({"flow_action": "data_exchange"}), 131009),
        (json!({"flow_id": null}), 131008),
        (
            json!({"flow_action_payload": {"screen": "A", "data": {}}}),
            131009,
        ),
    ] {
        let mut p = ok.clone();
        for (k, val) in change.as_object().unwrap() {
            if val.is_null() {
                p.as_object_mut().unwrap().remove(k);
            } else {
                p[k] = val.clone();
            }
        }
        let e = meta
            .send_whatsapp(PHONE_1, &token, &flow(p))
            .await
            .expect_err("refused");
        assert_eq!(e.graph().map(|g| g.code), Some(code), "{change}: {e:?}");
    }
}

#[tokio::test]
async fn statuses_carry_pricing_and_events_carry_raw_when_asked() {
    let app = app().await;
    let hook = spawn_customer().await;
    let wa = channel(&app, "whatsapp", PHONE_1, &hook).await;
    let user = "15550177003";
    user_sends(
        &app,
        json!({"asset_id": PHONE_1, "from": user, "type": "text", "text": "hi"}),
    )
    .await;

    // The sandbox reports pricing the way Meta does under per-message pricing.
    let (s, v) = send(&app, &wa, json!({"recipient": user, "text": "Thanks!"})).await;
    assert_eq!(s, 200, "{v}");
    let id = v["message_id"].as_str().unwrap().to_string();
    let wamid_out = v["meta_message_id"].as_str().unwrap().to_string();
    let free = json!({"billable": false, "category": "service", "model": "PMP",
        "type": "free_customer_service"});
    // `message.sent` comes from Meta's answer to the send, before Meta's
    // own `sent` status (kept, not repeated): pricing rides on `delivered`.
    let e = hook
        .find(|v| v["event"] == "message.delivered" && v["data"]["message_id"] == id.as_str())
        .await
        .json();
    assert_eq!(e["data"]["pricing"], free, "{e}");
    assert_eq!(e["data"]["conversation"]["origin"], "service", "{e}");
    assert_eq!(
        e["data"]["conversation"]["id"].as_str().map(str::len),
        Some(32),
        "{e}"
    );
    assert!(e.get("raw").is_none(), "raw is off by default: {e}");

    // Meta's printed examples: `sent` and `delivered` carry both, `read`
    // and `failed` neither.
    for (key, event, pricing) in [
        ("A.10", "message.sent", free.clone()),
        ("A.12", "message.read", Value::Null),
        ("A.13", "message.failed", Value::Null),
    ] {
        let body = status_fixture(key);
        post_meta(&app, &body).await;
        let wamid = body["entry"][0]["changes"][0]["value"]["statuses"][0]["id"].clone();
        let e = hook
            .find(|v| v["event"] == event && v["data"]["meta_message_id"] == wamid)
            .await
            .json();
        assert_eq!(e["data"]["pricing"], pricing, "{key}: {e}");
        let conversation = if key == "A.10" {
            json!({"id": "8f1e0b5c2a3d4e5f60718293a4b5c6d7", "origin": "service"})
        } else {
            Value::Null
        };
        assert_eq!(e["data"]["conversation"], conversation, "{key}: {e}");
    }

    // Raw passthrough: on through the API, shown on the channel …
    let path = format!("/api/v1/channels/{}", wa.id);
    let (s, v) = call(
        &app,
        &wa.key,
        "PATCH",
        &path,
        Some(json!({"include_raw": true})),
    )
    .await;
    assert_eq!((s, &v["include_raw"]), (200, &json!(true)), "{v}");
    let (_, v) = call(&app, &wa.key, "GET", &path, None).await;
    assert_eq!(v["include_raw"], true, "{v}");
    // … a received message carries Meta's `change.value` …
    let wamid = user_sends(
        &app,
        json!({"asset_id": PHONE_1, "from": user, "type": "text", "text": "raw please"}),
    )
    .await;
    let e = received(&hook, &wamid).await;
    assert_eq!(e["raw"]["messages"][0]["id"], wamid.as_str(), "{e}");
    assert_eq!(e["raw"]["metadata"]["phone_number_id"], PHONE_1, "{e}");
    assert_eq!(e["data"]["text"], "raw please");
    // … and a status the exact value Meta posted.
    let body = status_fixture("A.11");
    post_meta(&app, &body).await;
    let e = hook
        .find(|v| v["event"] == "message.delivered" && v["raw"].is_object())
        .await
        .json();
    assert_eq!(e["raw"], body["entry"][0]["changes"][0]["value"], "{e}");

    // A status parked until its send recorded Meta's id keeps both.
    let item = json!({"statuses": [{"id": wamid_out, "status": "read"}]});
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    let now = app.state.now();
    app::store::early_statuses::park(
        &mut conn,
        &app::store::early_statuses::EarlyStatus {
            id: "parked-read".into(),
            channel_id: wa.id.clone(),
            meta_message_id: wamid_out.clone(),
            payload_id: "crossed-payload".into(),
            status: app::domain::events::MessageStatus::Read,
            recipient: user.into(),
            occurred_at: now,
            errors: vec![],
            received_at: now,
            details: app::store::early_statuses::Details {
                billing: app::domain::events::Billing {
                    pricing: json!({"billable": true, "category": "utility", "model": "PMP",
                        "type": "regular"}),
                    conversation: Value::Null,
                },
                raw: Some(app.state.cipher.encrypt(item.to_string().as_bytes())),
            },
        },
    )
    .await
    .unwrap();
    drop(conn);
    let e = hook
        .find(|v| v["event"] == "message.read" && v["data"]["message_id"] == id.as_str())
        .await
        .json();
    assert_eq!(e["data"]["pricing"]["category"], "utility", "{e}");
    assert_eq!(e["data"]["conversation"], Value::Null, "{e}");
    assert_eq!(e["raw"], item, "{e}");

    // Off again: nothing raw.
    let (s, v) = call(
        &app,
        &wa.key,
        "PATCH",
        &path,
        Some(json!({"include_raw": false})),
    )
    .await;
    assert_eq!((s, &v["include_raw"]), (200, &json!(false)), "{v}");
    let wamid = user_sends(
        &app,
        json!({"asset_id": PHONE_1, "from": user, "type": "text", "text": "plain"}),
    )
    .await;
    let e = received(&hook, &wamid).await;
    assert!(e.get("raw").is_none(), "{e}");

    // Messenger: the `messaging` item.
    let fb = channel(&app, "facebook", PAGE_1, &hook).await;
    let path = format!("/api/v1/channels/{}", fb.id);
    let (s, v) = call(
        &app,
        &fb.key,
        "PATCH",
        &path,
        Some(json!({"include_raw": true})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let mid = user_sends(
        &app,
        json!({"asset_id": PAGE_1, "from": "7100000000000777", "type": "text", "text": "hey"}),
    )
    .await;
    let e = received(&hook, &mid).await;
    assert_eq!(e["raw"]["message"]["mid"], mid.as_str(), "{e}");
    assert_eq!(e["raw"]["sender"]["id"], "7100000000000777", "{e}");
}
