//! The delivery log REST API: list filters and cursor paging, bad filters,
//! tenant isolation, retry, replay, the test event and the retention purge.
//! Events are recorded through `fanout::record` like the ingest does; the relay
//! may run meanwhile, so statuses that matter are pinned to ones it leaves alone.

mod common;
mod connect_support;

use std::collections::HashSet;

use app::domain::retry::RetryPolicy;
use app::services::fanout::{self, NewEvent, Target};
use connect_support::*;
use serde_json::{Value, json};

const HOOK: &str = "http://127.0.0.1:9/hook";

/// A WhatsApp channel with a webhook URL and `events` enabled.
async fn channel_with_hook(app: &common::TestApp, key: &str, events: &[&str]) -> String {
    allow_redirect(app, key).await;
    let v = connect(app, key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    let id = v["id"].as_str().unwrap().to_string();
    let (s, v) = call(
        app,
        key,
        "PATCH",
        &format!("/api/v1/channels/{id}"),
        Some(json!({"webhook_url": HOOK, "webhook_events": events})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    id
}

/// Records one channel event with one delivery to `HOOK`; returns its event id.
async fn record(app: &common::TestApp, account: &str, channel: &str, event: &str) -> String {
    record_as(app, account, channel, event, None).await
}

/// Like [`record`], with the delivery's status pinned in the same transaction
/// (no `next_attempt_at`), so the relay never sees it due.
async fn record_as(
    app: &common::TestApp,
    account: &str,
    channel: &str,
    event: &str,
    pin: Option<&str>,
) -> String {
    let now = app.state.now();
    let event_id = fanout::new_event_id();
    let body = fanout::channel_body(
        &event_id,
        event,
        channel,
        "whatsapp",
        now,
        json!({"message_id": format!("wamid.{}", app::crypto::random_hex(6)), "type": "text", "text": "hi"}),
    );
    let ev = NewEvent {
        account_id: account.into(),
        channel_id: Some(channel.into()),
        event: event.into(),
        dedupe_key: Some(app::crypto::random_hex(8)),
        inbound_payload_id: None,
        occurred_at: now,
    };
    let target = Target {
        channel_id: Some(channel.into()),
        endpoint_id: None,
        url: HOOK.into(),
        retry_policy: RetryPolicy::Standard,
    };
    let mut tx = app.state.db.pool.begin().await.unwrap();
    let stored = fanout::record(
        &mut tx,
        &app.state.cipher,
        now,
        &event_id,
        &ev,
        &body,
        &[target],
        false,
    )
    .await
    .unwrap();
    if let Some(status) = pin {
        sqlx::query(
            "UPDATE deliveries SET status = $1, next_attempt_at = NULL WHERE event_id = $2",
        )
        .bind(status)
        .bind(&event_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    assert!(stored.is_some());
    event_id
}

/// Pins the deliveries of `event_id` to a status the relay never picks up. A
/// lease the relay holds meanwhile is taken away, so its outcome is discarded.
async fn set_status(app: &common::TestApp, event_id: &str, status: &str) {
    sqlx::query(
        "UPDATE deliveries SET status = $1, next_attempt_at = NULL, lease_until = NULL, \
         lease_owner = NULL WHERE event_id = $2",
    )
    .bind(status)
    .bind(event_id)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
}

async fn delivery_ids_of(app: &common::TestApp, event_id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT id FROM deliveries WHERE event_id = $1 ORDER BY id")
        .bind(event_id)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
}

async fn count(app: &common::TestApp, sql: &str, id: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

async fn add_attempt(app: &common::TestApp, delivery_id: &str, n: i64, code: Option<i64>) {
    sqlx::query(
        "INSERT INTO delivery_attempts (delivery_id, attempt, at, status_code, latency_ms, error, \
         response) VALUES ($1, $2, $3, $4, 42, $5, $6)",
    )
    .bind(delivery_id)
    .bind(n)
    .bind(app.state.now())
    .bind(code)
    .bind(code.is_none().then_some("connection refused"))
    .bind(code.map(|_| "{\"ok\":false}"))
    .execute(&app.state.db.pool)
    .await
    .unwrap();
}

async fn get(app: &common::TestApp, key: &str, path: &str) -> (u16, Value) {
    call(app, key, "GET", path, None).await
}

#[tokio::test]
async fn list_filters_and_cursor_paging() {
    let app = common::spawn_app().await;
    let (account, key) = app.account_with_key().await;
    let ch = channel_with_hook(&app, &key, &["message.received"]).await;
    let mut received = vec![];
    for i in 0..5 {
        let pin = if i < 3 { "delivered" } else { "exhausted" };
        received.push(record_as(&app, &account, &ch, "message.received", Some(pin)).await);
    }
    let mut read = vec![];
    for _ in 0..2 {
        read.push(record_as(&app, &account, &ch, "message.read", Some("exhausted")).await);
    }
    let first = delivery_ids_of(&app, &received[0]).await.remove(0);
    add_attempt(&app, &first, 1, None).await;
    add_attempt(&app, &first, 2, Some(200)).await;

    // Cursor paging walks every delivery once, newest first.
    let mut seen: Vec<String> = vec![];
    let mut path = "/api/v1/deliveries?limit=3".to_string();
    let mut pages = 0;
    loop {
        let (s, v) = get(&app, &key, &path).await;
        assert_eq!(s, 200, "{v}");
        pages += 1;
        let list = v["deliveries"].as_array().unwrap();
        assert!(list.len() <= 3);
        seen.extend(list.iter().map(|d| d["id"].as_str().unwrap().to_string()));
        match v["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/deliveries?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first");
    assert_eq!(seen.last(), Some(&first));

    // Delivery JSON with attempts; no response snippet in lists.
    let (_, v) = get(&app, &key, "/api/v1/deliveries?status=delivered").await;
    let list = v["deliveries"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert!(v["next_cursor"].is_null());
    let d = list.iter().find(|d| d["id"] == first.as_str()).unwrap();
    assert_eq!(d["event_id"], received[0].as_str());
    assert_eq!(d["event"], "message.received");
    assert_eq!(d["channel_id"], ch.as_str());
    assert_eq!(d["endpoint_url"], HOOK);
    assert_eq!(d["status"], "delivered");
    assert!(d["next_attempt_at"].is_null());
    assert!(d["created_at"].as_str().unwrap().ends_with('Z'));
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["status_code"], Value::Null);
    assert_eq!(attempts[0]["error"], "connection refused");
    assert_eq!(attempts[1]["status_code"], 200);
    assert_eq!(attempts[1]["latency_ms"], 42);
    assert!(attempts[1].get("response").is_none());
    assert!(d.get("payload").is_none());

    // Filters, alone and together.
    let n = |v: &Value| v["deliveries"].as_array().unwrap().len();
    let (_, v) = get(&app, &key, "/api/v1/deliveries?status=exhausted").await;
    assert_eq!(n(&v), 4);
    let (_, v) = get(&app, &key, "/api/v1/deliveries?event=message.read").await;
    assert_eq!(n(&v), 2);
    let (_, v) = get(
        &app,
        &key,
        &format!("/api/v1/deliveries?channel_id={ch}&status=exhausted&event=message.received"),
    )
    .await;
    assert_eq!(n(&v), 2);
    // Empty values mean "any", as an HTML form sends them.
    let (s, v) = get(&app, &key, "/api/v1/deliveries?status=&event=&channel_id=").await;
    assert_eq!((s, n(&v)), (200, 7));

    // The single GET adds response snippets and the decrypted payload.
    let (s, v) = get(&app, &key, &format!("/api/v1/deliveries/{first}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["attempts"][1]["response"], "{\"ok\":false}");
    assert_eq!(v["attempts"][0]["response"], Value::Null);
    assert_eq!(v["payload"]["event_id"], received[0].as_str());
    assert_eq!(v["payload"]["data"]["text"], "hi");
}

#[tokio::test]
async fn bad_filters_have_their_own_codes() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    for (query, status, code) in [
        ("status=sent", 400, "invalid_status"),
        ("status=DELIVERED", 400, "invalid_status"),
        ("event=message.bogus", 400, "invalid_event"),
        ("cursor=not-a-cursor!", 400, "invalid_cursor"),
        ("cursor=bm90LWEtdXVpZA", 400, "invalid_cursor"),
        ("limit=0", 400, "invalid_limit"),
        ("limit=101", 400, "invalid_limit"),
        ("limit=ten", 400, "invalid_limit"),
        ("channel_id=0123456789abcdef", 404, "not_found"),
    ] {
        let (s, v) = get(&app, &key, &format!("/api/v1/deliveries?{query}")).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (status, Some(code)),
            "{query}: {v}"
        );
        assert!(!v["detail"].as_str().unwrap().is_empty());
    }
    let (s, v) = get(&app, &key, "/api/v1/deliveries/nope").await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")));
    let (s, v) = call(&app, &key, "POST", "/api/v1/deliveries/nope/retry", None).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")));
    // Without a key: 401 like every other route.
    let res = app
        .http
        .get(app.url("/api/v1/deliveries"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn another_accounts_deliveries_are_not_found() {
    let app = common::spawn_app().await;
    let (account, key) = app.account_with_key().await;
    let (_, other) = app.account_with_key().await;
    let ch = channel_with_hook(&app, &key, &["message.received"]).await;
    let e = record(&app, &account, &ch, "message.received").await;
    let d = delivery_ids_of(&app, &e).await.remove(0);

    let (s, v) = get(&app, &other, "/api/v1/deliveries").await;
    assert_eq!(s, 200);
    assert_eq!(v["deliveries"], json!([]));
    for (method, path, body) in [
        ("GET", format!("/api/v1/deliveries/{d}"), None),
        ("POST", format!("/api/v1/deliveries/{d}/retry"), None),
        ("GET", format!("/api/v1/deliveries?channel_id={ch}"), None),
        (
            "POST",
            format!("/api/v1/channels/{ch}/replay"),
            Some(json!({"since": "2020-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"})),
        ),
        ("POST", format!("/api/v1/channels/{ch}/test-event"), None),
    ] {
        let (s, v) = call(&app, &other, method, &path, body).await;
        assert_eq!((s, v["code"].as_str()), (404, Some("not_found")), "{path}");
    }
    // Nothing was created on the owner's side.
    assert_eq!(delivery_ids_of(&app, &e).await.len(), 1);
}

#[tokio::test]
async fn retry_creates_a_new_delivery_to_the_current_url() {
    let app = common::spawn_app().await;
    let (account, key) = app.account_with_key().await;
    let ch = channel_with_hook(&app, &key, &["message.received"]).await;
    let e = record_as(&app, &account, &ch, "message.received", Some("exhausted")).await;
    let old = delivery_ids_of(&app, &e).await.remove(0);
    // The URL changed since: the retry goes to the new one.
    let new_url = "http://127.0.0.1:9/new-hook";
    let (s, _) = call(
        &app,
        &key,
        "PATCH",
        &format!("/api/v1/channels/{ch}"),
        Some(json!({"webhook_url": new_url})),
    )
    .await;
    assert_eq!(s, 200);

    let (s, v) = call(
        &app,
        &key,
        "POST",
        &format!("/api/v1/deliveries/{old}/retry"),
        None,
    )
    .await;
    assert_eq!(s, 202, "{v}");
    let new = v["id"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(v["event_id"], e.as_str());
    assert_eq!(v["event"], "message.received");
    assert_eq!(v["channel_id"], ch.as_str());
    assert_eq!(v["endpoint_url"], new_url);
    // Created pending and due now (the relay may already have tried it).
    let status = v["status"].as_str().unwrap();
    assert!(
        status == "pending" || !v["attempts"].as_array().unwrap().is_empty(),
        "{v}"
    );
    let row: (String, i64) = sqlx::query_as("SELECT status, lane FROM deliveries WHERE id = $1")
        .bind(&new)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_ne!(row.0, "held");
    // The original stays as it was; the event now has two deliveries.
    let (_, v) = get(&app, &key, &format!("/api/v1/deliveries/{old}")).await;
    assert_eq!(v["status"], "exhausted");
    assert_eq!(v["endpoint_url"], HOOK);
    assert_eq!(delivery_ids_of(&app, &e).await, vec![old.clone(), new]);

    // No webhook URL any more: 409.
    let (s, _) = call(
        &app,
        &key,
        "PATCH",
        &format!("/api/v1/channels/{ch}"),
        Some(json!({"webhook_url": null})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = call(
        &app,
        &key,
        "POST",
        &format!("/api/v1/deliveries/{old}/retry"),
        None,
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("webhook_url_missing")));
    assert_eq!(delivery_ids_of(&app, &e).await.len(), 2);
}

#[tokio::test]
async fn retry_without_a_license_is_held() {
    let app = common::spawn_app().await;
    let (account, key) = app.account_with_key().await;
    let ch = channel_with_hook(&app, &key, &["message.received"]).await;
    let e = record_as(&app, &account, &ch, "message.received", Some("exhausted")).await;
    let old = delivery_ids_of(&app, &e).await.remove(0);
    // The 7-day trial ends.
    app.clock.advance(8 * app::clock::DAY_MS);
    let (s, v) = call(
        &app,
        &key,
        "POST",
        &format!("/api/v1/deliveries/{old}/retry"),
        None,
    )
    .await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["status"], "held");
    assert!(v["next_attempt_at"].is_null());
    let (_, v) = get(&app, &key, "/api/v1/deliveries?status=held").await;
    assert_eq!(v["deliveries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn replay_counts_events_in_the_window() {
    let app = common::spawn_app().await;
    let (account, key) = app.account_with_key().await;
    let ch = channel_with_hook(&app, &key, &["message.received", "message.read"]).await;
    let path = format!("/api/v1/channels/{ch}/replay");
    let t0 = app.state.now();
    let early = [
        record_as(&app, &account, &ch, "message.received", Some("delivered")).await,
        record_as(&app, &account, &ch, "message.received", Some("exhausted")).await,
        record_as(&app, &account, &ch, "message.read", Some("delivered")).await,
    ];
    app.clock.advance(2 * app::clock::HOUR_MS);
    let late_a = record_as(&app, &account, &ch, "message.received", Some("delivered")).await;
    let late_b = record_as(&app, &account, &ch, "message.delivered", Some("delivered")).await;
    let t1 = app.state.now();
    let ts = |ms: i64| app::clock::rfc3339(ms);

    let replay = |body: Value| {
        let app = &app;
        let key = key.clone();
        let path = path.clone();
        async move { call(app, &key, "POST", &path, Some(body)).await }
    };
    // Only the first hour: the three early events.
    let (s, v) = replay(json!({"since": ts(t0 - 1000), "until": ts(t0 + 3_600_000)})).await;
    assert_eq!((s, v.clone()), (202, json!({"replayed": 3})));
    assert_eq!(delivery_ids_of(&app, &early[0]).await.len(), 2);
    assert_eq!(delivery_ids_of(&app, &late_a).await.len(), 1);
    // Everything: message.delivered is not enabled on the channel, so by
    // default it is left out; naming it replays it.
    let whole = json!({"since": ts(t0 - 1000), "until": ts(t1 + 1000)});
    let (s, v) = replay(whole.clone()).await;
    assert_eq!((s, v["replayed"].as_i64()), (202, Some(4)));
    let mut named = whole.clone();
    named["events"] = json!(["message.delivered", "message.read"]);
    let (_, v) = replay(named).await;
    assert_eq!(v["replayed"], 2);
    // Only events whose latest delivery is exhausted: replays above made new
    // pending ones, so pin them first.
    for e in early.iter().chain([&late_a, &late_b]) {
        set_status(&app, e, "delivered").await;
    }
    set_status(&app, &early[1], "exhausted").await;
    let mut failed_only = whole.clone();
    failed_only["status"] = json!("exhausted");
    let (_, v) = replay(failed_only).await;
    assert_eq!(v["replayed"], 1);
    let (_, v) = replay(json!({"since": ts(t1 + 1000), "until": ts(t1 + 2000)})).await;
    assert_eq!(v["replayed"], 0);

    // Bad input, each with its own code.
    for (body, status, code) in [
        (
            json!({"since": "yesterday", "until": ts(t1)}),
            400,
            "invalid_timestamp",
        ),
        (
            json!({"since": ts(t1), "until": ts(t0)}),
            400,
            "invalid_window",
        ),
        (
            json!({"since": ts(t0), "until": ts(t1), "events": ["message.bogus"]}),
            400,
            "invalid_event",
        ),
        (
            json!({"since": ts(t0), "until": ts(t1), "status": "gone"}),
            400,
            "invalid_status",
        ),
        (json!({"since": ts(t0)}), 422, "validation_error"),
        (
            json!({"since": ts(t0), "until": ts(t1), "extra": 1}),
            422,
            "validation_error",
        ),
    ] {
        let (s, v) = replay(body.clone()).await;
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{body}");
    }
    let (s, v) = call(
        &app,
        &key,
        "POST",
        "/api/v1/channels/0123456789abcdef/replay",
        Some(whole.clone()),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")));
    // No webhook URL: nothing to send to.
    call(
        &app,
        &key,
        "PATCH",
        &format!("/api/v1/channels/{ch}"),
        Some(json!({"webhook_url": ""})),
    )
    .await;
    let (s, v) = replay(whole).await;
    assert_eq!((s, v["code"].as_str()), (409, Some("webhook_url_missing")));
}

#[tokio::test]
async fn replay_is_bounded() {
    let app = common::spawn_app().await;
    let (account, key) = app.account_with_key().await;
    let ch = channel_with_hook(&app, &key, &["message.received"]).await;
    let now = app.state.now();
    // 10,001 stored events without deliveries (as when nothing was enabled).
    let mut tx = app.state.db.pool.begin().await.unwrap();
    for i in 0..10_001 {
        let event_id = fanout::new_event_id();
        let ev = NewEvent {
            account_id: account.clone(),
            channel_id: Some(ch.clone()),
            event: "message.received".into(),
            dedupe_key: Some(format!("bulk-{i}")),
            inbound_payload_id: None,
            occurred_at: now,
        };
        let body = json!({"event_id": event_id});
        fanout::record(
            &mut tx,
            &app.state.cipher,
            now,
            &event_id,
            &ev,
            &body,
            &[],
            false,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let body = json!({
        "since": app::clock::rfc3339(now - 1000),
        "until": app::clock::rfc3339(now + 1000),
    });
    let (s, v) = call(
        &app,
        &key,
        "POST",
        &format!("/api/v1/channels/{ch}/replay"),
        Some(body),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("replay_too_large")),
        "{v}"
    );
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn test_event_goes_to_the_webhook_even_when_not_enabled() {
    let app = common::spawn_app().await;
    let (_, key) = app.account_with_key().await;
    allow_redirect(&app, &key).await;
    let v = connect(&app, &key, "whatsapp", &[PHONE_1], Some(PHONE_1), json!({})).await;
    let ch = v["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/channels/{ch}/test-event");

    let (s, v) = call(&app, &key, "POST", &path, None).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("webhook_url_missing")));

    call(
        &app,
        &key,
        "PATCH",
        &format!("/api/v1/channels/{ch}"),
        Some(json!({"webhook_url": HOOK, "webhook_events": []})),
    )
    .await;
    let (s, v) = call(&app, &key, "POST", &path, None).await;
    assert_eq!(s, 202, "{v}");
    let event_id = v["event_id"].as_str().unwrap().to_string();
    assert!(event_id.starts_with("evt_"));
    let delivery = v["delivery_id"].as_str().unwrap().to_string();

    let (s, d) = get(&app, &key, &format!("/api/v1/deliveries/{delivery}")).await;
    assert_eq!(s, 200);
    assert_eq!(d["event_id"], event_id.as_str());
    assert_eq!(d["event"], "message.received");
    assert_eq!(d["endpoint_url"], HOOK);
    let p = &d["payload"];
    assert_eq!(p["event_id"], event_id.as_str());
    assert_eq!(p["channel_id"], ch.as_str());
    assert_eq!(p["channel_type"], "whatsapp");
    assert_eq!(p["data"]["type"], "text");
    assert_eq!(p["data"]["text"], "Test event from Switchboard");
    assert!(
        p["data"]["message_id"]
            .as_str()
            .unwrap()
            .starts_with("test_")
    );
    assert!(p["data"]["from"].as_str().is_some());
    assert!(p["data"].get("from_user_id").is_some());
    // Each call is its own event.
    let (_, again) = call(&app, &key, "POST", &path, None).await;
    assert_ne!(again["event_id"], event_id.as_str());

    // An inactive channel takes no test events.
    let (s, _) = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/v1/channels/{ch}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = call(&app, &key, "POST", &path, None).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("channel_inactive")));
}

#[tokio::test]
async fn retention_purges_old_events_with_their_deliveries() {
    let app = common::spawn_app_with(&[("SWITCHBOARD_EVENT_RETENTION_DAYS", "3")]).await;
    let (account, key) = app.account_with_key().await;
    let ch = channel_with_hook(&app, &key, &["message.received"]).await;

    // An old event with a raw payload, a delivery and an attempt.
    let payload_id = app::services::new_id();
    let mut tx = app.state.db.pool.begin().await.unwrap();
    app::store::events::insert_payload(
        &mut tx,
        &app::store::events::InboundPayload {
            id: payload_id.clone(),
            meta_app_id: None,
            object: Some("whatsapp_business_account".into()),
            body: "{}".into(),
            orphaned: false,
            orphan_assets: None,
            received_at: app.state.now(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let old = record_as(&app, &account, &ch, "message.received", Some("delivered")).await;
    let old_delivery = delivery_ids_of(&app, &old).await.remove(0);
    add_attempt(&app, &old_delivery, 1, Some(200)).await;
    // An old event whose delivery is still in flight is left for a later run.
    let busy = record_as(&app, &account, &ch, "message.received", Some("failed")).await;
    sqlx::query(
        "UPDATE deliveries SET status = 'failed', next_attempt_at = $1, deadline_at = $1 \
         WHERE event_id = $2",
    )
    .bind(app.state.now() + 365 * app::clock::DAY_MS)
    .bind(&busy)
    .execute(&app.state.db.pool)
    .await
    .unwrap();

    // Two days later nothing is old enough.
    app.clock.advance(2 * app::clock::DAY_MS);
    let p = app::services::deliveries::purge_expired(&app.state)
        .await
        .unwrap();
    assert_eq!(p, Default::default());

    app.clock.advance(2 * app::clock::DAY_MS);
    let fresh = record_as(&app, &account, &ch, "message.received", Some("delivered")).await;
    // Everything stored before the cutoff except the busy event (the channel's
    // own account events, e.g. channel.connected, are old too).
    let cutoff = app.state.now() - 3 * app::clock::DAY_MS;
    let old_events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE created_at < $1")
        .bind(cutoff)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let p = app::services::deliveries::purge_expired(&app.state)
        .await
        .unwrap();
    assert_eq!(
        (
            p.events as i64,
            p.deliveries,
            p.attempts,
            p.inbound_payloads
        ),
        (old_events - 1, 1, 1, 1)
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM events WHERE id = $1", &old).await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM delivery_attempts WHERE delivery_id = $1",
            &old_delivery
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM inbound_payloads WHERE id = $1",
            &payload_id
        )
        .await,
        0
    );
    let (s, _) = get(&app, &key, &format!("/api/v1/deliveries/{old_delivery}")).await;
    assert_eq!(s, 404);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM events WHERE id = $1", &busy).await,
        1
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM events WHERE id = $1", &fresh).await,
        1
    );
    let (_, v) = get(&app, &key, "/api/v1/deliveries").await;
    assert_eq!(v["deliveries"].as_array().unwrap().len(), 2);
}

#[test]
fn retention_days_are_validated() {
    let mut vars = std::collections::HashMap::new();
    for bad in ["0", "-1", "seven", "100000"] {
        vars.insert(
            "SWITCHBOARD_EVENT_RETENTION_DAYS".to_string(),
            bad.to_string(),
        );
        let errs = app::config::Config::from_map(&vars).err().unwrap();
        assert!(
            errs.iter()
                .any(|e| e.0.contains("SWITCHBOARD_EVENT_RETENTION_DAYS")),
            "{bad}: {errs:?}"
        );
    }
    vars.insert("SWITCHBOARD_EVENT_RETENTION_DAYS".into(), "30".into());
    let c = app::config::Config::from_map(&vars).ok().unwrap();
    assert_eq!(c.event_retention_days, 30);
}

#[tokio::test]
async fn openapi_lists_the_delivery_routes() {
    let app = common::spawn_app().await;
    let v: Value = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for p in [
        "/api/v1/deliveries",
        "/api/v1/deliveries/{id}",
        "/api/v1/deliveries/{id}/retry",
        "/api/v1/channels/{id}/replay",
        "/api/v1/channels/{id}/test-event",
    ] {
        assert!(v["paths"].get(p).is_some(), "{p}");
    }
    assert!(v["components"]["schemas"].get("DeliveryView").is_some());
}
