//! Embedded Signup v4 and registration at connect (SPEC §13): the dialog is
//! launched the v4 way and refuses retired extras; a WABA shared without a
//! number ends with `error_code=no_phone_number`; a connected number is
//! registered with a fresh PIN (shown once) and sends right away; a number
//! that already has another PIN (Meta's 133005) is registered by its owner.

use serde_json::{Value, json};

use crate::common::{self, TestApp};
use crate::connect_support::{
    Dialog, PHONE_1, allow_redirect, browser, call, connect, param, run, setup_url,
};
use crate::sandbox_support::control;

/// A new sandbox WhatsApp asset set (`POST /sandbox/api/assets`).
async fn new_assets(app: &TestApp, spec: Value) -> Vec<Value> {
    let (s, v) = control(app, "assets", spec).await;
    assert_eq!(s, 201, "{v}");
    v["assets"].as_array().cloned().unwrap()
}

fn of_kind<'a>(assets: &'a [Value], kind: &str) -> &'a str {
    assets
        .iter()
        .find(|a| a["kind"] == kind)
        .and_then(|a| a["id"].as_str())
        .unwrap_or_else(|| panic!("no {kind} in {assets:?}"))
}

/// The sandbox's own record of a number (what Meta knows about it).
async fn sandbox_phone(app: &TestApp, id: &str) -> Value {
    server::sandbox::db::asset_by_id(&app.state.db, id)
        .await
        .unwrap()
        .expect("sandbox asset")
        .data
}

async fn health_check(app: &TestApp, key: &str, id: &str, name: &str) -> Value {
    let (s, h) = call(
        app,
        key,
        "GET",
        &format!("/api/v1/channels/{id}/health?refresh=true"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{h}");
    h["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no {name} in {h}"))
}

/// The end user writes first, then the business answers by API.
async fn user_writes_then_send(app: &TestApp, key: &str, channel: &str, phone: &str) -> Value {
    let user = "15550177001";
    let (s, v) = control(
        app,
        "inbound",
        json!({"asset_id": phone, "from": user, "type": "text", "text": "hello"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = call(
        app,
        key,
        "POST",
        "/api/v1/messages/send",
        Some(json!({"channel_id": channel, "recipient": user, "text": "Right away"})),
    )
    .await;
    v
}

fn is_pin(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|p| p.len() == 6 && p.chars().all(|c| c.is_ascii_digit()))
}

#[tokio::test]
async fn the_dialog_is_launched_the_v4_way_and_refuses_retired_extras() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let setup = setup_url(&app, &key, "whatsapp").await;
    let b = browser(&app);
    let res = b.get(&setup).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let dialog = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let extras: Value = serde_json::from_str(&param(&dialog, "extras").unwrap()).unwrap();
    assert_eq!(extras, json!({}), "v4 extras are empty");
    assert!(param(&dialog, "config_id").is_some());

    // The same launch with the extras of v2/v3 integrations: Meta's dialog
    // does not start, on GET nor on a submitted form, and hands out no code.
    for retired in [
        json!({"setup": {}, "featureType": "", "sessionInfoVersion": "3"}),
        json!({"setup": {}, "sessionInfoVersion": 2}),
        json!({"setup": {}, "featureType": "", "version": "v3"}),
        json!({"version": "v2-public-preview"}),
    ] {
        let mut form: Vec<(String, String)> = dialog
            .query_pairs()
            .filter(|(k, _)| k != "extras")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        form.push(("extras".into(), retired.to_string()));
        let mut url = dialog.clone();
        url.query_pairs_mut().clear().extend_pairs(&form);
        let res = b.get(url.as_str()).send().await.unwrap();
        assert_eq!(res.status(), 400, "{retired}");
        let html = res.text().await.unwrap();
        assert!(html.contains("retired Embedded Signup version"), "{html}");
        assert!(html.contains("v4"), "{html}");

        form.push(("action".into(), "continue".into()));
        form.push(("asset".into(), PHONE_1.into()));
        let res = b
            .post(app.url("/sandbox/dialog/oauth"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{retired}");
        assert!(res.headers().get("location").is_none());
    }

    // v4 with the business-app onboarding feature type is accepted.
    let mut url = dialog.clone();
    let pairs: Vec<(String, String)> = dialog
        .query_pairs()
        .filter(|(k, _)| k != "extras")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .chain([(
            "extras".to_string(),
            json!({"featureType": "whatsapp_business_app_onboarding"}).to_string(),
        )])
        .collect();
    url.query_pairs_mut().clear().extend_pairs(&pairs);
    let res = b.get(url.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("WhatsApp Business app"));
}

#[tokio::test]
async fn a_waba_shared_without_a_number_ends_with_no_phone_number() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let created = new_assets(
        &app,
        json!({"kind": "whatsapp", "name": "No Number Yet", "without_phone": true}),
    )
    .await;
    assert_eq!(created.len(), 1, "{created:?}");
    let waba = of_kind(&created, "waba").to_string();

    // The dialog offers the account itself, since it has no number to pick.
    let setup = setup_url(&app, &key, "whatsapp").await;
    let b = browser(&app);
    let res = b.get(&setup).send().await.unwrap();
    let dialog = res.headers()["location"].to_str().unwrap().to_string();
    let html = b.get(&dialog).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("value=\"{waba}\"")), "{html}");
    assert!(html.contains("No phone number yet"), "{html}");

    let setup = setup_url(&app, &key, "whatsapp").await;
    let back = run(&app, &setup, Dialog::Continue(&[&waba]), None).await;
    assert_eq!(param(&back, "error").as_deref(), Some("setup_failed"));
    assert_eq!(
        param(&back, "error_code").as_deref(),
        Some("no_phone_number")
    );
    assert_eq!(param(&back, "state").as_deref(), Some("xyz"));
    assert!(param(&back, "code").is_none());
    let message = param(&back, "message").unwrap();
    assert!(message.contains("WhatsApp Manager"), "{message}");
    assert!(message.contains("connect again"), "{message}");
    let (_, list) = call(&app, &key, "GET", "/api/v1/channels", None).await;
    assert_eq!(list["total"], 0, "{list}");

    // The user adds a number in WhatsApp Manager and connects again.
    let added = new_assets(&app, json!({"kind": "whatsapp", "waba_id": waba})).await;
    let phone = of_kind(&added, "phone").to_string();
    let v = connect(&app, &key, "whatsapp", &[&phone], Some(&phone), json!({})).await;
    assert_eq!(v["phone_number_id"], phone.as_str());
    assert_eq!(v["waba_id"], waba.as_str());
    assert!(is_pin(&v["two_step_pin"]), "{v}");
}

#[tokio::test]
async fn a_connected_number_is_registered_with_a_pin_shown_once_and_sends_right_away() {
    let app = common::spawn_app().await;
    let (account_id, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    assert_eq!(sandbox_phone(&app, PHONE_1).await["registered"], false);

    let v = connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    let id = v["id"].as_str().unwrap().to_string();
    let pin = v["two_step_pin"].clone();
    assert!(is_pin(&pin), "{v}");
    // Meta now knows the number as registered, with exactly that PIN.
    let meta = sandbox_phone(&app, PHONE_1).await;
    assert_eq!(meta["registered"], true);
    assert_eq!(meta["pin"], pin);
    // Kept sealed, never in clear.
    let (sealed, shown_at): (Option<String>, Option<i64>) =
        sqlx::query_as("SELECT two_step_pin, two_step_pin_shown_at FROM channels WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    let sealed = sealed.expect("the PIN is kept");
    assert!(!sealed.contains(pin.as_str().unwrap()));
    assert_eq!(
        app.state.cipher.decrypt(&sealed).unwrap(),
        pin.as_str().unwrap().as_bytes()
    );
    assert!(shown_at.is_some(), "the API answer showed it");

    // Shown once: not in the channel JSON, not again from the service.
    let (_, got) = call(&app, &key, "GET", &format!("/api/v1/channels/{id}"), None).await;
    assert!(got.get("two_step_pin").is_none(), "{got}");
    let again = app::services::registration::take_pin(&app.state, &account_id, &id)
        .await
        .unwrap();
    assert_eq!(again, None);

    // Health says registered, and a send right after connecting works.
    let check = health_check(&app, &key, &id, "phone_registered").await;
    assert_eq!(check["ok"], true, "{check}");
    let sent = user_writes_then_send(&app, &key, &id, PHONE_1).await;
    assert_eq!(sent["status"], "sent", "{sent}");

    // The manual register step of older integrations still answers 200 and
    // leaves the registered number (and its PIN) as it is.
    let (s, r) = call(
        &app,
        &key,
        "POST",
        &format!("/api/v1/channels/{id}/register"),
        Some(json!({"pin": "123456"})),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(sandbox_phone(&app, PHONE_1).await["pin"], pin);

    // Deactivated and connected again: already registered, no new PIN.
    let (s, _) = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/channels/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let v = connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    assert_eq!(v["id"], id.as_str());
    assert!(v.get("two_step_pin").is_none(), "{v}");
    assert_eq!(sandbox_phone(&app, PHONE_1).await["pin"], pin);
}

#[tokio::test]
async fn the_portal_shows_the_pin_once_when_it_connected() {
    let app = common::spawn_app().await;
    let email = format!("pin-{}@example.com", app::crypto::random_hex(4));
    let created = app::services::accounts::create_verified(
        &app.state,
        &email,
        "correct horse battery",
        "Pin Shop",
    )
    .await
    .unwrap();
    let res = app
        .rpc(
            "login",
            &[
                ("email", email.as_str()),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let phone = of_kind(
        &new_assets(
            &app,
            json!({"kind": "whatsapp", "verified_name": "Pin Shop"}),
        )
        .await,
        "phone",
    )
    .to_string();
    let setup = app::services::connect::create_portal_setup_url(
        &app.state,
        &created.account.id,
        "whatsapp",
    )
    .await
    .unwrap();
    let back = run(&app, &setup.setup_url, Dialog::Continue(&[&phone]), None).await;
    let code = param(&back, "code").unwrap_or_else(|| panic!("{back}"));

    // The Portal's return page spends the code without showing the PIN ...
    let res = app.rpc("finish_connect", &[("code", code.as_str())]).await;
    assert!(res.status().is_success(), "{}", res.status());
    let id: String = res.json().await.unwrap();
    // ... the channel page shows it, once.
    let res = app.rpc("take_two_step_pin", &[("id", id.as_str())]).await;
    assert!(res.status().is_success(), "{}", res.status());
    let first: Value = res.json().await.unwrap();
    assert!(is_pin(&first), "{first}");
    assert_eq!(sandbox_phone(&app, &phone).await["pin"], first);
    let res = app.rpc("take_two_step_pin", &[("id", id.as_str())]).await;
    let second: Value = res.json().await.unwrap();
    assert_eq!(second, Value::Null);
}

#[tokio::test]
async fn a_number_with_another_pin_is_left_for_its_owner_to_register() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let phone = of_kind(
        &new_assets(&app, json!({"kind": "whatsapp", "pin": "246810"})).await,
        "phone",
    )
    .to_string();

    // Registering with a fresh PIN earned 133005: the connect stands, no PIN.
    let v = connect(&app, &key, "whatsapp", &[&phone], Some(&phone), json!({})).await;
    let id = v["id"].as_str().unwrap().to_string();
    assert!(v.get("two_step_pin").is_none(), "{v}");
    assert_eq!(sandbox_phone(&app, &phone).await["registered"], false);
    let check = health_check(&app, &key, &id, "phone_registered").await;
    assert_eq!(check["ok"], false);
    let detail = check["detail"].as_str().unwrap();
    assert!(detail.contains("133005"), "{detail}");
    assert!(
        detail.contains(&format!("/api/v1/channels/{id}/register")),
        "{detail}"
    );
    let refused = user_writes_then_send(&app, &key, &id, &phone).await;
    assert_ne!(refused["status"], "sent", "{refused}");

    // The owner's register: a wrong PIN is Meta's 133005, theirs works.
    let path = format!("/api/v1/channels/{id}/register");
    let (s, r) = call(&app, &key, "POST", &path, Some(json!({"pin": "111111"}))).await;
    assert_eq!(s, 502, "{r}");
    assert!(r["detail"].as_str().unwrap().contains("133005"), "{r}");
    let (s, r) = call(&app, &key, "POST", &path, Some(json!({"pin": "246810"}))).await;
    assert_eq!(s, 200, "{r}");
    let check = health_check(&app, &key, &id, "phone_registered").await;
    assert_eq!(check["ok"], true, "{check}");
    let (_, sent) = call(
        &app,
        &key,
        "POST",
        "/api/v1/messages/send",
        Some(json!({"channel_id": id, "recipient": "15550177001", "text": "Now it works"})),
    )
    .await;
    assert_eq!(sent["status"], "sent", "{sent}");
}

#[tokio::test]
async fn a_coexistence_number_is_not_registered_again() {
    let app = common::spawn_app_with(&[("SWITCHBOARD_WHATSAPP_COEXISTENCE", "true")]).await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let phone = of_kind(
        &new_assets(&app, json!({"kind": "whatsapp", "coexistence": true})).await,
        "phone",
    )
    .to_string();
    let v = connect(&app, &key, "whatsapp", &[&phone], Some(&phone), json!({})).await;
    let id = v["id"].as_str().unwrap().to_string();
    assert!(v.get("two_step_pin").is_none(), "{v}");
    // Its registration belongs to the WhatsApp Business app: no PIN was set.
    assert_eq!(sandbox_phone(&app, &phone).await["pin"], Value::Null);
    let check = health_check(&app, &key, &id, "phone_registered").await;
    assert_eq!(check["ok"], true, "{check}");
}
