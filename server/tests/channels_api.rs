//! Channels REST: webhook settings and secret rules, webhook target safety,
//! tenant isolation, redirect URI validation, manual connection, register, health.

mod common;
mod connect_support;

use connect_support::*;
use serde_json::json;

async fn whatsapp_channel(app: &common::TestApp, key: &str) -> String {
    allow_redirect(app, key).await;
    let v = connect(app, key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn patch_secret_rules() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    let id = whatsapp_channel(&app, &key).await;
    let path = format!("/api/v1/channels/{id}");
    // Events only: no URL, no secret.
    let (s, v) = call(
        &app,
        &key,
        "PATCH",
        &path,
        Some(json!({"webhook_events": ["message.read"]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["has_webhook_secret"], false);
    assert!(v.get("webhook_secret").is_none());
    // Setting a URL generates a secret once.
    let (s, v) = call(
        &app,
        &key,
        "PATCH",
        &path,
        Some(json!({"webhook_url": "http://127.0.0.1:9/h"})),
    )
    .await;
    assert_eq!(s, 200);
    let first = v["webhook_secret"].as_str().unwrap().to_string();
    assert_eq!(first.len(), 64);
    // A second URL change or an events-only PATCH keeps it and does not show it.
    let (_, v) = call(
        &app,
        &key,
        "PATCH",
        &path,
        Some(json!({"webhook_url": "http://127.0.0.1:9/other"})),
    )
    .await;
    assert!(v.get("webhook_secret").is_none());
    let (_, v) = call(
        &app,
        &key,
        "PATCH",
        &path,
        Some(json!({"webhook_events": []})),
    )
    .await;
    assert!(v.get("webhook_secret").is_none());
    assert_eq!(v["has_webhook_secret"], true);
    assert_eq!(v["webhook_url"], "http://127.0.0.1:9/other");
    // A passed secret replaces it and is echoed once.
    let (s, v) = call(
        &app,
        &key,
        "PATCH",
        &path,
        Some(json!({"webhook_secret": "0123456789abcdefXYZ"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["webhook_secret"], "0123456789abcdefXYZ");
    // Rules.
    let (s, v) = call(
        &app,
        &key,
        "PATCH",
        &path,
        Some(json!({"webhook_secret": "fifteen-chars!!"})),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("invalid_webhook_secret"))
    );
    let (s, v) = call(
        &app,
        &key,
        "PATCH",
        &path,
        Some(json!({"webhook_secret": "x".repeat(257)})),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("invalid_webhook_secret"))
    );
    let (s, v) = call(
        &app,
        &key,
        "PATCH",
        &path,
        Some(json!({"webhook_events": ["message.bogus"]})),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_event")));
    assert!(v["detail"].as_str().unwrap().contains("message.bogus"));
    let (s, v) = call(
        &app,
        &key,
        "PATCH",
        &path,
        Some(json!({"webhook_url": "ftp://x.example.com"})),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_webhook_url")));
    let (s, v) = call(
        &app,
        &key,
        "PATCH",
        &path,
        Some(json!({"webhook_events": "message.read"})),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (422, Some("validation_error")));

    // The service flag: the Portal rule never creates a secret from a URL.
    let (acc2, key2) = app.account_with_key().await;
    allow_redirect(&app, &key2).await;
    let fb = connect(&app, &key2, "facebook", &[PAGE_2], None, json!({})).await;
    let fb_id = fb["id"].as_str().unwrap();
    let settings = app::services::channels::WebhookSettings {
        url: Some(Some("http://127.0.0.1:9/portal".into())),
        ..Default::default()
    };
    let u = app::services::channels::update_webhook_settings(
        &app.state, &acc2, fb_id, &settings, false, 64,
    )
    .await
    .unwrap();
    assert!(u.webhook_secret.is_none() && !u.channel.has_webhook_secret);
    let g = app::services::channels::generate_secret(&app.state, &acc2, fb_id)
        .await
        .unwrap();
    assert_eq!(g.webhook_secret.unwrap().len(), 64);
    let e =
        app::services::channels::set_custom_secret(&app.state, &acc2, fb_id, &"p".repeat(65), 64)
            .await
            .unwrap_err();
    assert_eq!(e.code(), "invalid_webhook_secret");
}

#[tokio::test]
async fn private_webhook_targets_are_refused_when_the_flag_is_off() {
    let app =
        common::spawn_app_with(&[("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_TARGETS", "false")]).await;
    let (_, key) = app.account_with_key().await;
    let id = whatsapp_channel(&app, &key).await;
    let path = format!("/api/v1/channels/{id}");
    for url in [
        "http://127.0.0.1:9/h",
        "https://169.254.169.254/latest",
        "https://10.1.2.3/h",
        "https://[::1]/h",
        "https://localhost/h",
    ] {
        let (s, v) = call(
            &app,
            &key,
            "PATCH",
            &path,
            Some(json!({"webhook_url": url})),
        )
        .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (400, Some("webhook_target_forbidden")),
            "{url}"
        );
    }
    let (s, _) = call(
        &app,
        &key,
        "PATCH",
        &path,
        Some(json!({"webhook_url": "https://93.184.216.34/h"})),
    )
    .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn another_accounts_channel_is_not_found_everywhere() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    let id = whatsapp_channel(&app, &key).await;
    let (_, other) = app.account_with_key().await;
    for (method, path, body) in [
        ("GET", format!("/api/v1/channels/{id}"), None),
        (
            "PATCH",
            format!("/api/v1/channels/{id}"),
            Some(json!({"webhook_events": []})),
        ),
        ("DELETE", format!("/api/v1/channels/{id}"), None),
        ("GET", format!("/api/v1/channels/{id}/health"), None),
        (
            "POST",
            format!("/api/v1/channels/{id}/register"),
            Some(json!({"pin": "123456"})),
        ),
        ("GET", "/api/v1/channels/0000000000000000".to_string(), None),
    ] {
        let (s, v) = call(&app, &other, method, &path, body).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (404, Some("not_found")),
            "{method} {path}"
        );
    }
    let (_, list) = call(&app, &other, "GET", "/api/v1/channels", None).await;
    assert_eq!(list["total"], 0);
    // Still active for its owner.
    let (_, v) = call(&app, &key, "GET", &format!("/api/v1/channels/{id}"), None).await;
    assert_eq!(v["is_active"], true);
}

#[tokio::test]
async fn redirect_patterns_rest() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/redirects",
        Some(json!({"uri_pattern": "https://*.example.com/cb"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    for bad in [
        "http://example.com/cb",
        "https://a*.example.com/cb",
        "https://example.com/*",
        "https://example.com/cb?x=1",
        "nope",
    ] {
        let (s, v) = call(
            &app,
            &key,
            "POST",
            "/api/v1/redirects",
            Some(json!({"uri_pattern": bad})),
        )
        .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (400, Some("invalid_redirect_pattern")),
            "{bad}"
        );
    }
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/redirects",
        Some(json!({"pattern": "x"})),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (422, Some("validation_error")));
    let (_, list) = call(&app, &key, "GET", "/api/v1/redirects", None).await;
    assert_eq!(list["total"], 1);
    // The wildcard matches one label only.
    let setup = |uri: &'static str| json!({"channel_type": "facebook", "redirect_uri": uri});
    let (s, _) = call(
        &app,
        &key,
        "POST",
        "/api/v1/channels/setup-url",
        Some(setup("https://shop.example.com/cb?x=1")),
    )
    .await;
    assert_eq!(s, 200);
    for uri in [
        "https://example.com/cb",
        "https://a.b.example.com/cb",
        "https://shop.example.com/cb/",
    ] {
        let (s, v) = call(
            &app,
            &key,
            "POST",
            "/api/v1/channels/setup-url",
            Some(json!({"channel_type": "facebook", "redirect_uri": uri})),
        )
        .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (400, Some("redirect_uri_not_allowed")),
            "{uri}"
        );
    }
    let (_, other) = app.account_with_key().await;
    let (s, _) = call(
        &app,
        &other,
        "DELETE",
        &format!("/api/v1/redirects/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/redirects/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/redirects/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn manual_connection_register_and_health() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    let own = customer_app(&app).await;
    let token = own.token.clone();
    let body = |phone: &str, token: &str| {
        json!({"channel_type": "whatsapp", "waba_id": WABA, "access_token": token,
        "app_secret": own.app_secret, "verify_token": "own-verify-token", "phone_number": phone})
    };
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/channels/manual",
        Some(body("+1 555 0100 009", &token)),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("phone_number_not_found")),
        "{v}"
    );
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/channels/manual",
        Some(body("15550100001", "EAASnot-a-token")),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("meta_token_invalid")),
        "{v}"
    );
    assert!(v["detail"].as_str().unwrap().contains("190"));
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/channels/manual",
        Some(body("+1 (555) 0100-001", &token)),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["connection"], "manual");
    assert_eq!(v["phone_number_id"], PHONE_1);
    let app_id = own.app_id.clone();
    assert!(
        v["webhook_url_for_meta"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/webhooks/meta/apps/{app_id}"))
    );
    let id = v["id"].as_str().unwrap().to_string();
    // Secrets are stored encrypted; the verify token also as a SHA-256 hash.
    let row: (String, String, String) =
        sqlx::query_as("SELECT app_secret, verify_token, verify_token_hash FROM meta_apps")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert!(row.0.starts_with("k1:") && !row.0.contains(&own.app_secret));
    assert_eq!(
        app.state.cipher.decrypt(&row.1).unwrap(),
        b"own-verify-token"
    );
    assert_eq!(row.2, app::crypto::sha256_hex("own-verify-token"));

    // Health before registration: the number is not registered yet.
    let (s, h) = call(
        &app,
        &key,
        "GET",
        &format!("/api/v1/channels/{id}/health"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{h}");
    let check = |h: &serde_json::Value, name: &str| {
        h["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(check(&h, "active")["ok"], true);
    assert_eq!(check(&h, "token_valid")["ok"], true);
    assert_eq!(check(&h, "webhook_subscribed")["ok"], true);
    assert_eq!(check(&h, "phone_registered")["ok"], false);
    assert_eq!(h["capabilities"]["can_send_messages"], false);

    let (s, v) = call(
        &app,
        &key,
        "POST",
        &format!("/api/v1/channels/{id}/register"),
        Some(json!({"pin": "12ab"})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = call(
        &app,
        &key,
        "POST",
        &format!("/api/v1/channels/{id}/register"),
        Some(json!({"pin": "123456"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // Cached for 60 s, unless refreshed.
    let (_, cached) = call(
        &app,
        &key,
        "GET",
        &format!("/api/v1/channels/{id}/health"),
        None,
    )
    .await;
    assert_eq!(check(&cached, "phone_registered")["ok"], false);
    let (_, fresh) = call(
        &app,
        &key,
        "GET",
        &format!("/api/v1/channels/{id}/health?refresh=true"),
        None,
    )
    .await;
    assert_eq!(check(&fresh, "phone_registered")["ok"], true);
    assert_eq!(fresh["capabilities"]["can_send_messages"], true);
    assert_eq!(fresh["channel_id"], id.as_str());
}
