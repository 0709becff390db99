//! The relay worker end to end: events recorded through the service layer,
//! delivered by the worker that `serve` runs, to a local scriptable endpoint.
//! Time moves with the test clock; nothing sleeps for minutes.

mod common;
mod connect_support;
mod relay_support;

use std::time::Duration;

use app::clock::{HOUR_MS, MINUTE_MS};
use connect_support::*;
use relay_support::*;
use serde_json::{Value, json};

struct Setup {
    app: common::TestApp,
    account: String,
    channel: String,
    secret: Option<String>,
    endpoint: Endpoint,
    key: String,
}

/// An account with a WhatsApp channel (PHONE_1) whose webhook goes to a fresh
/// endpoint; `with_secret` = the API rule (a secret is generated), else the
/// Portal rule (URL without secret).
async fn setup(default: Answer, with_secret: bool) -> Setup {
    let app = common::spawn_app().await;
    let endpoint = spawn_endpoint(default).await;
    let (account, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let (channel, secret) = if with_secret {
        let v = connect(
            &app,
            &key,
            "whatsapp",
            &[PHONE_1],
            Some(PHONE_1),
            json!({"webhook_url": endpoint.url, "webhook_events": ["message.received"]}),
        )
        .await;
        let secret = v["webhook_secret"].as_str().expect("generated secret");
        (
            v["id"].as_str().unwrap().to_string(),
            Some(secret.to_string()),
        )
    } else {
        let v = connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
        let id = v["id"].as_str().unwrap().to_string();
        let settings = app::services::channels::WebhookSettings {
            url: Some(Some(endpoint.url.clone())),
            secret: None,
            events: Some(vec!["message.received".into()]),
        };
        let up = app::services::channels::update_webhook_settings(
            &app.state, &account, &id, &settings, false, 64,
        )
        .await
        .unwrap();
        assert!(!up.channel.has_webhook_secret);
        (id, None)
    };
    Setup {
        app,
        account,
        channel,
        secret,
        endpoint,
        key,
    }
}

impl Setup {
    /// A `message.received` as the ingest stores it, including the sender's
    /// last-inbound time (it opens the 24-hour window a reply needs).
    async fn event(&self, data: Value) -> (String, String) {
        if let Some(from) = data["from"].as_str() {
            let mut conn = self.app.state.db.pool.acquire().await.unwrap();
            app::store::contacts::seen(&mut conn, &self.channel, from, None, self.app.state.now())
                .await
                .unwrap();
        }
        channel_event(
            &self.app,
            &self.account,
            &self.channel,
            "message.received",
            data,
            false,
        )
        .await
    }
}

#[tokio::test]
async fn delivery_is_signed_both_ways_and_the_payload_is_cleared() {
    let s = setup(Answer::Status(204), true).await;
    let secret = s.secret.clone().unwrap();
    let before = s.app.state.now() / 1000;
    let (event_id, delivery_id) = s.event(text_message("15550100001", "Hello!")).await;
    let hit = s.endpoint.wait_for(1).await.remove(0);

    assert_eq!(hit.header("content-type"), Some("application/json"));
    assert_eq!(
        hit.header("user-agent").unwrap(),
        format!("Switchboard/{}", app::VERSION)
    );
    assert_eq!(hit.header("x-webhook-event"), Some("message.received"));
    assert_eq!(hit.header("x-webhook-attempt"), Some("1"));
    assert_eq!(hit.header("webhook-id"), Some(event_id.as_str()));
    let ts: i64 = hit.header("webhook-timestamp").unwrap().parse().unwrap();
    assert!((before..=before + 5).contains(&ts), "{ts} vs {before}");
    assert!(
        hex_signature_ok(&secret, &hit),
        "X-Webhook-Signature must verify"
    );
    assert!(!hex_signature_ok("another-secret-0000", &hit));
    assert_eq!(
        hit.header("webhook-signature").unwrap(),
        expected_standard_signature(&secret, &hit)
    );
    let body = hit.json();
    assert_eq!(body["event_id"], event_id);
    assert_eq!(body["channel_id"], s.channel);
    assert_eq!(body["data"]["text"], "Hello!");

    let d = settled(&s.app, &delivery_id, 1).await;
    assert_eq!(d.status, "delivered");
    assert_eq!(d.payload, None, "ciphertext is cleared after success");
    let log = attempts(&s.app, &delivery_id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status_code, Some(204));
    assert_eq!(log[0].error, None);
    s.endpoint.stays_at(1, 400).await;
}

#[tokio::test]
async fn no_signature_headers_without_a_secret() {
    let s = setup(Answer::Status(200), false).await;
    let (event_id, delivery_id) = s.event(text_message("15550100001", "hi")).await;
    let hit = s.endpoint.wait_for(1).await.remove(0);
    assert_eq!(hit.header("x-webhook-signature"), None);
    assert_eq!(hit.header("webhook-signature"), None);
    assert_eq!(hit.header("webhook-id"), Some(event_id.as_str()));
    assert!(hit.header("webhook-timestamp").is_some());
    assert_eq!(settled(&s.app, &delivery_id, 1).await.status, "delivered");
}

#[tokio::test]
async fn a_rotated_secret_signs_the_next_attempt() {
    let s = setup(Answer::Status(200), true).await;
    let old = s.secret.clone().unwrap();
    s.endpoint.then(Answer::Status(500));
    let (_, delivery_id) = s.event(text_message("15550100001", "hi")).await;
    let first = s.endpoint.wait_for(1).await.remove(0);
    assert!(hex_signature_ok(&old, &first));
    let d = settled(&s.app, &delivery_id, 1).await;
    assert_eq!((d.status.as_str(), d.lane), ("failed", 1));

    let new = "rotated-secret-ABCDEFGHIJ0123456789";
    let (st, v) = call(
        &s.app,
        &s.key,
        "PATCH",
        &format!("/api/v1/channels/{}", s.channel),
        Some(json!({"webhook_secret": new})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    s.app.clock.advance(30_000);
    let second = s.endpoint.wait_for(2).await.remove(1);
    assert_eq!(second.header("x-webhook-attempt"), Some("2"));
    assert!(hex_signature_ok(new, &second), "the new secret signs");
    assert!(!hex_signature_ok(&old, &second), "no overlap window");
    assert_eq!(
        second.header("webhook-signature").unwrap(),
        expected_standard_signature(new, &second)
    );
    assert_eq!(settled(&s.app, &delivery_id, 2).await.status, "delivered");
}

/// Waits until the delivery made attempt `n` and returns the gap (s) to its next one.
async fn gap_after(s: &Setup, delivery_id: &str, n: i64) -> Option<i64> {
    let d = settled(&s.app, delivery_id, n).await;
    d.next_attempt_at
        .map(|next| (next - s.app.state.now() + 500) / 1000)
}

#[tokio::test]
async fn standard_schedule_then_exhausted_with_alerts_and_one_warning_per_hour() {
    let s = setup(Answer::Status(500), true).await;
    let (event_a, a) = s.event(text_message("15550100001", "a")).await;
    let (_, b) = s.event(text_message("15550100001", "b")).await;
    let mut gaps = vec![];
    let mut n = 1;
    while let Some(gap) = gap_after(&s, &a, n).await {
        settled(&s.app, &b, n).await;
        if n == 3 {
            // Both deliveries failed three times: one warning for the channel.
            let warnings = mails_about(&s.app, &s.account, "are failing").await;
            assert_eq!(warnings.len(), 1, "one warning per channel per hour");
            assert!(warnings[0].body_text.contains(&s.endpoint.url));
        }
        if n < 3 {
            assert!(
                mails_about(&s.app, &s.account, "are failing")
                    .await
                    .is_empty()
            );
        }
        gaps.push(gap);
        s.app.clock.advance(gap * 1000);
        n += 1;
    }
    assert_eq!(gaps, vec![30, 60, 120, 120, 120, 120, 120]);
    let d = settled(&s.app, &a, 8).await;
    assert_eq!(d.status, "exhausted");
    assert_eq!(d.payload, None);
    assert_eq!(settled(&s.app, &b, 8).await.status, "exhausted");
    assert_eq!(attempts(&s.app, &a).await.len(), 8);
    let hits = s.endpoint.hits();
    assert_eq!(hits.len(), 16);
    assert_eq!(hits[15].header("x-webhook-attempt"), Some("8"));

    let exhausted = wait_account_events(&s.app, &s.account, "delivery.exhausted", 2).await;
    assert_eq!(
        exhausted.len(),
        2,
        "one account event per exhausted delivery"
    );
    let ev = exhausted
        .iter()
        .find(|e| e["data"]["delivery_id"] == a)
        .expect("event for a");
    assert_eq!(ev["account_id"], s.account);
    assert_eq!(ev["data"]["event_id"], event_a);
    assert_eq!(ev["data"]["attempts"], 8);
    assert_eq!(ev["data"]["last_status_code"], 500);
    let alerts = mails_about(&s.app, &s.account, "given up").await;
    assert_eq!(
        alerts.len(),
        1,
        "alert mails are limited per channel and hour"
    );

    // More than an hour later a new failing delivery warns again.
    s.app.clock.advance(HOUR_MS);
    let (_, c) = s.event(text_message("15550100001", "c")).await;
    for n in 1..=3 {
        let gap = gap_after(&s, &c, n).await.unwrap();
        s.app.clock.advance(gap * 1000);
    }
    settled(&s.app, &c, 4).await;
    assert_eq!(
        mails_about(&s.app, &s.account, "are failing").await.len(),
        2
    );
}

#[tokio::test]
async fn the_twenty_minute_deadline_ends_retries() {
    let s = setup(Answer::Status(503), true).await;
    let (_, id) = s.event(text_message("15550100001", "late")).await;
    let d = settled(&s.app, &id, 1).await;
    assert_eq!(d.status, "failed");
    let created = d.deadline_at.unwrap() - 20 * MINUTE_MS;
    assert!(d.next_attempt_at.unwrap() - created >= 30_000);
    // The endpoint stays down past the deadline: the retry due now is the last.
    s.app.clock.advance(21 * MINUTE_MS);
    let d = settled(&s.app, &id, 2).await;
    assert_eq!(d.status, "exhausted");
    assert_eq!(d.next_attempt_at, None);
    assert_eq!(d.payload, None);
    assert_eq!(
        wait_account_events(&s.app, &s.account, "delivery.exhausted", 1)
            .await
            .len(),
        1
    );
    s.app.clock.advance(5 * MINUTE_MS);
    s.endpoint.stays_at(2, 600).await;
}

#[tokio::test]
async fn gone_410_stops_at_once() {
    let s = setup(Answer::Status(410), true).await;
    let (_, id) = s.event(text_message("15550100001", "x")).await;
    let d = settled(&s.app, &id, 1).await;
    assert_eq!(d.status, "exhausted");
    assert_eq!(d.payload, None);
    assert_eq!(attempts(&s.app, &id).await[0].status_code, Some(410));
    s.app.clock.advance(5 * MINUTE_MS);
    s.endpoint.stays_at(1, 600).await;
    assert!(
        account_events(&s.app, &s.account, "delivery.exhausted")
            .await
            .is_empty(),
        "a 410 is the customer's own choice, not an alert"
    );
}

#[tokio::test]
async fn a_slow_endpoint_is_a_timed_out_attempt() {
    let s = setup(Answer::Sleep(Duration::from_secs(6)), true).await;
    let (_, id) = s.event(text_message("15550100001", "slow")).await;
    let d = settled(&s.app, &id, 1).await;
    assert_eq!(d.status, "failed");
    assert!(d.next_attempt_at.is_some());
    assert!(d.payload.is_some(), "kept for the retry");
    let log = attempts(&s.app, &id).await;
    assert_eq!(log[0].status_code, None);
    assert!(log[0].latency_ms >= 4_900, "{:?}", log[0]);
    assert!(log[0].latency_ms < 6_000, "{:?}", log[0]);
    assert!(
        log[0].error.as_deref().unwrap_or("").contains("timeout"),
        "{:?}",
        log[0]
    );
}

#[tokio::test]
async fn the_attempt_log_keeps_status_error_and_a_one_kilobyte_snippet() {
    let s = setup(Answer::Status(200), true).await;
    let big = "x".repeat(5000);
    s.endpoint.then(Answer::Body(500, big.clone()));
    s.endpoint
        .then(Answer::Body(422, "{\"error\":\"bad\"}".into()));
    let (_, id) = s.event(text_message("15550100001", "log")).await;
    settled(&s.app, &id, 1).await;
    s.app.clock.advance(30_000);
    settled(&s.app, &id, 2).await;
    s.app.clock.advance(60_000);
    let d = settled(&s.app, &id, 3).await;
    assert_eq!(d.status, "delivered");
    let log = attempts(&s.app, &id).await;
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].status_code, Some(500));
    assert_eq!(log[0].error.as_deref(), Some("HTTP 500"));
    assert_eq!(log[0].response.as_deref(), Some(&big[..1024]));
    assert_eq!(log[1].status_code, Some(422));
    assert_eq!(log[1].response.as_deref(), Some("{\"error\":\"bad\"}"));
    assert_eq!(log[2].status_code, Some(200));
    assert_eq!(log[2].error, None);
    assert!(log.iter().all(|a| a.latency_ms >= 0));
}

#[tokio::test]
async fn held_deliveries_wait_and_are_released_in_order() {
    let s = setup(Answer::Status(200), true).await;
    let mut ids = vec![];
    for i in 0..4 {
        let (_, id) = channel_event(
            &s.app,
            &s.account,
            &s.channel,
            "message.received",
            text_message("15550100001", &format!("held {i}")),
            true,
        )
        .await;
        ids.push(id);
    }
    s.endpoint.stays_at(0, 800).await;
    let d = delivery(&s.app, &ids[0]).await;
    assert_eq!(d.status, "held");
    assert_eq!((d.next_attempt_at, d.deadline_at), (None, None));

    let now = s.app.state.now();
    let released = app::services::relay::release_held(&s.app.state, &s.account)
        .await
        .unwrap();
    assert_eq!(released, 4);
    let hits = s.endpoint.wait_for(4).await;
    let texts: Vec<String> = hits
        .iter()
        .map(|h| h.json()["data"]["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, vec!["held 0", "held 1", "held 2", "held 3"]);
    for id in &ids {
        let d = settled(&s.app, id, 1).await;
        assert_eq!(d.status, "delivered");
        let deadline = d.deadline_at.unwrap();
        assert!((now + 20 * MINUTE_MS..now + 20 * MINUTE_MS + 5_000).contains(&deadline));
    }
    assert_eq!(
        app::services::relay::release_held(&s.app.state, &s.account)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_crashed_workers_lease_is_reclaimed_after_it_expires() {
    let s = setup(Answer::Status(200), true).await;
    let until = s.app.state.now() + 30_000;
    let (_, id) = channel_event_with(
        &s.app,
        &s.account,
        &s.channel,
        "message.received",
        text_message("15550100001", "orphaned claim"),
        false,
        Some(("crashed-worker", until)),
    )
    .await;
    s.endpoint.stays_at(0, 800).await;
    assert_eq!(
        delivery(&s.app, &id).await.lease_owner.as_deref(),
        Some("crashed-worker")
    );
    s.app.clock.advance(31_000);
    s.endpoint.wait_for(1).await;
    let d = settled(&s.app, &id, 1).await;
    assert_eq!(d.status, "delivered");
    assert_eq!(d.lease_owner, None);
}

#[tokio::test]
async fn a_reply_in_the_response_is_sent_back_to_the_sender() {
    let s = setup(
        Answer::Body(200, r#"{"reply":{"text":"Thanks, we got it!"}}"#.into()),
        true,
    )
    .await;
    let from = "15550100777";
    let (st, v) = call(
        &s.app,
        &s.key,
        "POST",
        &format!("/api/v1/channels/{}/register", s.channel),
        Some(json!({"pin": "123456"})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    // The user writes first (in the sandbox), which opens the 24-hour window.
    let (st, v) = relay_control(
        &s.app,
        "inbound",
        json!({"asset_id": PHONE_1, "from": from, "type": "text", "text": "Hello?"}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let (_, id) = s.event(text_message(from, "Hello?")).await;
    assert_eq!(settled(&s.app, &id, 1).await.status, "delivered");
    let mut sent = Value::Null;
    for _ in 0..100 {
        let res = s
            .app
            .http
            .get(
                s.app
                    .url(&format!("/sandbox/api/outbox?asset_id={PHONE_1}&to={from}")),
            )
            .send()
            .await
            .unwrap();
        let v: Value = res.json().await.unwrap();
        if let Some(m) = v["messages"].as_array().and_then(|a| a.first()) {
            sent = m.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sent["text"], "Thanks, we got it!", "outbox: {sent}");
    let meta_id = sent["meta_message_id"].as_str().unwrap();
    // The sandbox has the message a moment before the send service stores
    // Meta's id for it.
    let mut found = None;
    for _ in 0..100 {
        let mut conn = s.app.state.db.pool.acquire().await.unwrap();
        found = app::store::messages::by_meta_id(&mut conn, &s.channel, meta_id)
            .await
            .unwrap();
        if found.is_some() {
            break;
        }
        drop(conn);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let m = found.expect("the reply is recorded so statuses map back");
    assert_eq!(m.recipient, from);
    assert_eq!(m.account_id, s.account);
    assert!(m.status_rank >= 1, "{}", m.status);
    assert_eq!(uuid_version(&m.id), Some(7));
}

fn uuid_version(id: &str) -> Option<u32> {
    id.split('-').nth(2)?.chars().next()?.to_digit(16)
}

#[tokio::test]
async fn a_dead_token_on_reply_disconnects_the_channel() {
    let s = setup(
        Answer::Body(200, r#"{"reply":{"text":"auto answer"}}"#.into()),
        true,
    )
    .await;
    let (st, v) = relay_control(&s.app, "revoke", json!({"asset_id": PHONE_1})).await;
    assert_eq!(st, 200, "{v}");
    let (_, id) = s.event(text_message("15550100888", "hi")).await;
    assert_eq!(
        settled(&s.app, &id, 1).await.status,
        "delivered",
        "a failed reply never fails the delivery"
    );
    let mut events = vec![];
    for _ in 0..100 {
        events = account_events(&s.app, &s.account, "channel.disconnected").await;
        if !events.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["channel_id"], s.channel);
    assert_eq!(events[0]["data"]["reason"], "token_invalid");
    let ch = app::store::channels::get(&s.app.state.db, &s.account, &s.channel)
        .await
        .unwrap()
        .unwrap();
    assert!(!ch.is_active);
    assert_eq!(
        ch.webhook_url.as_deref(),
        Some(s.endpoint.url.as_str()),
        "settings are kept"
    );
    let mails = mails_about(&s.app, &s.account, "was disconnected").await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].body_text.contains("access token"));
}

async fn relay_control(app: &common::TestApp, path: &str, body: Value) -> (u16, Value) {
    let res = app
        .http
        .post(app.url(&format!("/sandbox/api/{path}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_removed_webhook_url_fails_the_attempt_with_a_clear_error() {
    let s = setup(Answer::Status(200), true).await;
    s.endpoint.then(Answer::Status(500));
    let (_, id) = s.event(text_message("15550100001", "x")).await;
    settled(&s.app, &id, 1).await;
    let (st, v) = call(
        &s.app,
        &s.key,
        "PATCH",
        &format!("/api/v1/channels/{}", s.channel),
        Some(json!({"webhook_url": null})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    s.app.clock.advance(30_000);
    let d = settled(&s.app, &id, 2).await;
    assert_eq!(d.status, "failed");
    let log = attempts(&s.app, &id).await;
    assert_eq!(log[1].status_code, None);
    assert!(
        log[1].error.as_deref().unwrap().contains("no webhook URL"),
        "{:?}",
        log[1]
    );
    assert_eq!(s.endpoint.count(), 1, "nothing was sent");
}

#[tokio::test]
async fn shutdown_stops_claiming_and_lets_the_attempt_in_flight_finish() {
    let s = setup(Answer::Sleep(Duration::from_millis(1500)), true).await;
    let (_, in_flight) = s.event(text_message("15550100001", "in flight")).await;
    s.endpoint.wait_for(1).await;
    // What `serve` does first when shutdown begins.
    s.app
        .state
        .accepting
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let d = settled(&s.app, &in_flight, 1).await;
    assert_eq!(d.status, "delivered", "the attempt in flight finishes");
    let (_, later) = s.event(text_message("15550100001", "after")).await;
    s.endpoint.stays_at(1, 1000).await;
    let d = delivery(&s.app, &later).await;
    assert_eq!((d.status.as_str(), d.attempts), ("pending", 0));
    assert_eq!(d.lease_owner, None, "nothing claimed after shutdown began");
}
