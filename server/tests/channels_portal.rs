//! The Portal's Connect Channel: the same hosted flow, ending at the Portal's
//! own return page without a registered redirect pattern, and the Portal's
//! secret rule (no secret is ever created by connecting or saving a URL).

mod common;
mod connect_support;

use app::domain::SECRET_MAX_LEN_PORTAL;
use app::services::{channels, connect};
use connect_support::*;
use serde_json::json;

async fn portal_connect(app: &common::TestApp, account_id: &str, pick: &str) -> String {
    let setup = connect::create_portal_setup_url(&app.state, account_id, "whatsapp")
        .await
        .expect("the Portal needs no redirect pattern");
    let back = run(
        app,
        &setup.setup_url,
        Dialog::Continue(&[PHONE_1, PHONE_2]),
        Some(pick),
    )
    .await;
    assert!(
        back.as_str()
            .starts_with(&connect::portal_return_url(&app.state)),
        "{back}"
    );
    assert!(param(&back, "error").is_none(), "{back}");
    assert!(param(&back, "state").is_none());
    param(&back, "code").expect("a code")
}

#[tokio::test]
async fn portal_return_needs_no_pattern_and_the_api_rule_is_unchanged() {
    let app = common::spawn_app().await;
    let (account_id, key) = app.account_with_key().await;
    let portal = connect::portal_return_url(&app.state);
    assert!(portal.ends_with(connect::PORTAL_RETURN_PATH));

    // The API still refuses the Portal's URL: the account registered no pattern.
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/channels/setup-url",
        Some(json!({"channel_type": "whatsapp", "redirect_uri": portal})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["code"], "redirect_uri_not_allowed");

    // The Portal rule accepts only the Portal's own return page.
    let err = connect::create_setup_url_with(
        &app.state,
        &account_id,
        "whatsapp",
        "https://evil.example.com/cb",
        None,
        connect::RedirectRule::PortalReturn,
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(
        connect::create_portal_setup_url(&app.state, &account_id, "telegram")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn portal_connect_save_url_deactivate_reconnect_never_creates_a_secret() {
    let app = common::spawn_app().await;
    let (account_id, _) = app.account_with_key().await;
    let code = portal_connect(&app, &account_id, PHONE_2).await;
    let first = connect::exchange_code(
        &app.state,
        &account_id,
        &code,
        &channels::WebhookSettings::default(),
    )
    .await
    .unwrap();
    let id = first.channel.id.clone();
    assert!(first.channel.is_active);
    assert_eq!(first.channel.phone_number_id.as_deref(), Some(PHONE_2));
    assert!(first.webhook_secret.is_none());
    assert!(!first.channel.has_webhook_secret);

    // Portal save of a URL: no secret.
    let saved = channels::update_webhook_settings(
        &app.state,
        &account_id,
        &id,
        &channels::WebhookSettings {
            url: Some(Some("http://127.0.0.1:9/hook".into())),
            events: Some(vec!["message.received".into()]),
            ..Default::default()
        },
        false,
        SECRET_MAX_LEN_PORTAL,
    )
    .await
    .unwrap();
    assert!(saved.webhook_secret.is_none());
    assert!(!saved.channel.has_webhook_secret);

    // Deactivate, reconnect through the Portal: same channel, active again,
    // settings kept, and still no secret although a URL is set.
    channels::deactivate(&app.state, &account_id, &id)
        .await
        .unwrap();
    let code = portal_connect(&app, &account_id, PHONE_2).await;
    let again = connect::exchange_code(
        &app.state,
        &account_id,
        &code,
        &channels::WebhookSettings::default(),
    )
    .await
    .unwrap();
    assert_eq!(again.channel.id, id);
    assert!(again.channel.is_active);
    assert_eq!(
        again.channel.webhook_url.as_deref(),
        Some("http://127.0.0.1:9/hook")
    );
    assert_eq!(again.channel.webhook_events, vec!["message.received"]);
    assert!(again.webhook_secret.is_none());
    assert!(!again.channel.has_webhook_secret);

    // A custom Portal secret over 64 characters is refused; 64 is fine.
    assert!(
        channels::set_custom_secret(
            &app.state,
            &account_id,
            &id,
            &"a".repeat(65),
            SECRET_MAX_LEN_PORTAL
        )
        .await
        .is_err()
    );
    let set = channels::set_custom_secret(
        &app.state,
        &account_id,
        &id,
        &"a".repeat(64),
        SECRET_MAX_LEN_PORTAL,
    )
    .await
    .unwrap();
    assert_eq!(set.webhook_secret.as_deref(), Some("a".repeat(64).as_str()));
    assert!(set.channel.has_webhook_secret);
}
