//! The Meta sandbox over HTTP: webhooks shaped like the reference fixtures
//! and signed so `verify` accepts them (and rejects a one-byte change), the
//! OAuth dialog's redirects, status progression, retries, faults and admin.

mod common;
mod sandbox_support;

use app::meta::signature::verify;
use app::meta::types::*;
use sandbox_support::*;
use serde_json::{Value, json};

const WABA: &str = "100000000000001";
const PHONE: &str = "110000000000001";
const PAGE: &str = "150000000000001";
const IG: &str = "17841400000000001";

/// Asserts the signature verifies, and fails after flipping one byte.
fn assert_signed(app: &common::TestApp, c: &Captured) {
    let secret = app_secret(app);
    assert!(
        verify(&secret, &c.body, &c.signature),
        "signature must verify"
    );
    let mut changed = c.body.clone();
    let i = changed.len() / 2;
    changed[i] ^= 0x01;
    assert!(
        !verify(&secret, &changed, &c.signature),
        "a one-byte change must fail"
    );
}

fn assert_shape(actual: &Value, fixture_key: &str) {
    let fx = fixtures();
    let want = &fx[fixture_key];
    assert!(!want.is_null(), "no fixture {fixture_key}");
    assert_eq!(
        shape(actual),
        shape(want),
        "shape differs from fixture {fixture_key}\nactual: {actual}"
    );
}

/// The WhatsApp message of a webhook, in a fixture's envelope shape.
fn wa_msg(v: &Value) -> &Value {
    v.pointer("/entry/0/changes/0/value/messages/0").unwrap()
}

async fn subscribed_app() -> (common::TestApp, Sink) {
    let (app, sink) = app_with_sink(0).await;
    let tok = whatsapp_token(&app).await;
    app.state
        .meta
        .subscribe_app(WABA, &tok, &Subscription::default())
        .await
        .unwrap();
    let ptok = page_token(&app, PAGE, false).await;
    let fields = Subscription {
        fields: vec![
            "messages".into(),
            "message_echoes".into(),
            "message_deliveries".into(),
            "message_reads".into(),
        ],
        ..Default::default()
    };
    app.state
        .meta
        .subscribe_app(PAGE, &ptok, &fields)
        .await
        .unwrap();
    (app, sink)
}

#[tokio::test]
async fn every_inbound_type_matches_its_fixture_and_is_signed() {
    let (app, sink) = subscribed_app().await;
    let ctx = "wamid.GAsxMjAyNTU1MDEwMRUCABIYFDNFQjAwMDAwMDAwMDAwMDAwMTAwAA==";
    // (request, fixture compared with the whole envelope, or with the message only)
    let cases: Vec<(Value, &str, bool)> = vec![
        (
            json!({"type": "text", "text": "Hello, is my order ready?"}),
            "A.1",
            true,
        ),
        (
            json!({"type": "image", "media": {"mime_type": "image/jpeg", "caption": "Photo"}}),
            "A.2",
            true,
        ),
        (
            json!({"type": "reaction", "reaction": {"message_id": ctx, "emoji": "\u{2764}\u{fe0f}"}}),
            "A.3",
            true,
        ),
        (
            json!({"type": "button", "button": {"payload": "CONFIRM", "text": "Confirm"}, "reply_to": ctx}),
            "A.4",
            true,
        ),
        (
            json!({"type": "interactive", "interactive": {"kind": "button", "id": "confirm_yes", "title": "Yes"}, "reply_to": ctx}),
            "A.5",
            true,
        ),
        (
            json!({"type": "interactive", "interactive": {"kind": "list", "id": "slot_0900", "title": "09:00", "description": "Morning slot"}, "reply_to": ctx}),
            "A.6",
            true,
        ),
        (
            json!({"type": "location", "location": {"latitude": 38.8977, "longitude": -77.0365, "name": "Example Store", "address": "1 Example Ave", "url": "https://maps.example.com/"}}),
            "A.7",
            true,
        ),
        (json!({"type": "contacts"}), "A.8", true),
        (
            json!({"type": "unsupported", "unsupported_type": "poll"}),
            "A.9",
            true,
        ),
        (
            json!({"type": "video", "media": {"mime_type": "video/mp4", "caption": "Unboxing"}}),
            "msg.video",
            false,
        ),
        (
            json!({"type": "audio", "media": {"mime_type": "audio/ogg; codecs=opus", "voice": true}}),
            "msg.audio",
            false,
        ),
        (
            json!({"type": "document", "media": {"mime_type": "application/pdf", "caption": "Invoice", "filename": "invoice.pdf"}}),
            "msg.document",
            false,
        ),
        (json!({"type": "sticker"}), "msg.sticker", false),
        (
            json!({"type": "reaction", "reaction": {"message_id": ctx, "emoji": null}}),
            "msg.reaction_removed",
            false,
        ),
        (json!({"type": "order"}), "msg.order", false),
        (
            json!({"type": "echo", "text": "Answered from the phone app"}),
            "wa.smb_message_echoes",
            true,
        ),
    ];
    for (i, (mut req, fixture, whole)) in cases.into_iter().enumerate() {
        req["asset_id"] = json!(PHONE);
        req["from"] = json!("12025550101");
        req["from_name"] = json!("Ana Customer");
        let (status, body) = control(&app, "inbound", req.clone()).await;
        assert_eq!(status, 200, "{req}: {body}");
        let id = body["meta_message_id"].as_str().unwrap().to_string();
        let hooks = sink.wait_for(i + 1).await;
        let hook = &hooks[i];
        let v = hook.json();
        if whole {
            assert_shape(&v, fixture);
        } else {
            assert_shape(wa_msg(&v), fixture);
        }
        if fixture != "wa.smb_message_echoes" {
            assert_eq!(wa_msg(&v)["id"], id.as_str());
            assert_eq!(
                v.pointer("/entry/0/changes/0/value/metadata/display_phone_number")
                    .unwrap(),
                "15550100001"
            );
        }
        assert_signed(&app, hook);
    }
    let removed = wa_msg(&sink.all()[13].json()).clone();
    assert_eq!(removed["reaction"]["emoji"], "");
}

#[tokio::test]
async fn messenger_and_instagram_inbound_match_fixtures() {
    let (app, sink) = subscribed_app().await;
    let psid = "7100000000000001";
    let igsid = "6400000000000001";
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            PAGE,
            psid,
            json!({"type": "text", "text": "Do you ship to Canada?"}),
            "A.15",
        ),
        (PAGE, psid, json!({"type": "image"}), "A.16"),
        (
            PAGE,
            psid,
            json!({"type": "reaction", "reaction": {"message_id": "m_x", "emoji": "\u{2764}"}}),
            "A.20",
        ),
        (
            PAGE,
            psid,
            json!({"type": "postback", "postback": {"title": "Get Started", "payload": "GET_STARTED"}}),
            "A.21",
        ),
        (
            IG,
            igsid,
            json!({"type": "text", "text": "Is this still available?"}),
            "A.22",
        ),
        (IG, igsid, json!({"type": "story_mention"}), "A.23"),
        (
            IG,
            igsid,
            json!({"type": "story_reply", "text": "Love this colour!"}),
            "A.24",
        ),
        (
            IG,
            igsid,
            json!({"type": "echo", "text": "Yes, it is."}),
            "A.25",
        ),
        (
            IG,
            igsid,
            json!({"type": "deleted", "message_id": "aWdfaXRlbTox"}),
            "A.27",
        ),
        (
            IG,
            igsid,
            json!({"type": "reaction", "reaction": {"message_id": "aWdfaXRlbTox", "emoji": "\u{2764}\u{fe0f}"}}),
            "A.28",
        ),
    ];
    for (i, (asset, from, mut req, fixture)) in cases.into_iter().enumerate() {
        req["asset_id"] = json!(asset);
        req["from"] = json!(from);
        let (status, body) = control(&app, "inbound", req.clone()).await;
        assert_eq!(status, 200, "{req}: {body}");
        let hook = &sink.wait_for(i + 1).await[i];
        let v = hook.json();
        assert_shape(&v, fixture);
        assert_eq!(v["entry"][0]["id"], asset);
        assert_signed(&app, hook);
    }
    // Share is an Instagram attachment like the story mention.
    let (s, _) = control(&app, "inbound", json!({"asset_id": IG, "from": igsid, "type": "share", "share": {"url": "https://www.instagram.com/p/x/"}})).await;
    assert_eq!(s, 200);
    let v = sink.wait_for(11).await[10].json();
    assert_eq!(
        v.pointer("/entry/0/messaging/0/message/attachments/0/type")
            .unwrap(),
        "share"
    );
    // Unknown types and assets are refused in the product's error shape.
    let (s, body) = control(
        &app,
        "inbound",
        json!({"asset_id": PAGE, "from": psid, "type": "story_mention"}),
    )
    .await;
    assert_eq!((s, body["code"].as_str()), (400, Some("validation_error")));
    let (s, body) = control(
        &app,
        "inbound",
        json!({"asset_id": "1", "from": psid, "type": "text", "text": "x"}),
    )
    .await;
    assert_eq!((s, body["code"].as_str()), (404, Some("not_found")));
    let res = app
        .http
        .post(app.url("/sandbox/api/inbound"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_json");
}

#[tokio::test]
async fn whatsapp_statuses_progress_and_match_fixtures() {
    let (app, sink) = subscribed_app().await;
    let meta = &app.state.meta;
    let tok = whatsapp_token(&app).await;
    meta.register_phone(PHONE, "123456", &tok).await.unwrap();
    control(
        &app,
        "inbound",
        json!({"asset_id": PHONE, "from": "12025550101", "type": "text", "text": "hi"}),
    )
    .await;
    let wamid = meta
        .send_whatsapp(PHONE, &tok, &WaMessage::text("12025550101", "Hello"))
        .await
        .unwrap()
        .message_id()
        .to_string();
    let status_of = |v: &Value| {
        v.pointer("/entry/0/changes/0/value/statuses/0/status")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let sent = sink.find(|v| status_of(v).as_deref() == Some("sent")).await;
    assert_shape(&sent.json(), "A.10");
    assert_signed(&app, &sent);
    let delivered = sink
        .find(|v| status_of(v).as_deref() == Some("delivered"))
        .await;
    assert_shape(&delivered.json(), "A.11");
    assert_eq!(
        delivered
            .json()
            .pointer("/entry/0/changes/0/value/statuses/0/id")
            .unwrap(),
        wamid.as_str()
    );
    let (s, _) = control(
        &app,
        "status",
        json!({"meta_message_id": wamid, "status": "read"}),
    )
    .await;
    assert_eq!(s, 200);
    let read = sink.find(|v| status_of(v).as_deref() == Some("read")).await;
    assert_shape(&read.json(), "A.12");
    let (s, body) = control(
        &app,
        "status",
        json!({"meta_message_id": wamid, "status": "failed"}),
    )
    .await;
    assert_eq!((s, body["code"].as_str()), (400, Some("validation_error")));
    control(
        &app,
        "status",
        json!({"meta_message_id": wamid, "status": "failed", "error_code": 131047}),
    )
    .await;
    let failed = sink
        .find(|v| status_of(v).as_deref() == Some("failed"))
        .await;
    assert_shape(&failed.json(), "A.13");
    assert_signed(&app, &failed);
    let (s, _) = control(
        &app,
        "status",
        json!({"meta_message_id": "wamid.nope", "status": "read"}),
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn messenger_echo_delivery_read_and_instagram_read() {
    let (app, sink) = subscribed_app().await;
    let meta = &app.state.meta;
    let ptok = page_token(&app, PAGE, false).await;
    let psid = "7100000000000001";
    control(
        &app,
        "inbound",
        json!({"asset_id": PAGE, "from": psid, "type": "text", "text": "hi"}),
    )
    .await;
    let mut msg = PageMessage::text(psid, "Yes, we ship to Canada.");
    msg.metadata = Some("gw:out:42".into());
    let mid = meta
        .send_page_message(PAGE, &ptok, &msg)
        .await
        .unwrap()
        .message_id
        .unwrap();
    let echo = sink
        .find(|v| v.pointer("/entry/0/messaging/0/message/is_echo").is_some())
        .await;
    assert_shape(&echo.json(), "A.17");
    assert_signed(&app, &echo);
    let delivery = sink
        .find(|v| v.pointer("/entry/0/messaging/0/delivery").is_some())
        .await;
    assert_shape(&delivery.json(), "A.18");
    assert_eq!(
        delivery
            .json()
            .pointer("/entry/0/messaging/0/delivery/mids/0")
            .unwrap(),
        mid.as_str()
    );
    control(
        &app,
        "status",
        json!({"meta_message_id": mid, "status": "read"}),
    )
    .await;
    let read = sink
        .find(|v| v.pointer("/entry/0/messaging/0/read/watermark").is_some())
        .await;
    assert_shape(&read.json(), "A.19");
    // Instagram read is per message (messaging_seen).
    let itok = page_token(&app, PAGE, true).await;
    control(
        &app,
        "inbound",
        json!({"asset_id": IG, "from": "6400000000000001", "type": "text", "text": "hi"}),
    )
    .await;
    let igmid = meta
        .send_instagram_message(IG, &itok, &PageMessage::text("6400000000000001", "hey"))
        .await
        .unwrap()
        .message_id
        .unwrap();
    control(
        &app,
        "status",
        json!({"meta_message_id": igmid, "status": "read"}),
    )
    .await;
    let igread = sink
        .find(|v| v.pointer("/entry/0/messaging/0/read/mid").is_some())
        .await;
    assert_shape(&igread.json(), "A.26");
    let (s, _) = control(
        &app,
        "status",
        json!({"meta_message_id": igmid, "status": "delivered"}),
    )
    .await;
    assert_eq!(s, 400, "Instagram has no delivery event");
}

#[tokio::test]
async fn oauth_dialog_page_continue_and_cancel() {
    let (app, _sink) = app_with_sink(0).await;
    let id = app_id(&app);
    let cfg = app.state.config.meta_config_id_whatsapp.clone().unwrap();
    let url = format!(
        "/sandbox/dialog/oauth?client_id={id}&redirect_uri={}&state=abc&config_id={cfg}&response_type=code",
        url::form_urlencoded::byte_serialize(redirect(&app).as_bytes()).collect::<String>()
    );
    let res = app.http.get(app.url(&url)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Sandbox Business"));
    assert!(html.contains("+1 555 0100 001") && html.contains("+1 555 0100 002"));
    assert!(
        html.contains("type=\"checkbox\"") && html.contains("Continue") && html.contains("Cancel")
    );
    // Facebook Login lists Pages instead.
    let fb = app.state.config.meta_config_id_facebook.clone().unwrap();
    let html = app
        .http
        .get(app.url(&url.replace(&cfg, &fb)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Sandbox Store")
            && html.contains("Sandbox Outlet")
            && !html.contains("+1 555 0100 001")
    );
    // Continue → code and state on the redirect URI, its own query kept.
    let loc = dialog(&app, &[("config_id", &cfg)], &[PHONE], "continue").await;
    assert!(
        loc.starts_with(&format!("{}&code=", redirect(&app))),
        "{loc}"
    );
    assert_eq!(common::query_param(&loc, "state"), "st-42");
    // Cancel → Meta's error parameters and the state, never a code.
    let loc = dialog(&app, &[("config_id", &cfg)], &[PHONE], "cancel").await;
    let u = url::Url::parse(&loc).unwrap();
    let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["error_reason"], "user_denied");
    assert!(!q["error_description"].is_empty());
    assert_eq!(q["state"], "st-42");
    assert!(!q.contains_key("code"));
    // Continue without a choice re-renders the page with an error.
    let res = app
        .http
        .post(app.url("/sandbox/dialog/oauth"))
        .header("origin", &app.base)
        .form(&[
            ("client_id", id.as_str()),
            ("redirect_uri", redirect(&app).as_str()),
            ("config_id", &cfg),
            ("action", "continue"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Select at least one"));
    // A foreign client_id is refused on the page itself.
    let res = app
        .http
        .get(app.url(&url.replace(&id, "123")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn failed_webhooks_are_retried_and_faults_apply() {
    let (app, sink) = app_with_sink(1).await;
    let tok = whatsapp_token(&app).await;
    app.state
        .meta
        .subscribe_app(WABA, &tok, &Subscription::default())
        .await
        .unwrap();
    let (_, body) = control(
        &app,
        "inbound",
        json!({"asset_id": PHONE, "from": "12025550101", "type": "text", "text": "one"}),
    )
    .await;
    assert_eq!(body["webhook"]["status"], "pending", "{body}");
    // The retry worker sends it again after the first backoff (1 s).
    let hooks = sink.wait_for(2).await;
    assert_eq!(hooks[0].body, hooks[1].body);
    // Dropped and duplicated webhooks.
    control(&app, "faults", json!({"kind": "drop_webhooks", "count": 1})).await;
    let (_, body) = control(
        &app,
        "inbound",
        json!({"asset_id": PHONE, "from": "12025550101", "type": "text", "text": "two"}),
    )
    .await;
    assert_eq!(body["webhook"]["status"], "dropped");
    control(
        &app,
        "faults",
        json!({"kind": "duplicate_webhooks", "enabled": true}),
    )
    .await;
    control(
        &app,
        "inbound",
        json!({"asset_id": PHONE, "from": "12025550101", "type": "text", "text": "three"}),
    )
    .await;
    let hooks = sink.wait_for(4).await;
    assert_eq!(hooks[2].body, hooks[3].body);
    let res = app
        .http
        .delete(app.url("/sandbox/api/faults"))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["faults"], json!([]));
    // Unsubscribed assets get no webhooks at all.
    app.state.meta.unsubscribe_app(WABA, &tok).await.unwrap();
    let (_, body) = control(
        &app,
        "inbound",
        json!({"asset_id": PHONE, "from": "12025550101", "type": "text", "text": "four"}),
    )
    .await;
    assert_eq!(body["webhook"]["status"], "not_subscribed");
    // Latency faults delay the call.
    control(
        &app,
        "faults",
        json!({"kind": "latency", "path": "phone_numbers", "ms": 300, "count": 1}),
    )
    .await;
    let t0 = std::time::Instant::now();
    app.state.meta.phone_numbers(WABA, &tok).await.unwrap();
    assert!(t0.elapsed().as_millis() >= 300);
    let (s, body) = control(&app, "faults", json!({"kind": "meteor"})).await;
    assert_eq!((s, body["code"].as_str()), (400, Some("validation_error")));
}

#[tokio::test]
async fn template_review_sends_status_update() {
    let (app, sink) = subscribed_app().await;
    let tok = whatsapp_token(&app).await;
    let created = app
        .state
        .meta
        .create_template(
            WABA,
            &tok,
            &NewTemplate {
                name: "spring_sale".into(),
                language: "en_US".into(),
                category: "MARKETING".into(),
                parameter_format: None,
                components: vec![json!({"type": "BODY", "text": "Sale!"})],
                allow_category_change: None,
            },
        )
        .await
        .unwrap();
    let (s, _) = control(
        &app,
        &format!("templates/{}/review", created.id),
        json!({"status": "REJECTED", "reason": "Too vague."}),
    )
    .await;
    assert_eq!(s, 200);
    let hook = sink
        .find(|v| {
            v.pointer("/entry/0/changes/0/field") == Some(&json!("message_template_status_update"))
        })
        .await;
    assert_shape(&hook.json(), "wa.message_template_status_update");
    assert_signed(&app, &hook);
    let (s, _) = control(&app, "templates/999/review", json!({"status": "APPROVED"})).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn assets_reset_and_seed() {
    let (app, _sink) = app_with_sink(0).await;
    let (s, body) = control(
        &app,
        "assets",
        json!({"kind": "whatsapp", "waba_id": WABA, "display_phone_number": "+1 555 0100 003"}),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = control(
        &app,
        "assets",
        json!({"kind": "instagram", "username": "second.shop"}),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(
        body["assets"].as_array().unwrap().len(),
        2,
        "a new Page comes with it"
    );
    let (s, _) = control(&app, "assets", json!({"kind": "fax"})).await;
    assert_eq!(s, 400);
    let tok = whatsapp_token(&app).await;
    assert_eq!(
        app.state
            .meta
            .phone_numbers(WABA, &tok)
            .await
            .unwrap()
            .len(),
        3
    );
    let (s, _) = control(&app, "reset", json!({})).await;
    assert_eq!(s, 200);
    let list: Value = app
        .http
        .get(app.url("/sandbox/api/assets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = list["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "business",
            "waba",
            "phone",
            "phone",
            "page",
            "page",
            "instagram"
        ]
    );
    // Tokens from before the reset are gone.
    let e = app.state.meta.phone_numbers(WABA, &tok).await.unwrap_err();
    assert_eq!(e.class(), app::meta::ErrorClass::TokenDead);
}

#[tokio::test]
async fn sandbox_is_absent_in_live_mode() {
    let app = common::spawn_app_with(&[
        ("SWITCHBOARD_META_MODE", "live"),
        ("SWITCHBOARD_META_APP_ID", "900000000000001"),
        ("SWITCHBOARD_META_APP_SECRET", "test_app_secret"),
        ("SWITCHBOARD_META_VERIFY_TOKEN", "verify"),
        ("SWITCHBOARD_META_CONFIG_ID_WHATSAPP", "123"),
        ("SWITCHBOARD_BILLING_PROVIDER", "sandbox"),
        ("SWITCHBOARD_META_GRAPH_URL", "http://127.0.0.1:9"),
    ])
    .await;
    let res = app
        .http
        .post(app.url("/sandbox/api/reset"))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 200);
    assert_eq!(app.state.meta.settings().graph_url, "http://127.0.0.1:9");
}
