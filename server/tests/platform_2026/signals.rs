//! Account signals and the per-channel retry horizon (SPEC §13) over HTTP:
//! Meta's `account_update` / `phone_number_quality_update` webhooks become
//! `channel.account_update` at event endpoints and move the channel's
//! `account_status` and `quality_rating`; the sandbox emits them; the
//! channel's `retry_policy` is set through the API.

use app::meta::signature::{meta_json_bytes, sign};
use serde_json::{Value, json};

use crate::common::{self, TestApp};
use crate::connect_support::{PHONE_1, WABA, allow_redirect, call, connect};
use crate::customer_support::{Customer, spawn_customer};
use crate::sandbox_support::{app_secret, control};

const EVENT: &str = "channel.account_update";

struct Chan {
    id: String,
    key: String,
    /// The number's digits as the channel stores them.
    phone: String,
}

/// A fresh account with the sandbox number connected and an event endpoint
/// for account signals.
async fn setup(app: &TestApp) -> (Chan, Customer) {
    let (_, key) = app.account_with_key().await;
    allow_redirect(app, &key).await;
    let v = connect(app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    let hook = spawn_customer().await;
    let (s, e) = call(
        app,
        &key,
        "POST",
        "/api/v1/event-endpoints",
        Some(json!({"url": hook.url, "events": [EVENT]})),
    )
    .await;
    assert_eq!(s, 201, "{e}");
    let chan = Chan {
        id: v["id"].as_str().unwrap().to_string(),
        phone: v["phone_number"].as_str().unwrap().to_string(),
        key,
    };
    (chan, hook)
}

async fn channel_json(app: &TestApp, c: &Chan) -> Value {
    let (s, v) = call(
        app,
        &c.key,
        "GET",
        &format!("/api/v1/channels/{}", c.id),
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// A WhatsApp webhook from Meta, signed with the platform app's secret.
async fn post_meta(app: &TestApp, field: &str, value: Value, time: i64) {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": WABA,
        "time": time, "changes": [{"field": field, "value": value}]}]});
    let raw = meta_json_bytes(&body);
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

/// The `channel.account_update` with Meta's `event`.
async fn signal(hook: &Customer, event: &str) -> Value {
    hook.find(|v| v["event"] == EVENT && v["data"]["event"] == event)
        .await
        .json()
}

#[tokio::test]
async fn meta_account_signals_reach_event_endpoints_and_the_channel() {
    let app = common::spawn_app().await;
    let (c, hook) = setup(&app).await;
    let v = channel_json(&app, &c).await;
    assert_eq!(v["account_status"], "ok", "{v}");
    assert_eq!(v["quality_rating"], "GREEN", "{v}");

    // The WABA is restricted: every channel on it.
    let restriction = json!([{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
        "expiration": 1790600000}]);
    post_meta(
        &app,
        "account_update",
        json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": restriction}),
        1790001000,
    )
    .await;
    let e = signal(&hook, "ACCOUNT_RESTRICTION").await;
    assert_eq!(e["data"]["channel_id"], c.id.as_str(), "{e}");
    assert_eq!(e["data"]["waba_id"], WABA, "{e}");
    assert_eq!(e["data"]["details"]["restriction_info"], restriction, "{e}");
    assert!(
        e.get("channel_id").is_none_or(Value::is_null),
        "an account event: {e}"
    );
    assert_eq!(channel_json(&app, &c).await["account_status"], "restricted");

    // The number's quality falls: that channel is flagged and rated red.
    post_meta(
        &app,
        "phone_number_quality_update",
        json!({"display_phone_number": c.phone, "event": "FLAGGED", "current_limit": "TIER_1K"}),
        1790002000,
    )
    .await;
    let e = signal(&hook, "FLAGGED").await;
    assert_eq!(e["data"]["channel_id"], c.id.as_str(), "{e}");
    assert_eq!(e["data"]["details"]["current_limit"], "TIER_1K", "{e}");
    let v = channel_json(&app, &c).await;
    assert_eq!(v["account_status"], "flagged", "{v}");
    assert_eq!(v["quality_rating"], "RED", "{v}");

    // Another number of the WABA recovering concerns no channel here; the
    // WABA disabled afterwards does (payloads are applied in order).
    post_meta(
        &app,
        "phone_number_quality_update",
        json!({"display_phone_number": "19995550123", "event": "UNFLAGGED", "current_limit": "TIER_1K"}),
        1790003000,
    )
    .await;
    post_meta(
        &app,
        "account_update",
        json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "DISABLE",
            "waba_ban_date": "2026-09-21"}}),
        1790004000,
    )
    .await;
    signal(&hook, "DISABLED_UPDATE").await;
    let v = channel_json(&app, &c).await;
    assert_eq!(v["account_status"], "disabled", "{v}");
    assert_eq!(v["quality_rating"], "RED", "{v}");
    assert!(
        !hook
            .bodies()
            .iter()
            .any(|b| b["data"]["event"] == "UNFLAGGED"),
        "{:?}",
        hook.bodies()
    );
}

#[tokio::test]
async fn the_sandbox_emits_account_signals() {
    let app = common::spawn_app().await;
    let (c, hook) = setup(&app).await;

    let (s, v) = control(
        &app,
        "account-update",
        json!({"asset_id": PHONE_1, "event": "flagged"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["field"], "phone_number_quality_update", "{v}");
    let e = signal(&hook, "FLAGGED").await;
    assert_eq!(e["data"]["channel_id"], c.id.as_str(), "{e}");
    assert_eq!(e["data"]["details"]["current_limit"], "TIER_1K", "{e}");
    let ch = channel_json(&app, &c).await;
    assert_eq!(ch["account_status"], "flagged", "{ch}");
    assert_eq!(ch["quality_rating"], "RED", "{ch}");

    let (s, v) = control(
        &app,
        "account-update",
        json!({"asset_id": WABA, "event": "ACCOUNT_RESTRICTION"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let e = signal(&hook, "ACCOUNT_RESTRICTION").await;
    assert_eq!(
        e["data"]["details"]["restriction_info"][0]["restriction_type"],
        "RESTRICTED_ADD_PHONE_NUMBER_ACTION",
        "{e}"
    );
    assert_eq!(channel_json(&app, &c).await["account_status"], "restricted");

    // Meta's events only, and only for a WABA or a number.
    for body in [
        json!({"asset_id": WABA, "event": "FLAGGED"}),
        json!({"asset_id": PHONE_1, "event": "ACCOUNT_RESTRICTION"}),
        json!({"asset_id": WABA}),
    ] {
        let (s, v) = control(&app, "account-update", body.clone()).await;
        assert_eq!(s, 400, "{body}: {v}");
        assert_eq!(v["code"], "validation_error", "{body}: {v}");
    }
    let (s, v) = control(
        &app,
        "account-update",
        json!({"asset_id": "999", "event": "FLAGGED"}),
    )
    .await;
    assert_eq!(s, 404, "{v}");
}

#[tokio::test]
async fn retry_policy_is_a_channel_setting() {
    let app = common::spawn_app().await;
    let (c, _hook) = setup(&app).await;
    let path = format!("/api/v1/channels/{}", c.id);
    assert_eq!(channel_json(&app, &c).await["retry_policy"], "standard");

    let (s, v) = call(
        &app,
        &c.key,
        "PATCH",
        &path,
        Some(json!({"retry_policy": "extended"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["retry_policy"], "extended", "{v}");
    assert_eq!(channel_json(&app, &c).await["retry_policy"], "extended");

    // A bad value changes nothing, not even the fields next to it.
    let (s, v) = call(
        &app,
        &c.key,
        "PATCH",
        &path,
        Some(json!({"retry_policy": "forever", "include_raw": true})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["code"], "validation_error", "{v}");
    let v = channel_json(&app, &c).await;
    assert_eq!(v["retry_policy"], "extended", "{v}");
    assert_eq!(v["include_raw"], false, "{v}");

    let (s, v) = call(
        &app,
        &c.key,
        "PATCH",
        &path,
        Some(json!({"retry_policy": "standard"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(channel_json(&app, &c).await["retry_policy"], "standard");
}
