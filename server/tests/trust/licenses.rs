//! Limits hold under concurrency, and a channel needs a license of its own
//! (SPEC §7, §14; docs/security.md). Racing hosted connects on a one-license
//! trial activate one number; a channel left without a license (the account
//! has fewer licenses than active channels) can neither send nor have its
//! inbound relayed; racing end users of one single-use onboarding link
//! complete it once; racing accounts connecting one asset get it once; racing
//! creates cannot pass the per-account caps.

use std::time::Duration;

use app::clock::DAY_MS;
use app::domain::billing::Tier;
use app::services::licenses;
use serde_json::{Value, json};

use super::common::{self, TestApp};
use super::connect_support::{REDIRECT, allow_redirect, browser, call, connect, param, setup_url};
use super::relay_support::{Answer, spawn_endpoint};
use super::sandbox_support::control;

/// How many requests race in each test.
const RACERS: usize = 10;

/// A new sandbox WABA with one number of its own: (waba id, phone number id).
async fn new_number(app: &TestApp) -> (String, String) {
    let (s, v) = control(app, "assets", json!({"kind": "whatsapp"})).await;
    assert_eq!(s, 201, "{v}");
    let of = |kind: &str| {
        v["assets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {v}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    (of("waba"), of("phone"))
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on {}", res.status()))
        .to_str()
        .unwrap()
        .to_string()
}

/// One browser taken through a hosted flow up to Meta's redirect back: the
/// callback it has yet to open (that request connects the asset).
struct Pending {
    browser: reqwest::Client,
    callback: String,
}

/// From the setup URL (or a link's hosted page, `start` = true) through the
/// sandbox dialog granting `phone`.
async fn up_to_callback(app: &TestApp, entry: &str, start: bool, phone: &str) -> Pending {
    let b = browser(app);
    let res = if start {
        b.post(format!("{entry}/start")).send().await.unwrap()
    } else {
        b.get(entry).send().await.unwrap()
    };
    assert_eq!(res.status(), 302);
    let dialog = url::Url::parse(&location(&res)).unwrap();
    assert!(dialog.path().ends_with("/sandbox/dialog/oauth"), "{dialog}");
    let mut form: Vec<(String, String)> = dialog
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("action".into(), "continue".into()));
    form.push(("asset".into(), phone.into()));
    let res = b
        .post(app.url("/sandbox/dialog/oauth"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let callback = location(&res);
    assert!(callback.contains("/setup/callback"), "{callback}");
    Pending {
        browser: b,
        callback,
    }
}

/// Opens every callback at once; returns where each browser was sent.
async fn race(pending: Vec<Pending>) -> Vec<url::Url> {
    let tasks: Vec<_> = pending
        .into_iter()
        .map(|p| {
            tokio::spawn(async move {
                let res = p.browser.get(&p.callback).send().await.unwrap();
                assert_eq!(res.status(), 302, "{}", res.text().await.unwrap());
                url::Url::parse(&location(&res)).unwrap()
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn channels_of(app: &TestApp, key: &str) -> Vec<Value> {
    let (s, v) = call(app, key, "GET", "/api/v1/channels", None).await;
    assert_eq!(s, 200, "{v}");
    v.as_array()
        .or_else(|| v["channels"].as_array())
        .unwrap_or_else(|| panic!("channel list: {v}"))
        .clone()
}

#[tokio::test]
async fn racing_connects_on_a_one_license_trial_activate_one_number() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let mut pending = Vec::new();
    for _ in 0..RACERS {
        let (_, phone) = new_number(&app).await;
        let setup = setup_url(&app, &key, "whatsapp").await;
        pending.push(up_to_callback(&app, &setup, false, &phone).await);
    }
    let ends = race(pending).await;
    let codes = ends.iter().filter(|u| param(u, "code").is_some()).count();
    assert_eq!(codes, 1, "one number connects: {ends:?}");
    for u in ends.iter().filter(|u| param(u, "code").is_none()) {
        assert!(u.as_str().starts_with(REDIRECT), "{u}");
        assert_eq!(param(u, "error").as_deref(), Some("setup_failed"), "{u}");
        assert!(param(u, "message").unwrap().contains("license"), "{u}");
    }
    // Nothing else was stored active: one WhatsApp channel, and it holds the trial.
    let active: Vec<Value> = channels_of(&app, &key)
        .await
        .into_iter()
        .filter(|c| c["is_active"] == true)
        .collect();
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0]["subscription"]["status"], "active");
    assert_eq!(active[0]["subscription"]["source"], "trial");
}

#[tokio::test]
async fn racing_connects_of_one_asset_from_several_accounts_give_it_to_one() {
    let app = common::spawn_app().await;
    let (_, phone) = new_number(&app).await;
    let mut keys = Vec::new();
    let mut pending = Vec::new();
    for _ in 0..RACERS {
        let (_, key) = app.account_with_key().await;
        allow_redirect(&app, &key).await;
        let setup = setup_url(&app, &key, "whatsapp").await;
        pending.push(up_to_callback(&app, &setup, false, &phone).await);
        keys.push(key);
    }
    let ends = race(pending).await;
    let winners: Vec<usize> = (0..RACERS)
        .filter(|i| param(&ends[*i], "code").is_some())
        .collect();
    assert_eq!(winners.len(), 1, "{ends:?}");
    for (i, u) in ends.iter().enumerate() {
        if i != winners[0] {
            assert_eq!(param(u, "error").as_deref(), Some("setup_failed"), "{u}");
            assert!(
                param(u, "message")
                    .unwrap()
                    .contains("another Switchboard account"),
                "{u}"
            );
        }
    }
    // Only the winner's account has a channel for the asset, active.
    for (i, key) in keys.iter().enumerate() {
        let holding: Vec<Value> = channels_of(&app, key)
            .await
            .into_iter()
            .filter(|c| c["phone_number_id"] == phone.as_str() && c["is_active"] == true)
            .collect();
        assert_eq!(holding.len(), usize::from(i == winners[0]), "account {i}");
    }
    let holders: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM channels WHERE asset_id = $1 AND is_active = 1")
            .bind(&phone)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(holders, 1);
}

#[tokio::test]
async fn racing_end_users_complete_a_single_use_onboarding_link_once() {
    let app = common::spawn_app().await;
    let (account, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    // Enough licenses that only the link's own rule can stop the racers.
    licenses::grant(
        &app.state,
        &account,
        Tier::Pro,
        app.state.now() + 30 * DAY_MS,
        RACERS as i64,
    )
    .await
    .unwrap();
    let (s, link) = call(
        &app,
        &key,
        "POST",
        "/api/v1/onboarding-links",
        Some(json!({"name": "Shop", "redirect_url": REDIRECT})),
    )
    .await;
    assert_eq!(s, 201, "{link}");
    let hosted = link["hosted_url"].as_str().unwrap().to_string();
    let mut pending = Vec::new();
    for _ in 0..RACERS {
        let (_, phone) = new_number(&app).await;
        pending.push(up_to_callback(&app, &hosted, true, &phone).await);
    }
    let ends = race(pending).await;
    let ok = ends
        .iter()
        .filter(|u| param(u, "status").as_deref() == Some("success"))
        .count();
    assert_eq!(ok, 1, "{ends:?}");
    for u in ends
        .iter()
        .filter(|u| param(u, "status").as_deref() != Some("success"))
    {
        assert_eq!(param(u, "status").as_deref(), Some("error"), "{u}");
    }
    // One channel came out of it, and the link names that one.
    let chans = channels_of(&app, &key).await;
    assert_eq!(chans.len(), 1, "{chans:?}");
    let id = link["id"].as_str().unwrap();
    let (s, done) = call(
        &app,
        &key,
        "GET",
        &format!("/api/v1/onboarding-links/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["channel_id"], chans[0]["id"]);
}

/// Sends a text on `channel`.
async fn send_text(app: &TestApp, key: &str, channel: &str, to: &str) -> (u16, Value) {
    call(
        app,
        key,
        "POST",
        "/api/v1/messages/send",
        Some(json!({"channel_id": channel, "recipient": to, "text": "hi"})),
    )
    .await
}

async fn user_writes(app: &TestApp, phone: &str, from: &str) {
    let (s, v) = control(
        app,
        "inbound",
        json!({"asset_id": phone, "from": from, "type": "text", "text": "hello"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

async fn held_deliveries(app: &TestApp, channel: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT status FROM deliveries WHERE channel_id = $1")
        .bind(channel)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_channel_without_a_license_of_its_own_neither_sends_nor_is_relayed() {
    let app = common::spawn_app().await;
    let (account, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let until = app.state.now() + 30 * DAY_MS;
    licenses::grant(&app.state, &account, Tier::Pro, until, 2)
        .await
        .unwrap();
    let mut chans = Vec::new();
    for _ in 0..2 {
        let (_, phone) = new_number(&app).await;
        let hook = spawn_endpoint(Answer::Status(200)).await;
        let v = connect(
            &app,
            &key,
            "whatsapp",
            &[&phone],
            None,
            json!({"webhook_url": hook.url, "webhook_events": ["message.received"]}),
        )
        .await;
        let id = v["id"].as_str().unwrap().to_string();
        let path = format!("/api/v1/channels/{id}/register");
        let (s, v) = call(&app, &key, "POST", &path, Some(json!({"pin": "123456"}))).await;
        assert_eq!(s, 200, "{v}");
        chans.push((id, phone, hook));
    }
    // The operator's grant shrinks to one license: the number connected last
    // holds none, though the account still has a license.
    licenses::grant(&app.state, &account, Tier::Pro, until, 1)
        .await
        .unwrap();
    let (licensed, unlicensed) = (&chans[0], &chans[1]);
    let (s, v) = call(
        &app,
        &key,
        "GET",
        &format!("/api/v1/channels/{}", unlicensed.0),
        None,
    )
    .await;
    assert_eq!((s, &v["subscription"]["status"]), (200, &json!("none")));

    // Inbound: stored for both, relayed only for the licensed channel.
    user_writes(&app, &licensed.1, "15550001111").await;
    user_writes(&app, &unlicensed.1, "15550002222").await;
    licensed.2.wait_for(1).await;
    let mut stored = Vec::new();
    for _ in 0..100 {
        stored = held_deliveries(&app, &unlicensed.0).await;
        if !stored.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored, vec!["held".to_string()], "stored, not relayed");
    unlicensed.2.stays_at(0, 500).await;

    // Sending: the licensed number sends, the other is refused with 402.
    let (s, v) = send_text(&app, &key, &licensed.0, "15550001111").await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = send_text(&app, &key, &unlicensed.0, "15550002222").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (402, Some("subscription_required")),
        "{v}"
    );
    assert!(
        v["detail"].as_str().unwrap().contains("this channel"),
        "{v}"
    );
    let (s, outbox) = call(
        &app,
        &key,
        "GET",
        &format!("/sandbox/api/outbox?asset_id={}", unlicensed.1),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(outbox["messages"], json!([]), "nothing reached Meta");

    // A license for it again: its held delivery goes out.
    licenses::grant(&app.state, &account, Tier::Pro, until, 2)
        .await
        .unwrap();
    unlicensed.2.wait_for(1).await;
    let (s, v) = send_text(&app, &key, &unlicensed.0, "15550002222").await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn racing_creates_cannot_pass_the_per_account_caps() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    // The same redirect URI pattern, many times at once: stored once.
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let http = app.http.clone();
            let url = app.url("/api/v1/redirects");
            let key = key.clone();
            tokio::spawn(async move {
                http.post(url)
                    .header("x-api-key", key)
                    .json(&json!({"uri_pattern": "https://race.example.com/cb"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for t in tasks {
        assert!(matches!(t.await.unwrap(), 200 | 201));
    }
    let (s, v) = call(&app, &key, "GET", "/api/v1/redirects", None).await;
    assert_eq!(s, 200);
    let list = v
        .as_array()
        .or_else(|| v["redirects"].as_array())
        .unwrap_or_else(|| panic!("{v}"))
        .clone();
    assert_eq!(list.len(), 1, "{list:?}");

    // Event endpoints: one slot left under the cap of 20, many racers.
    let cap = app::services::event_endpoints::MAX_PER_ACCOUNT;
    let hook = spawn_endpoint(Answer::Status(200)).await;
    for _ in 0..cap - 1 {
        let (s, v) = call(
            &app,
            &key,
            "POST",
            "/api/v1/event-endpoints",
            Some(json!({"url": hook.url, "events": ["channel.connected"]})),
        )
        .await;
        assert_eq!(s, 201, "{v}");
    }
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let http = app.http.clone();
            let url = app.url("/api/v1/event-endpoints");
            let key = key.clone();
            let hook = hook.url.clone();
            tokio::spawn(async move {
                http.post(url)
                    .header("x-api-key", key)
                    .json(&json!({"url": hook, "events": ["channel.connected"]}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            201 => created += 1,
            400 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 1);
    let (s, v) = call(&app, &key, "GET", "/api/v1/event-endpoints", None).await;
    assert_eq!(s, 200);
    let n = v
        .as_array()
        .or_else(|| v["event_endpoints"].as_array())
        .or_else(|| v["endpoints"].as_array())
        .unwrap_or_else(|| panic!("{v}"))
        .len();
    assert_eq!(n, cap);
}
