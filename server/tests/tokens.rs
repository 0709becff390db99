//! Token lifecycle (SPEC §5.5): the job refreshes tokens a week before they
//! expire, warns with `channel.token_expiring` (7 days, 1 day; once each)
//! when Meta will not refresh them, and deactivates channels whose token
//! Meta rejects. The sandbox plays Meta; the test clock moves time.

mod common;
mod connect_support;
mod customer_support;
mod sandbox_support;

use app::clock::{DAY_MS, HOUR_MS};
use app::services::token_refresh;
use common::TestApp;
use connect_support::{IG, PAGE_1, PHONE_1, allow_redirect, call, connect};
use customer_support::{Customer, spawn_customer};
use sandbox_support::{control, user_token};
use serde_json::{Value, json};

struct Account {
    id: String,
    key: String,
}

async fn account(app: &TestApp) -> Account {
    let (id, key) = app.account_with_key().await;
    allow_redirect(app, &key).await;
    // Past the 7-day trial the account keeps a license, so events are delivered.
    app::services::licenses::grant(
        &app.state,
        &id,
        app::domain::billing::Tier::Pro,
        app.state.now() + 120 * DAY_MS,
        1,
    )
    .await
    .unwrap();
    Account { id, key }
}

async fn channel(app: &TestApp, a: &Account, kind: &str, asset: &str) -> String {
    let v = connect(app, &a.key, kind, &[asset], Some(asset), json!({})).await;
    v["id"].as_str().unwrap().to_string()
}

async fn endpoint(app: &TestApp, a: &Account) -> Customer {
    let c = spawn_customer().await;
    let (s, v) = call(
        app,
        &a.key,
        "POST",
        "/api/v1/event-endpoints",
        Some(json!({"url": c.url, "events": ["channel.token_expiring", "channel.disconnected"]})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    c
}

/// A long-lived (60-day) user token from Facebook Login for `assets`.
async fn long_lived(app: &TestApp, config: Option<String>, assets: &[&str]) -> String {
    let short = user_token(app, &config.unwrap(), assets).await;
    app.state
        .meta
        .exchange_long_lived(&short)
        .await
        .unwrap()
        .access_token
}

/// Puts `token` (expiring at `expires_at`) on the channel, as a connect would have.
async fn set_token(app: &TestApp, channel_id: &str, token: Option<&str>, expires_at: i64) {
    if let Some(t) = token {
        sqlx::query("UPDATE channels SET access_token = $1 WHERE id = $2")
            .bind(app.state.cipher.encrypt(t.as_bytes()))
            .bind(channel_id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE channels SET token_expires_at = $1 WHERE id = $2")
        .bind(expires_at)
        .bind(channel_id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
}

async fn token_of(app: &TestApp, a: &Account, channel_id: &str) -> (String, Option<i64>, bool) {
    let c = app::store::channels::get(&app.state.db, &a.id, channel_id)
        .await
        .unwrap()
        .unwrap();
    let token = app::services::channels::token(&app.state, &c).unwrap();
    (token, c.token_expires_at, c.is_active)
}

async fn run(app: &TestApp) -> token_refresh::Report {
    token_refresh::run_once(&app.state).await.unwrap()
}

fn expiring(c: &Customer) -> Vec<Value> {
    c.bodies()
        .into_iter()
        .filter(|v| v["event"] == "channel.token_expiring")
        .collect()
}

#[tokio::test]
async fn tokens_near_expiry_are_refreshed_by_the_job() {
    let app = common::spawn_app().await;
    let a = account(&app).await;
    let fb = channel(&app, &a, "facebook", PAGE_1).await;
    let ig = channel(&app, &a, "instagram", IG).await;
    let cfg = &app.state.config;
    let fb_token = long_lived(&app, cfg.meta_config_id_facebook.clone(), &[PAGE_1]).await;
    let ig_token = long_lived(&app, cfg.meta_config_id_instagram.clone(), &[IG]).await;
    let now = app.state.now();
    set_token(&app, &fb, Some(&fb_token), now + 60 * DAY_MS).await;
    // An Instagram Login account: no Page behind it, refreshed on graph.instagram.com.
    set_token(&app, &ig, Some(&ig_token), now + 60 * DAY_MS).await;
    sqlx::query("UPDATE channels SET page_id = NULL WHERE id = $1")
        .bind(&ig)
        .execute(&app.state.db.pool)
        .await
        .unwrap();

    // Two months ahead: nothing to do.
    assert_eq!(run(&app).await, token_refresh::Report::default());

    // Six days before expiry both are refreshed for another 60 days.
    app.clock.advance(54 * DAY_MS);
    let report = run(&app).await;
    let mut refreshed = report.refreshed.clone();
    refreshed.sort();
    let mut want = vec![fb.clone(), ig.clone()];
    want.sort();
    assert_eq!(refreshed, want, "{report:?}");
    assert!(report.warned.is_empty() && report.died.is_empty());
    let later = app.state.now();
    for (id, old) in [(&fb, &fb_token), (&ig, &ig_token)] {
        let (token, expires, active) = token_of(&app, &a, id).await;
        assert!(active);
        assert_ne!(&token, old, "the new token is stored");
        let expires = expires.unwrap();
        assert!(expires >= later + 59 * DAY_MS, "new expiry {expires}");
        // The new token works with Meta.
        assert!(app.state.meta.debug_token(&token).await.unwrap().is_valid);
    }
    // The API shows the new expiry.
    let (_, v) = call(&app, &a.key, "GET", &format!("/api/v1/channels/{fb}"), None).await;
    assert!(
        v["token_expires_at"].as_str().unwrap() > app::clock::rfc3339(later + 59 * DAY_MS).as_str()
    );
    // And nothing is due again right away.
    assert_eq!(run(&app).await, token_refresh::Report::default());
}

#[tokio::test]
async fn when_meta_will_not_refresh_the_account_is_warned_once_per_threshold() {
    let app = common::spawn_app().await;
    let a = account(&app).await;
    let events = endpoint(&app, &a).await;
    // Embedded Signup's system-user token: Meta has no refresh for it.
    let wa = channel(&app, &a, "whatsapp", PHONE_1).await;
    let now = app.state.now();
    set_token(&app, &wa, None, now + 7 * DAY_MS - HOUR_MS).await;

    let r = run(&app).await;
    assert_eq!(r.warned, vec![wa.clone()], "{r:?}");
    assert!(r.refreshed.is_empty());
    let first = events
        .find(|v| v["event"] == "channel.token_expiring")
        .await
        .json();
    assert_eq!(first["data"]["channel_id"], wa.as_str());
    assert_eq!(first["data"]["days_left"], 7);
    assert_eq!(first["data"]["channel_type"], "whatsapp");
    assert!(first["data"]["token_expires_at"].is_string());
    assert!(
        first["data"]["detail"].as_str().unwrap().contains("Meta"),
        "{first}"
    );

    // The job runs again: no second warning for the same threshold.
    app.clock.advance(HOUR_MS);
    assert!(run(&app).await.warned.is_empty());
    app.clock.advance(DAY_MS + HOUR_MS);
    assert!(run(&app).await.warned.is_empty());

    // Less than a day left: the last warning, once.
    app.clock.advance(5 * DAY_MS);
    let r = run(&app).await;
    assert_eq!(r.warned, vec![wa.clone()], "{r:?}");
    app.clock.advance(HOUR_MS);
    assert!(run(&app).await.warned.is_empty());
    events.wait_for(2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let days: Vec<Value> = expiring(&events)
        .iter()
        .map(|v| v["data"]["days_left"].clone())
        .collect();
    assert_eq!(days, vec![json!(7), json!(1)]);
    let owner = app::store::accounts::manager_emails(&app.state.db, &a.id)
        .await
        .unwrap()
        .remove(0);
    let mail = app.last_mail_to(&owner).await;
    assert!(
        mail.subject.contains("expires within a day"),
        "{}",
        mail.subject
    );

    // Expired without a refresh: the channel goes inactive.
    app.clock.advance(DAY_MS);
    let r = run(&app).await;
    assert_eq!(r.died, vec![wa.clone()]);
    let (_, _, active) = token_of(&app, &a, &wa).await;
    assert!(!active);
    let gone = events
        .find(|v| v["event"] == "channel.disconnected")
        .await
        .json();
    assert_eq!(gone["data"]["channel_id"], wa.as_str());
    assert_eq!(gone["data"]["reason"], "token_invalid");
    assert_eq!(expiring(&events).len(), 2);
}

#[tokio::test]
async fn a_revoked_token_deactivates_the_channel_from_the_job_or_a_call() {
    let app = common::spawn_app().await;
    let a = account(&app).await;
    let events = endpoint(&app, &a).await;
    let fb = channel(&app, &a, "facebook", PAGE_1).await;
    let wa = channel(&app, &a, "whatsapp", PHONE_1).await;
    let token = long_lived(
        &app,
        app.state.config.meta_config_id_facebook.clone(),
        &[PAGE_1],
    )
    .await;
    set_token(&app, &fb, Some(&token), app.state.now() + 3 * DAY_MS).await;

    // The user changes their password: every token on the Page dies (190).
    let (s, v) = control(&app, "revoke", json!({"asset_id": PAGE_1})).await;
    assert_eq!(s, 200, "{v}");
    let r = run(&app).await;
    assert_eq!(r.died, vec![fb.clone()], "{r:?}");
    assert!(!token_of(&app, &a, &fb).await.2);
    let hit = events
        .find(|v| v["event"] == "channel.disconnected" && v["data"]["channel_id"] == fb.as_str())
        .await
        .json();
    assert_eq!(hit["data"]["reason"], "token_invalid");
    assert!(
        hit["data"]["detail"].as_str().unwrap().contains("190"),
        "{hit}"
    );

    // A call that meets the dead token does the same.
    let (s, v) = control(&app, "revoke", json!({"asset_id": PHONE_1})).await;
    assert_eq!(s, 200, "{v}");
    let path = format!("/api/v1/channels/{wa}/templates");
    let (s, v) = call(&app, &a.key, "GET", &path, None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("channel_inactive")),
        "{v}"
    );
    assert!(v["detail"].as_str().unwrap().contains("190"), "{v}");
    assert!(!token_of(&app, &a, &wa).await.2);
    events
        .find(|v| v["event"] == "channel.disconnected" && v["data"]["channel_id"] == wa.as_str())
        .await;
    // Inactive channels are not the job's business any more.
    assert_eq!(run(&app).await, token_refresh::Report::default());
}
