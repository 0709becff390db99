//! The API connect flow through the sandbox dialog over real HTTP (SPEC §3.2).

mod common;
mod connect_support;

use connect_support::*;
use serde_json::json;

#[tokio::test]
async fn whatsapp_flow_with_picker_yields_a_channel_and_a_secret() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    // Both numbers granted → the picker asks which one.
    let v = connect(
        &app,
        &key,
        "whatsapp",
        &[PHONE_1, PHONE_2],
        Some(PHONE_2),
        json!({"webhook_url": "http://127.0.0.1:9/hook", "webhook_events": ["message.received", "message.sent"]}),
    )
    .await;
    let id = v["id"].as_str().unwrap();
    assert_eq!(id.len(), 16);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_eq!(v["channel_id"], v["id"]);
    assert_eq!(v["channel_type"], "whatsapp");
    assert_eq!(v["phone_number_id"], PHONE_2);
    assert_eq!(v["phone_number"], "15550100002");
    assert_eq!(v["waba_id"], WABA);
    assert_eq!(v["is_active"], true);
    assert_eq!(v["has_webhook_secret"], true);
    let secret = v["webhook_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 64);
    assert!(
        secret
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_eq!(v["subscription"]["status"], "active");
    assert_eq!(v["subscription"]["source"], "trial");
    assert!(
        v["token_expires_at"].is_null(),
        "system-user tokens do not expire"
    );
    assert!(v["connected_at"].as_str().unwrap().ends_with('Z'));
    assert!(subscribed(&app, WABA).await);
    // The secret is never in a GET.
    let (s, g) = call(&app, &key, "GET", &format!("/api/v1/channels/{id}"), None).await;
    assert_eq!(s, 200);
    assert!(g.get("webhook_secret").is_none());
    assert_eq!(
        g["webhook_events"],
        json!(["message.received", "message.sent"])
    );
    let (_, list) = call(&app, &key, "GET", "/api/v1/channels", None).await;
    assert_eq!(list["total"], 1);
}

#[tokio::test]
async fn facebook_and_instagram_flows() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let fb = connect(
        &app,
        &key,
        "facebook",
        &[PAGE_1, PAGE_2],
        Some(PAGE_1),
        json!({}),
    )
    .await;
    assert_eq!(fb["page_id"], PAGE_1);
    assert_eq!(fb["name"], "Sandbox Store");
    assert!(fb.get("webhook_secret").is_none(), "no URL, no secret");
    assert!(
        fb["token_expires_at"].is_null(),
        "long-lived page tokens do not expire"
    );
    assert!(fb["quality_rating"].is_null());
    let ig = connect(&app, &key, "instagram", &[IG], None, json!({})).await;
    assert_eq!(ig["ig_account_id"], IG);
    assert_eq!(ig["ig_username"], "sandbox.store");
    assert_eq!(ig["page_id"], PAGE_1);
    assert!(subscribed(&app, PAGE_1).await);
    // Both use Page 1: deleting one keeps the subscription, the last removes it.
    let (s, d) = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/channels/{}", fb["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(d["is_active"], false);
    assert!(
        subscribed(&app, PAGE_1).await,
        "Instagram still needs the Page"
    );
    let (s, _) = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/channels/{}", ig["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        !subscribed(&app, PAGE_1).await,
        "the last channel on the Page unsubscribes"
    );
}

#[tokio::test]
async fn cancel_expiry_and_codes() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;

    // Cancel in Meta's dialog → access_denied with state, no code.
    let setup = setup_url(&app, &key, "facebook").await;
    let back = run(&app, &setup, Dialog::Cancel, None).await;
    assert!(back.as_str().starts_with(REDIRECT));
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&back, "state").as_deref(), Some("xyz"));
    assert!(param(&back, "code").is_none());

    // An expired setup session → setup_failed with a message.
    let setup = setup_url(&app, &key, "facebook").await;
    app.clock.advance(11 * 60_000);
    let back = run(&app, &setup, Dialog::Continue(&[PAGE_1]), None).await;
    assert_eq!(param(&back, "error").as_deref(), Some("setup_failed"));
    assert!(param(&back, "message").unwrap().contains("expired"));
    assert!(param(&back, "code").is_none());

    // Code: single use; foreign account's attempt does not burn it; expiry.
    let setup = setup_url(&app, &key, "facebook").await;
    let back = run(&app, &setup, Dialog::Continue(&[PAGE_1]), None).await;
    let code = param(&back, "code").unwrap();
    let (_, other_key) = app.account_with_key().await;
    let (s, v) = call(
        &app,
        &other_key,
        "POST",
        "/api/v1/channels/exchange-code",
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_code")));
    // Bad input does not spend the code either.
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/channels/exchange-code",
        Some(json!({"code": code, "webhook_events": ["message.sent"]})),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("invalid_event")),
        "message.sent is WhatsApp-only"
    );
    let (s, _) = call(
        &app,
        &key,
        "POST",
        "/api/v1/channels/exchange-code",
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/channels/exchange-code",
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("invalid_code")),
        "reuse"
    );

    let setup = setup_url(&app, &key, "facebook").await;
    let back = run(&app, &setup, Dialog::Continue(&[PAGE_1]), None).await;
    let code = param(&back, "code").unwrap();
    app.clock.advance(5 * 60_000 + 1_000);
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/channels/exchange-code",
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("invalid_code")),
        "expired"
    );

    // setup-url refuses unknown redirect URIs.
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/channels/setup-url",
        Some(json!({"channel_type": "whatsapp", "redirect_uri": "https://evil.example.net/cb"})),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("redirect_uri_not_allowed"))
    );
}

#[tokio::test]
async fn callback_needs_the_starting_browser() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let setup = setup_url(&app, &key, "instagram").await;
    let starter = browser(&app);
    let res = starter.get(&setup).send().await.unwrap();
    let dialog = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let mut form: Vec<(String, String)> = dialog
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("action".into(), "continue".into()));
    form.push(("asset".into(), IG.into()));
    let res = starter
        .post(app.url("/sandbox/dialog/oauth"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let cb = res.headers()["location"].to_str().unwrap().to_string();
    // Another browser (no setup cookie) presenting the callback is refused.
    let res = browser(&app).get(&cb).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let back = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(param(&back, "error").as_deref(), Some("setup_failed"));
    // A forged state is a dead end, not a redirect.
    let res = starter
        .get(app.url("/setup/callback?code=x&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn reconnect_reactivates_in_place_and_assets_belong_to_one_account() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let first = connect(
        &app,
        &key,
        "whatsapp",
        &[PHONE_1],
        Some(PHONE_1),
        json!({"webhook_url": "http://127.0.0.1:9/a", "webhook_events": ["message.received"]}),
    )
    .await;
    let id = first["id"].as_str().unwrap().to_string();
    let (s, _) = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/channels/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(!subscribed(&app, WABA).await, "last channel on the WABA");

    // Embedded Signup without its JavaScript event only names the WABA, so
    // every number of it is offered on the picker.
    // Same asset again: the same channel, with its webhook settings.
    let again = connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    assert_eq!(again["id"], id.as_str());
    assert_eq!(again["is_active"], true);
    assert_eq!(again["webhook_url"], "http://127.0.0.1:9/a");
    assert_eq!(again["webhook_events"], json!(["message.received"]));
    assert_eq!(again["has_webhook_secret"], true);
    assert!(
        again.get("webhook_secret").is_none(),
        "the kept secret is not shown again"
    );
    assert!(subscribed(&app, WABA).await);

    // Connecting an active asset again yields it unchanged.
    let same = connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    assert_eq!(same["id"], id.as_str());

    // Another account cannot take it.
    let (_, other) = app.account_with_key().await;
    allow_redirect(&app, &other).await;
    let setup = setup_url(&app, &other, "whatsapp").await;
    let back = run(&app, &setup, Dialog::Continue(&[PHONE_1]), Some(PHONE_1)).await;
    assert_eq!(param(&back, "error").as_deref(), Some("setup_failed"));
    assert!(
        param(&back, "message")
            .unwrap()
            .contains("another Switchboard account")
    );

    // Trial slot: one WhatsApp channel per license; the second number is refused.
    let setup = setup_url(&app, &key, "whatsapp").await;
    let back = run(&app, &setup, Dialog::Continue(&[PHONE_2]), Some(PHONE_2)).await;
    assert_eq!(param(&back, "error").as_deref(), Some("setup_failed"));
    assert!(param(&back, "message").unwrap().contains("license"));
}

#[tokio::test]
async fn coexistence_offers_business_app_numbers_only_when_enabled() {
    for enabled in [false, true] {
        let flag = enabled.to_string();
        let app = common::spawn_app_with(&[("SWITCHBOARD_WHATSAPP_COEXISTENCE", &flag)]).await;
        let (_, key) = app.account_with_key().await;
        allow_redirect(&app, &key).await;
        let setup = setup_url(&app, &key, "whatsapp").await;
        let b = browser(&app);
        let res = b.get(&setup).send().await.unwrap();
        assert_eq!(res.status(), 302);
        let dialog = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
        let extras: serde_json::Value =
            serde_json::from_str(&param(&dialog, "extras").expect("extras")).unwrap();
        // Embedded Signup v4: `extras` is empty but for the feature type.
        let feature = enabled.then_some("whatsapp_business_app_onboarding");
        assert_eq!(extras["featureType"].as_str(), feature);
        assert!(extras.get("sessionInfoVersion").is_none(), "{extras}");
        let html = b
            .get(dialog.as_str())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(html.contains("WhatsApp Business app"), enabled, "{html}");
    }
}
