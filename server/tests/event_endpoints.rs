//! Account event endpoints: REST CRUD, tenant isolation, the secret shown
//! once, and account events delivered signed with the endpoint's secret.

mod common;
mod connect_support;
mod relay_support;

use connect_support::*;
use relay_support::*;
use serde_json::{Value, json};

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

#[tokio::test]
async fn crud_validation_tenancy_and_the_secret_shown_once() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    let (_, other) = app.account_with_key().await;
    let url = "http://127.0.0.1:9/account-events";

    let (s, created) = call(
        &app,
        &key,
        "POST",
        "/api/v1/event-endpoints",
        Some(json!({"url": url, "events": ["channel.connected", "delivery.exhausted", "channel.connected"]})),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert!(is_hex64(created["secret"].as_str().unwrap()), "{created}");
    assert_eq!(created["url"], url);
    assert_eq!(
        created["events"],
        json!(["channel.connected", "delivery.exhausted"])
    );
    assert_eq!(created["retry_policy"], "standard");
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    let (s, list) = call(&app, &key, "GET", "/api/v1/event-endpoints", None).await;
    assert_eq!(s, 200);
    assert_eq!(list["total"], 1);
    assert_eq!(list["event_endpoints"][0]["id"], id.as_str());
    assert!(list["event_endpoints"][0].get("secret").is_none(), "{list}");
    let (s, one) = call(
        &app,
        &key,
        "GET",
        &format!("/api/v1/event-endpoints/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        one.get("secret").is_none(),
        "the secret is shown once: {one}"
    );
    assert_eq!(one["url"], url);

    // Another account sees nothing and cannot delete it.
    let (s, v) = call(
        &app,
        &other,
        "GET",
        &format!("/api/v1/event-endpoints/{id}"),
        None,
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")));
    let (s, _) = call(
        &app,
        &other,
        "DELETE",
        &format!("/api/v1/event-endpoints/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (_, v) = call(&app, &other, "GET", "/api/v1/event-endpoints", None).await;
    assert_eq!(v["total"], 0);

    // Rule breaks get their own codes; wrong shapes are 422.
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"url": url, "events": ["message.received"]}),
            400,
            "invalid_event",
            "message.received",
        ),
        (
            json!({"url": url, "events": []}),
            400,
            "validation_error",
            "events",
        ),
        (
            json!({"url": "ftp://example.com/x", "events": ["channel.connected"]}),
            400,
            "invalid_webhook_url",
            "url",
        ),
        (
            json!({"url": "not a url", "events": ["channel.connected"]}),
            400,
            "invalid_webhook_url",
            "url",
        ),
        (
            json!({"url": url, "events": ["channel.connected"], "retry_policy": "forever"}),
            400,
            "validation_error",
            "retry_policy",
        ),
        (json!({"url": url}), 422, "validation_error", "events"),
        (
            json!({"url": url, "events": "channel.connected"}),
            422,
            "validation_error",
            "events",
        ),
    ];
    for (body, status, code, names) in cases {
        let (s, v) = call(
            &app,
            &key,
            "POST",
            "/api/v1/event-endpoints",
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (status, Some(code)),
            "{body} → {v}"
        );
        assert!(
            v["detail"].as_str().unwrap().contains(names),
            "{body} → {v}"
        );
    }
    let res = app
        .http
        .post(app.url("/api/v1/event-endpoints"))
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body("{\"url\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["code"], "invalid_json");

    let (s, ext) = call(
        &app,
        &key,
        "POST",
        "/api/v1/event-endpoints",
        Some(json!({"url": url, "events": ["channel.disconnected"], "retry_policy": "extended"})),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(ext["retry_policy"], "extended");
    assert_ne!(ext["secret"], created["secret"]);

    let (s, _) = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/event-endpoints/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = call(
        &app,
        &key,
        "GET",
        &format!("/api/v1/event-endpoints/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/event-endpoints/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (_, list) = call(&app, &key, "GET", "/api/v1/event-endpoints", None).await;
    assert_eq!(list["total"], 1);

    let (s, doc) = call(&app, &key, "GET", "/api/v1/openapi.json", None).await;
    assert_eq!(s, 200);
    assert!(doc["paths"]["/api/v1/event-endpoints"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/event-endpoints/{id}"]["delete"].is_object());
}

#[tokio::test]
async fn private_targets_are_refused_when_not_allowed() {
    let app =
        common::spawn_app_with(&[("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_TARGETS", "false")]).await;
    let (_, key) = app.account_with_key().await;
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/event-endpoints",
        Some(json!({"url": "http://169.254.169.254/latest", "events": ["channel.connected"]})),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("webhook_target_forbidden")),
        "{v}"
    );
}

#[tokio::test]
async fn account_events_are_delivered_signed_with_the_endpoint_secret() {
    let app = common::spawn_app().await;
    let sink = spawn_endpoint(Answer::Status(200)).await;
    let (account, key) = app.account_with_key().await;
    let (s, ep) = call(
        &app,
        &key,
        "POST",
        "/api/v1/event-endpoints",
        Some(json!({"url": sink.url, "events": ["channel.connected", "channel.disconnected"]})),
    )
    .await;
    assert_eq!(s, 201, "{ep}");
    let secret = ep["secret"].as_str().unwrap().to_string();
    // An endpoint that wants other events gets nothing.
    let quiet = spawn_endpoint(Answer::Status(200)).await;
    let (s, _) = call(
        &app,
        &key,
        "POST",
        "/api/v1/event-endpoints",
        Some(json!({"url": quiet.url, "events": ["template.status_updated"]})),
    )
    .await;
    assert_eq!(s, 201);

    allow_redirect(&app, &key).await;
    let channel = connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    let channel_id = channel["id"].as_str().unwrap();
    let hit = sink.wait_for(1).await.remove(0);
    let body = hit.json();
    assert_eq!(body["event"], "channel.connected");
    assert_eq!(body["account_id"], account);
    assert!(body["event_id"].as_str().unwrap().starts_with("evt_"));
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["data"]["channel_id"], channel_id);
    assert_eq!(body["data"]["channel_type"], "whatsapp");
    assert_eq!(body["data"]["phone_number_id"], PHONE_1);
    assert!(body.get("channel_id").is_none(), "account JSON: {body}");
    assert_eq!(hit.header("x-webhook-event"), Some("channel.connected"));
    assert_eq!(hit.header("webhook-id"), body["event_id"].as_str());
    assert!(hex_signature_ok(&secret, &hit));
    assert_eq!(
        hit.header("webhook-signature").unwrap(),
        expected_standard_signature(&secret, &hit)
    );

    // Connecting the active channel again changes nothing and fires nothing.
    connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    let (s, _) = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/channels/{channel_id}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let hits = sink.wait_for(2).await;
    let second = hits[1].json();
    assert_eq!(second["event"], "channel.disconnected");
    assert_eq!(second["data"]["reason"], "deactivated");
    assert!(hex_signature_ok(&secret, &hits[1]));
    // Reconnecting reactivates in place and fires channel.connected again.
    connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    let third = sink.wait_for(3).await[2].json();
    assert_eq!(third["event"], "channel.connected");
    assert_eq!(third["data"]["channel_id"], channel_id);
    sink.stays_at(3, 500).await;
    assert_eq!(quiet.count(), 0);
    assert_eq!(
        account_events(&app, &account, "channel.connected")
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn account_events_are_held_without_a_license_and_kept_anyway() {
    let app = common::spawn_app().await;
    let sink = spawn_endpoint(Answer::Status(200)).await;
    let (account, key) = app.account_with_key().await;
    let (s, _) = call(
        &app,
        &key,
        "POST",
        "/api/v1/event-endpoints",
        Some(json!({"url": sink.url, "events": ["template.status_updated"]})),
    )
    .await;
    assert_eq!(s, 201);
    // The 7-day trial ends.
    app.clock.advance(8 * app::clock::DAY_MS);
    let id = app::services::account_events::emit(
        &app.state,
        &account,
        "template.status_updated",
        json!({"template_id": "1", "status": "APPROVED"}),
    )
    .await
    .unwrap();
    assert!(id.starts_with("evt_"));
    sink.stays_at(0, 600).await;
    let status: String = sqlx::query_scalar("SELECT status FROM deliveries WHERE event_id = $1")
        .bind(&id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(status, "held");
    // An event nobody subscribed to is stored all the same.
    app::services::account_events::emit(&app.state, &account, "channel.token_expiring", json!({}))
        .await
        .unwrap();
    assert_eq!(
        account_events(&app, &account, "channel.token_expiring")
            .await
            .len(),
        1
    );
    // The sweep leaves held deliveries alone while there is no license.
    assert_eq!(
        app::services::relay::sweep_held(&app.state).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn deliveries_to_a_deleted_endpoint_are_given_up() {
    let app = common::spawn_app().await;
    let sink = spawn_endpoint(Answer::Status(500)).await;
    let (account, key) = app.account_with_key().await;
    let (s, ep) = call(
        &app,
        &key,
        "POST",
        "/api/v1/event-endpoints",
        Some(json!({"url": sink.url, "events": ["template.status_updated"]})),
    )
    .await;
    assert_eq!(s, 201);
    let event_id = app::services::account_events::emit(
        &app.state,
        &account,
        "template.status_updated",
        json!({"template_id": "9"}),
    )
    .await
    .unwrap();
    let delivery_id: String = sqlx::query_scalar("SELECT id FROM deliveries WHERE event_id = $1")
        .bind(&event_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(settled(&app, &delivery_id, 1).await.status, "failed");
    let id = ep["id"].as_str().unwrap();
    let (s, _) = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/event-endpoints/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    app.clock.advance(30_000);
    let d = settled(&app, &delivery_id, 2).await;
    assert_eq!(d.status, "exhausted");
    assert_eq!(d.payload, None);
    let log = attempts(&app, &delivery_id).await;
    assert!(
        log[1].error.as_deref().unwrap().contains("deleted"),
        "{:?}",
        log[1]
    );
    assert_eq!(sink.count(), 1, "nothing is sent to a deleted endpoint");
    assert!(
        account_events(&app, &account, "delivery.exhausted")
            .await
            .is_empty()
    );
}
