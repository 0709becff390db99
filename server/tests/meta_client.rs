//! The Graph client against the sandbox over real HTTP: every call of the
//! client, and every error class mapped from the sandbox's error envelope.

mod common;
mod sandbox_support;

use app::clock::DAY_MS;
use app::meta::types::*;
use app::meta::{ErrorClass, GraphClient, MetaError};
use sandbox_support::*;
use serde_json::json;

const WABA: &str = "100000000000001";
const PHONE: &str = "110000000000001";
const PAGE: &str = "150000000000001";
const IG: &str = "17841400000000001";

fn graph(e: &MetaError) -> (i64, Option<i64>) {
    let g = e
        .graph()
        .unwrap_or_else(|| panic!("not a Graph error: {e:?}"));
    (g.code, g.error_subcode)
}

#[tokio::test]
async fn code_exchange_debug_token_and_code_rules() {
    let (app, _sink) = app_with_sink(0).await;
    let cfg = app.state.config.meta_config_id_whatsapp.clone().unwrap();
    let code = code_for(&app, &[("config_id", &cfg)], &[PHONE]).await;
    let meta = &app.state.meta;
    // A different redirect_uri than the dialog's is refused; the code survives.
    let e = meta
        .exchange_code(&code, Some("https://other.example.com/cb"))
        .await
        .unwrap_err();
    assert_eq!(graph(&e), (100, Some(36008)));
    assert_eq!(e.class(), ErrorClass::Permanent);
    let tok = meta
        .exchange_code(&code, Some(&redirect(&app)))
        .await
        .unwrap();
    assert_eq!(
        tok.expires_in, None,
        "Embedded Signup business tokens never expire"
    );
    let e = meta
        .exchange_code(&code, Some(&redirect(&app)))
        .await
        .unwrap_err();
    assert_eq!(graph(&e), (100, Some(36009)), "codes are single use");
    let dbg = meta.debug_token(&tok.access_token).await.unwrap();
    assert!(dbg.is_valid);
    assert_eq!(dbg.token_type.as_deref(), Some("SYSTEM_USER"));
    assert_eq!(dbg.expires_at, 0);
    assert_eq!(dbg.targets("whatsapp_business_management"), vec![WABA]);
    assert_eq!(dbg.app_id.as_deref(), Some(app_id(&app).as_str()));
    let bad = meta.debug_token("EAASnotatoken").await.unwrap();
    assert!(!bad.is_valid);
}

#[tokio::test]
async fn long_lived_exchange_pages_and_expiry() {
    let (app, _sink) = app_with_sink(0).await;
    let meta = &app.state.meta;
    let cfg = app.state.config.meta_config_id_facebook.clone().unwrap();
    let code = code_for(&app, &[("config_id", &cfg)], &[PAGE, "150000000000002"]).await;
    let short = meta
        .exchange_code(&code, Some(&redirect(&app)))
        .await
        .unwrap();
    assert!(short.expires_in.unwrap() <= 2 * 3600);
    let long = meta.exchange_long_lived(&short.access_token).await.unwrap();
    let secs = long.expires_in.unwrap();
    assert!(
        (59 * 86_400..=60 * 86_400).contains(&secs),
        "60 days, got {secs}"
    );
    // Paging is followed to the end (page size 1 → two requests).
    let client = GraphClient::new(meta.settings().clone()).with_page_limit(1);
    let pages = client.me_accounts(&long.access_token).await.unwrap();
    assert_eq!(
        pages.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec![PAGE, "150000000000002"]
    );
    assert!(pages[0].can_message());
    assert_eq!(pages[0].instagram_business_account.as_ref().unwrap().id, IG);
    let page_tok = pages[0].access_token.clone().unwrap();
    let ig = meta
        .page_instagram_account(PAGE, &page_tok)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ig.username.as_deref(), Some("sandbox.store"));
    // After 61 days the long-lived token is dead (190/463); Page tokens derived
    // from it do not expire.
    app.clock.advance(61 * DAY_MS);
    let e = meta.me_accounts(&long.access_token).await.unwrap_err();
    assert_eq!(graph(&e), (190, Some(463)));
    assert_eq!(e.class(), ErrorClass::TokenDead);
    assert!(meta.page_instagram_account(PAGE, &page_tok).await.is_ok());
    // Short-lived tokens are dead too; unknown ones are 190 without subcode.
    let e = meta
        .exchange_long_lived(&short.access_token)
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::TokenDead);
    let e = meta.me_accounts("EAASbogus").await.unwrap_err();
    assert_eq!(graph(&e), (190, None));
}

#[tokio::test]
async fn numbers_register_and_subscriptions() {
    let (app, _sink) = app_with_sink(0).await;
    let meta = &app.state.meta;
    let tok = whatsapp_token(&app).await;
    let numbers = meta.phone_numbers(WABA, &tok).await.unwrap();
    assert_eq!(numbers.len(), 2);
    assert_eq!(numbers[0].digits(), "15550100001");
    assert_eq!(numbers[0].status.as_deref(), Some("PENDING"));
    // Unregistered numbers cannot send.
    let e = meta
        .send_whatsapp(PHONE, &tok, &WaMessage::text("12025550101", "hi"))
        .await
        .unwrap_err();
    assert_eq!(graph(&e), (133010, None));
    assert_eq!(e.class(), ErrorClass::Permanent);
    let e = meta.register_phone(PHONE, "12", &tok).await.unwrap_err();
    assert_eq!(graph(&e).0, 100);
    meta.register_phone(PHONE, "123456", &tok).await.unwrap();
    let e = meta
        .register_phone(PHONE, "654321", &tok)
        .await
        .unwrap_err();
    assert_eq!(graph(&e), (133005, None));
    let numbers = meta.phone_numbers(WABA, &tok).await.unwrap();
    assert_eq!(numbers[0].status.as_deref(), Some("CONNECTED"));
    // WABA subscription.
    assert!(meta.subscribed_apps(WABA, &tok).await.unwrap().is_empty());
    meta.subscribe_app(WABA, &tok, &Subscription::default())
        .await
        .unwrap();
    let subs = meta.subscribed_apps(WABA, &tok).await.unwrap();
    assert_eq!(subs[0].app_id(), Some(app_id(&app).as_str()));
    meta.unsubscribe_app(WABA, &tok).await.unwrap();
    assert!(meta.subscribed_apps(WABA, &tok).await.unwrap().is_empty());
    // Page subscription needs fields and the Page token.
    let ptok = page_token(&app, PAGE, false).await;
    let e = meta
        .subscribe_app(PAGE, &ptok, &Subscription::default())
        .await
        .unwrap_err();
    assert_eq!(graph(&e).0, 100);
    let sub = Subscription {
        fields: vec!["messages".into(), "message_echoes".into()],
        ..Default::default()
    };
    meta.subscribe_app(PAGE, &ptok, &sub).await.unwrap();
    let subs = meta.subscribed_apps(PAGE, &ptok).await.unwrap();
    assert_eq!(
        subs[0].subscribed_fields,
        vec!["messages", "message_echoes"]
    );
    meta.unsubscribe_app(PAGE, &ptok).await.unwrap();
    // Objects the token was not granted are 100/33, like unknown ones.
    let e = meta
        .phone_numbers("100000000000999", &tok)
        .await
        .unwrap_err();
    assert_eq!(graph(&e), (100, Some(33)));
    let e = meta.phone_numbers(WABA, &ptok).await.unwrap_err();
    assert_eq!(graph(&e), (100, Some(33)));
}

async fn ready_number(app: &common::TestApp) -> String {
    let tok = whatsapp_token(app).await;
    app.state
        .meta
        .register_phone(PHONE, "123456", &tok)
        .await
        .unwrap();
    tok
}

#[tokio::test]
async fn whatsapp_sends_window_faults_and_revocation() {
    let (app, _sink) = app_with_sink(0).await;
    let meta = &app.state.meta;
    let tok = ready_number(&app).await;
    let to = "12025550101";
    let e = meta
        .send_whatsapp(PHONE, &tok, &WaMessage::text(to, "hi"))
        .await
        .unwrap_err();
    assert_eq!(graph(&e), (131047, None));
    assert_eq!(e.class(), ErrorClass::OutsideWindow);
    let (s, _) = control(
        &app,
        "inbound",
        json!({"asset_id": PHONE, "from": to, "type": "text", "text": "Hello"}),
    )
    .await;
    assert_eq!(s, 200);
    let sent = meta
        .send_whatsapp(PHONE, &tok, &WaMessage::text(to, "Hi there"))
        .await
        .unwrap();
    assert!(sent.message_id().starts_with("wamid."));
    assert_eq!(sent.contacts[0].wa_id.as_deref(), Some(to));
    let long = "x".repeat(4097);
    let e = meta
        .send_whatsapp(PHONE, &tok, &WaMessage::text(to, &long))
        .await
        .unwrap_err();
    assert_eq!(graph(&e).0, 100);
    assert!(e.graph().unwrap().message.contains("4096"));
    // Templates work outside the window when approved.
    let tpl = |name: &str| WaMessage {
        content: WaContent::Template {
            name: name.into(),
            language: "en_US".into(),
            components: vec![],
        },
        ..WaMessage::text("12025550150", "")
    };
    let ok = meta
        .send_whatsapp(PHONE, &tok, &tpl("hello_world"))
        .await
        .unwrap();
    assert_eq!(ok.messages[0].message_status.as_deref(), Some("accepted"));
    let e = meta
        .send_whatsapp(PHONE, &tok, &tpl("no_such_template"))
        .await
        .unwrap_err();
    assert_eq!(graph(&e), (132001, None));
    // Fault injection: the next messages call fails with 130429.
    let (s, faults) = control(
        &app,
        "faults",
        json!({"kind": "graph_error", "path": "messages", "count": 1, "http_status": 400, "code": 130429, "message": "(#130429) Rate limit hit"}),
    )
    .await;
    assert_eq!(s, 200, "{faults}");
    let e = meta
        .send_whatsapp(PHONE, &tok, &WaMessage::text(to, "again"))
        .await
        .unwrap_err();
    assert_eq!(graph(&e), (130429, None));
    assert_eq!(e.class(), ErrorClass::Throughput);
    assert!(e.graph().unwrap().fbtrace_id.is_some());
    meta.send_whatsapp(PHONE, &tok, &WaMessage::text(to, "passes now"))
        .await
        .unwrap();
    // 5xx faults are Transient.
    control(&app, "faults", json!({"kind": "graph_error", "path": "messages", "count": 1, "http_status": 503, "code": 2, "message": "Service temporarily unavailable"})).await;
    let e = meta
        .send_whatsapp(PHONE, &tok, &WaMessage::text(to, "x"))
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Transient);
    // Outbox shows what was sent.
    let out: serde_json::Value = app
        .http
        .get(app.url(&format!("/sandbox/api/outbox?asset_id={PHONE}&to={to}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let texts: Vec<&str> = out["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, vec!["Hi there", "passes now"]);
    // Revocation kills the token with 190.
    let (s, _) = control(&app, "revoke", json!({"asset_id": PHONE})).await;
    assert_eq!(s, 200);
    let e = meta
        .send_whatsapp(PHONE, &tok, &WaMessage::text(to, "x"))
        .await
        .unwrap_err();
    assert_eq!(graph(&e).0, 190);
    assert_eq!(e.class(), ErrorClass::TokenDead);
}

#[tokio::test]
async fn unreachable_meta_is_transient() {
    let mut settings = app::meta::GraphSettings {
        graph_url: "http://127.0.0.1:9".into(),
        instagram_graph_url: "http://127.0.0.1:9".into(),
        version: "v26.0".into(),
        app_id: "1".into(),
        app_secret: "s".into(),
    };
    let client = GraphClient::new(settings.clone());
    let e = client.phone_numbers(WABA, "t").await.unwrap_err();
    assert!(matches!(e, MetaError::Transport { .. }));
    assert_eq!(e.class(), ErrorClass::Transient);
    settings.version = "v25.0".into();
    assert_eq!(GraphClient::new(settings).settings().version, "v25.0");
}

#[tokio::test]
async fn templates_list_create_edit_delete() {
    let (app, _sink) = app_with_sink(0).await;
    let meta = &app.state.meta;
    let tok = whatsapp_token(&app).await;
    let new = |name: &str| NewTemplate {
        name: name.into(),
        language: "en_US".into(),
        category: "UTILITY".into(),
        parameter_format: Some("POSITIONAL".into()),
        components: vec![
            json!({"type": "BODY", "text": "Hi {{1}}, order {{2}} shipped.",
            "example": {"body_text": [["Ana", "42"]]}}),
        ],
        allow_category_change: None,
    };
    let created = meta
        .create_template(WABA, &tok, &new("order_update"))
        .await
        .unwrap();
    assert_eq!(created.status, "PENDING");
    meta.create_template(WABA, &tok, &new("order_update_two"))
        .await
        .unwrap();
    let e = meta
        .create_template(WABA, &tok, &new("order_update"))
        .await
        .unwrap_err();
    assert_eq!(graph(&e), (100, Some(2388024)));
    let e = meta
        .create_template(WABA, &tok, &new("Bad Name"))
        .await
        .unwrap_err();
    assert_eq!(graph(&e).0, 100);
    let client = GraphClient::new(meta.settings().clone()).with_page_limit(1);
    let all = client.list_templates(WABA, &tok).await.unwrap();
    assert_eq!(all.len(), 3, "hello_world plus two, over three pages");
    // Pending templates cannot be sent nor edited.
    let e = meta
        .edit_template(&created.id, &tok, &TemplateEdit::default())
        .await
        .unwrap_err();
    assert_eq!(graph(&e).0, 100);
    let (s, _) = control(
        &app,
        &format!("templates/{}/review", created.id),
        json!({"status": "APPROVED"}),
    )
    .await;
    assert_eq!(s, 200);
    let edit = TemplateEdit {
        components: Some(vec![
            json!({"type": "BODY", "text": "Hello {{1}}", "example": {"body_text": [["Ana"]]}}),
        ]),
        category: None,
    };
    meta.edit_template(&created.id, &tok, &edit).await.unwrap();
    let all = meta.list_templates(WABA, &tok).await.unwrap();
    let t = all.iter().find(|t| t.id == created.id).unwrap();
    assert_eq!(t.status, "PENDING", "an edit goes back to review");
    meta.delete_template(WABA, &tok, "order_update", Some(&created.id))
        .await
        .unwrap();
    let e = meta
        .delete_template(WABA, &tok, "order_update", None)
        .await
        .unwrap_err();
    assert_eq!(graph(&e).0, 100);
    assert_eq!(meta.list_templates(WABA, &tok).await.unwrap().len(), 2);
}

#[tokio::test]
async fn media_info_and_download() {
    let (app, sink) = app_with_sink(0).await;
    let meta = &app.state.meta;
    let tok = whatsapp_token(&app).await;
    meta.subscribe_app(WABA, &tok, &Subscription::default())
        .await
        .unwrap();
    control(
        &app,
        "inbound",
        json!({"asset_id": PHONE, "from": "12025550101", "type": "image",
        "media": {"mime_type": "image/png", "caption": "box"}}),
    )
    .await;
    let hook = sink.wait_for(1).await[0].json();
    let media_id = hook
        .pointer("/entry/0/changes/0/value/messages/0/image/id")
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    let info = meta.media_info(&media_id, &tok).await.unwrap();
    assert_eq!(info.mime_type, "image/png");
    let bytes = meta.download_media(&info.url, &tok).await.unwrap();
    assert_eq!(bytes.len() as i64, info.file_size.unwrap());
    assert_eq!(
        app::services::media::sha256_hex(&bytes),
        info.sha256.unwrap()
    );
    // Without the token the CDN refuses.
    let res = app.http.get(&info.url).send().await.unwrap();
    assert_ne!(res.status(), 200);
    let e = meta.media_info("1299999999999999", &tok).await.unwrap_err();
    assert_eq!(graph(&e), (100, Some(33)));
}

#[tokio::test]
async fn messenger_instagram_sends_profiles_and_refresh() {
    let (app, _sink) = app_with_sink(0).await;
    let meta = &app.state.meta;
    let ptok = page_token(&app, PAGE, false).await;
    let psid = "7100000000000001";
    let e = meta
        .send_page_message(PAGE, &ptok, &PageMessage::text(psid, "hi"))
        .await
        .unwrap_err();
    assert_eq!(graph(&e), (100, Some(2018001)), "unknown user");
    assert_eq!(
        meta.user_profile(psid, app::meta::client::MESSENGER_PROFILE_FIELDS, &ptok)
            .await
            .unwrap(),
        None
    );
    control(&app, "inbound", json!({"asset_id": PAGE, "from": psid, "from_name": "Ana Customer", "type": "text", "text": "Do you ship?"})).await;
    let r = meta
        .send_page_message(PAGE, &ptok, &PageMessage::text(psid, "Yes"))
        .await
        .unwrap();
    assert!(r.message_id.unwrap().starts_with("m_"));
    let e = meta
        .send_page_message(PAGE, &ptok, &PageMessage::text(psid, &"y".repeat(2001)))
        .await
        .unwrap_err();
    assert_eq!(graph(&e).0, 100);
    let p = meta
        .user_profile(psid, app::meta::client::MESSENGER_PROFILE_FIELDS, &ptok)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.first_name.as_deref(), Some("Ana"));
    // Instagram through the linked Page's token.
    let itok = page_token(&app, PAGE, true).await;
    let igsid = "6400000000000001";
    control(&app, "inbound", json!({"asset_id": IG, "from": igsid, "from_name": "Ana Customer", "type": "text", "text": "Available?"})).await;
    let r = meta
        .send_instagram_message(IG, &itok, &PageMessage::text(igsid, "Yes it is"))
        .await
        .unwrap();
    assert_eq!(r.recipient_id.as_deref(), Some(igsid));
    // 1000 bytes, not characters: 501 two-byte chars are too long.
    let e = meta
        .send_instagram_message(IG, &itok, &PageMessage::text(igsid, &"é".repeat(501)))
        .await
        .unwrap_err();
    assert_eq!(graph(&e).0, 100);
    let p = meta
        .user_profile(igsid, app::meta::client::INSTAGRAM_PROFILE_FIELDS, &itok)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.username.as_deref(), Some("ana.customer"));
    // A day later the windows are closed.
    app.clock.advance(25 * 3_600_000);
    let e = meta
        .send_page_message(PAGE, &ptok, &PageMessage::text(psid, "late"))
        .await
        .unwrap_err();
    assert_eq!(graph(&e), (10, Some(2018278)));
    assert_eq!(e.class(), ErrorClass::OutsideWindow);
    let e = meta
        .send_instagram_message(IG, &itok, &PageMessage::text(igsid, "late"))
        .await
        .unwrap_err();
    assert_eq!(graph(&e), (10, Some(2534022)));
    assert_eq!(e.class(), ErrorClass::OutsideWindow);
    // Instagram token refresh: a long-lived token gets 60 fresh days.
    let cfg = app.state.config.meta_config_id_instagram.clone().unwrap();
    let short = user_token(&app, &cfg, &[IG]).await;
    let long = meta.exchange_long_lived(&short).await.unwrap();
    let fresh = meta
        .refresh_instagram_token(&long.access_token)
        .await
        .unwrap();
    assert!(fresh.expires_in.unwrap() >= 59 * 86_400);
    let e = meta.refresh_instagram_token("EAASnope").await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::TokenDead);
}

#[tokio::test]
async fn missing_permission_is_a_permanent_error() {
    let (app, _sink) = app_with_sink(0).await;
    let meta = &app.state.meta;
    // Classic login with only pages_show_list: the Page token cannot message.
    let code = code_for(&app, &[("scope", "pages_show_list")], &[PAGE]).await;
    let user = meta
        .exchange_code(&code, Some(&redirect(&app)))
        .await
        .unwrap()
        .access_token;
    let pages = meta.me_accounts(&user).await.unwrap();
    let ptok = pages[0].access_token.clone().unwrap();
    control(
        &app,
        "inbound",
        json!({"asset_id": PAGE, "from": "7100000000000001", "type": "text", "text": "hi"}),
    )
    .await;
    let e = meta
        .send_page_message(PAGE, &ptok, &PageMessage::text("7100000000000001", "x"))
        .await
        .unwrap_err();
    assert_eq!(graph(&e).0, 200);
    assert_eq!(e.class(), ErrorClass::Permanent);
    let e = meta
        .subscribe_app(
            PAGE,
            &ptok,
            &Subscription {
                fields: vec!["messages".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(graph(&e).0, 200);
}
