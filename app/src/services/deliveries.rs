//! The delivery log and what acts on it (SPEC §4.3): list and detail with
//! attempts, retry of one delivery, replay of a channel's time window, the
//! per-channel test event, and the retention purge of stored events.
//!
//! Retry, replay and the test event never touch an existing delivery: they
//! create new ones through `fanout`, to the target's current URL, so the log
//! keeps what really happened.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::clock::{DAY_MS, rfc3339};
use crate::domain::deliveries::{
    AttemptView, DEFAULT_PAGE, DeliveryList, DeliveryView, MAX_PAGE, MAX_REPLAY, TestEventView,
    is_delivery_status,
};
use crate::domain::events::ACCOUNT_EVENTS;
use crate::domain::retry::RetryPolicy;
use crate::domain::{self, ChannelType};
use crate::error::{AppError, AppResult};
use crate::services::fanout::{self, NewEvent, Target};
use crate::services::{channels, licenses, relay};
use crate::state::AppState;
use crate::store::channels::Channel;
use crate::store::delivery_log::{self, AttemptRow, DeliveryRow, Filter, Purged};
use crate::store::events::{self, Event};

/// Raw query parameters of `GET /api/v1/deliveries` (also the Portal's filters).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct ListParams {
    pub channel_id: Option<String>,
    pub status: Option<String>,
    pub event: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

/// Empty query values (`?status=`) mean "any", as an HTML form sends them.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Every event name a delivery can carry.
fn known_event(name: &str) -> bool {
    ChannelType::ALL.iter().any(|t| t.events().contains(&name)) || ACCOUNT_EVENTS.contains(&name)
}

pub fn encode_cursor(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_id.as_bytes())
}

fn decode_cursor(raw: &str) -> AppResult<String> {
    let bad = || {
        AppError::bad_request(
            "invalid_cursor",
            "cursor is not one this API returned; pass next_cursor from the previous page as is",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
    let id = String::from_utf8(bytes).map_err(|_| bad())?;
    uuid::Uuid::parse_str(&id).map_err(|_| bad())?;
    Ok(id)
}

fn attempt_view(a: &AttemptRow, with_response: bool) -> AttemptView {
    AttemptView {
        at: rfc3339(a.at),
        status_code: a.status_code,
        latency_ms: a.latency_ms,
        error: a.error.clone(),
        response: with_response.then(|| a.response.clone()),
    }
}

fn view(d: &DeliveryRow, attempts: &[AttemptRow], with_response: bool) -> DeliveryView {
    DeliveryView {
        id: d.id.clone(),
        event_id: d.event_id.clone(),
        event: d.event.clone(),
        channel_id: d.channel_id.clone(),
        endpoint_url: d.endpoint_url.clone(),
        status: d.status.clone(),
        attempts: attempts
            .iter()
            .filter(|a| a.delivery_id == d.id)
            .map(|a| attempt_view(a, with_response))
            .collect(),
        created_at: rfc3339(d.created_at),
        next_attempt_at: d.next_attempt_at.map(rfc3339),
        payload: None,
    }
}

/// The account's deliveries, newest first, one page at a time.
pub async fn list(state: &AppState, account_id: &str, p: &ListParams) -> AppResult<DeliveryList> {
    let status = given(&p.status);
    if let Some(s) = status
        && !is_delivery_status(s)
    {
        return Err(AppError::bad_request(
            "invalid_status",
            format!("status {s:?} is not one of pending, delivered, failed, exhausted, held"),
        ));
    }
    let event = given(&p.event);
    if let Some(e) = event
        && !known_event(e)
    {
        return Err(AppError::bad_request(
            "invalid_event",
            format!("event {e:?} does not exist"),
        ));
    }
    let limit = match given(&p.limit) {
        None => DEFAULT_PAGE,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(AppError::bad_request(
                    "invalid_limit",
                    format!("limit must be a whole number from 1 to {MAX_PAGE}"),
                ));
            }
        },
    };
    let before = given(&p.cursor).map(decode_cursor).transpose()?;
    let channel_id = given(&p.channel_id);
    if let Some(c) = channel_id {
        // Another account's channel is as unknown as a made-up id.
        channels::load(state, account_id, c).await?;
    }
    let filter = Filter {
        channel_id: channel_id.map(str::to_string),
        status: status.map(str::to_string),
        event: event.map(str::to_string),
    };
    let mut rows =
        delivery_log::list(&state.db, account_id, &filter, before.as_deref(), limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let ids: Vec<String> = rows.iter().map(|d| d.id.clone()).collect();
    let attempts = delivery_log::attempts_of(&state.db, &ids).await?;
    Ok(DeliveryList {
        next_cursor: more
            .then(|| rows.last().map(|d| encode_cursor(&d.id)))
            .flatten(),
        deliveries: rows.iter().map(|d| view(d, &attempts, false)).collect(),
    })
}

async fn load(state: &AppState, account_id: &str, id: &str) -> AppResult<DeliveryRow> {
    delivery_log::get(&state.db, account_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("delivery"))
}

/// The customer JSON of a stored event, decrypted.
fn event_body(state: &AppState, e: &Event) -> AppResult<Vec<u8>> {
    state
        .cipher
        .decrypt(&e.payload)
        .map_err(|err| AppError::Internal(format!("event {} payload: {err}", e.id)))
}

/// One delivery with its attempts (and their response snippets) and the
/// event's JSON while the event is kept.
pub async fn get(state: &AppState, account_id: &str, id: &str) -> AppResult<DeliveryView> {
    let d = load(state, account_id, id).await?;
    let attempts = delivery_log::attempts_of(&state.db, std::slice::from_ref(&d.id)).await?;
    let mut v = view(&d, &attempts, true);
    let event = events::get(&state.db, account_id, &d.event_id).await?;
    v.payload = Some(
        event
            .and_then(|e| event_body(state, &e).ok())
            .and_then(|raw| serde_json::from_slice(&raw).ok())
            .unwrap_or(Value::Null),
    );
    Ok(v)
}

/// True while the target's channel (an endpoint's: the account) holds no
/// license: new deliveries wait.
async fn held(state: &AppState, account_id: &str, target: &Target) -> AppResult<bool> {
    licenses::held(state, account_id, target.channel_id.as_deref()).await
}

/// The channel's webhook as it is now, or why nothing can be sent there.
async fn channel_target(state: &AppState, c: &Channel, missing_status: u16) -> AppResult<Target> {
    if !c.is_active {
        return Err(AppError::bad_request(
            "channel_inactive",
            "the channel is inactive; reconnect it before sending it events",
        ));
    }
    let Some(url) = c.webhook_url.clone() else {
        return Err(AppError::client(
            missing_status,
            "webhook_url_missing",
            "the channel has no webhook URL; set one first",
        ));
    };
    let policy = delivery_log::channel_retry_policy(&state.db, &c.id).await?;
    Ok(Target {
        channel_id: Some(c.id.clone()),
        endpoint_id: None,
        url,
        retry_policy: RetryPolicy::parse(&policy).unwrap_or(RetryPolicy::Standard),
    })
}

/// A new delivery of the same stored event to the target's current URL (a
/// rotated secret or changed URL applies). 404 for unknown or foreign ids, 409
/// when the event is gone or the target has no URL any more.
pub async fn retry(state: &AppState, account_id: &str, id: &str) -> AppResult<DeliveryView> {
    let d = load(state, account_id, id).await?;
    let Some(event) = events::get(&state.db, account_id, &d.event_id).await? else {
        return Err(AppError::conflict(
            "event_purged",
            "the event is no longer stored (retention); it cannot be delivered again",
        ));
    };
    let target = match (&d.channel_id, &d.endpoint_id) {
        (Some(channel_id), _) => {
            let c = channels::load(state, account_id, channel_id).await?;
            channel_target(state, &c, 409).await?
        }
        (None, Some(endpoint_id)) => {
            let Some((url, policy)) =
                delivery_log::live_endpoint(&state.db, account_id, endpoint_id).await?
            else {
                return Err(AppError::conflict(
                    "endpoint_missing",
                    "the event endpoint of this delivery was deleted",
                ));
            };
            Target {
                channel_id: None,
                endpoint_id: Some(endpoint_id.clone()),
                url,
                retry_policy: RetryPolicy::parse(&policy).unwrap_or(RetryPolicy::Standard),
            }
        }
        (None, None) => {
            return Err(AppError::conflict(
                "webhook_url_missing",
                "this delivery has no target to send to again",
            ));
        }
    };
    let raw = event_body(state, &event)?;
    let held = held(state, account_id, &target).await?;
    let mut tx = state.db.begin().await?;
    let new_id = fanout::enqueue(
        &mut tx,
        &state.cipher,
        state.now(),
        &event,
        &raw,
        &target,
        held,
    )
    .await?;
    tx.commit().await?;
    relay::wake(state);
    load(state, account_id, &new_id)
        .await
        .map(|d| view(&d, &[], false))
}

/// `POST /api/v1/channels/{id}/replay` input, before checking.
#[derive(Clone, Debug, Default)]
pub struct ReplayInput {
    pub since: String,
    pub until: String,
    pub events: Option<Vec<String>>,
    pub status: Option<String>,
}

fn parse_time(field: &str, raw: &str) -> AppResult<i64> {
    time::OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| {
            AppError::bad_request(
                "invalid_timestamp",
                format!("{field} must be an RFC 3339 timestamp such as 2026-01-15T10:30:00Z"),
            )
        })
}

/// Re-delivers the channel's stored events created in `[since, until)` to its
/// current webhook URL. `events` narrows by name (default: the events the
/// channel has enabled now); `status` keeps only events whose latest delivery
/// has that status. Returns the number of new deliveries.
pub async fn replay(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    input: &ReplayInput,
) -> AppResult<i64> {
    let c = channels::load(state, account_id, channel_id).await?;
    let since = parse_time("since", &input.since)?;
    let until = parse_time("until", &input.until)?;
    if since >= until {
        return Err(AppError::bad_request(
            "invalid_window",
            "since must be earlier than until",
        ));
    }
    let status = given(&input.status);
    if let Some(s) = status
        && !is_delivery_status(s)
    {
        return Err(AppError::bad_request(
            "invalid_status",
            format!("status {s:?} is not one of pending, delivered, failed, exhausted, held"),
        ));
    }
    let names = match &input.events {
        Some(list) => domain::validate_events(channels::channel_type(&c), list)
            .map_err(|e| AppError::bad_request("invalid_event", e))?,
        None => channels::events_of(&c),
    };
    let target = channel_target(state, &c, 409).await?;
    if names.is_empty() {
        return Ok(0);
    }
    let picked = delivery_log::replay_candidates(
        &state.db,
        &c.id,
        since,
        until,
        &names,
        status,
        MAX_REPLAY + 1,
    )
    .await?;
    if picked.len() as i64 > MAX_REPLAY {
        return Err(AppError::bad_request(
            "replay_too_large",
            format!(
                "more than {MAX_REPLAY} events match; narrow since/until or filter by events or status"
            ),
        ));
    }
    let held = held(state, account_id, &target).await?;
    let now = state.now();
    let mut tx = state.db.begin().await?;
    for e in &picked {
        let raw = event_body(state, e)?;
        fanout::enqueue(&mut tx, &state.cipher, now, e, &raw, &target, held).await?;
    }
    tx.commit().await?;
    relay::wake(state);
    Ok(picked.len() as i64)
}

pub const TEST_EVENT_TEXT: &str = "Test event from Switchboard";
/// `data.from` of test events: a fictional number (WhatsApp) or a fixed id.
pub const TEST_FROM_WHATSAPP: &str = "15550000000";
pub const TEST_FROM_OTHER: &str = "switchboard_test";

/// The `data` of a synthetic `message.received` (SPEC §10 typed data, text).
fn test_data(t: ChannelType, message_id: &str, now: i64) -> Value {
    let mut data = json!({
        "message_id": message_id,
        "type": "text",
        "timestamp": rfc3339(now),
        "context": null,
        "text": TEST_EVENT_TEXT,
    });
    let m = data.as_object_mut().expect("object");
    if t == ChannelType::Whatsapp {
        m.insert("from".into(), json!(TEST_FROM_WHATSAPP));
        m.insert("from_name".into(), json!("Switchboard test"));
        m.insert("from_user_id".into(), Value::Null);
        m.insert("from_username".into(), Value::Null);
    } else {
        m.insert("from".into(), json!(TEST_FROM_OTHER));
        m.insert("from_name".into(), Value::Null);
    }
    data
}

/// Stores a synthetic `message.received` for the channel and delivers it to
/// the channel's webhook, whether or not the event is enabled there: the
/// user asked for it. The message id starts with `test_`.
pub async fn send_test_event(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
) -> AppResult<TestEventView> {
    let c = channels::load(state, account_id, channel_id).await?;
    let target = channel_target(state, &c, 400).await?;
    let t = channels::channel_type(&c);
    let now = state.now();
    let message_id = format!("test_{}", crate::crypto::random_hex(12));
    let event_id = fanout::new_event_id();
    let name = "message.received";
    let body = fanout::channel_body(
        &event_id,
        name,
        &c.id,
        t.as_str(),
        now,
        test_data(t, &message_id, now),
    );
    let ev = NewEvent {
        account_id: account_id.to_string(),
        channel_id: Some(c.id.clone()),
        event: name.to_string(),
        dedupe_key: Some(format!("test:{message_id}")),
        inbound_payload_id: None,
        occurred_at: now,
    };
    let held = held(state, account_id, &target).await?;
    let raw = serde_json::to_vec(&body).unwrap_or_default();
    // The event is recorded without targets and delivered here, so the new
    // delivery's id is known without a second look-up.
    let mut tx = state.db.begin().await?;
    let Some(stored) = fanout::record(
        &mut tx,
        &state.cipher,
        now,
        &event_id,
        &ev,
        &body,
        &[],
        held,
    )
    .await?
    else {
        return Err(AppError::Internal(
            "test event collided with a stored one".into(),
        ));
    };
    let delivery_id =
        fanout::enqueue(&mut tx, &state.cipher, now, &stored, &raw, &target, held).await?;
    tx.commit().await?;
    relay::wake(state);
    Ok(TestEventView {
        event_id,
        delivery_id,
    })
}

/// Deletes events older than `SWITCHBOARD_EVENT_RETENTION_DAYS` with their
/// deliveries and attempts, and raw Meta payloads of the same age.
pub async fn purge_expired(state: &AppState) -> AppResult<Purged> {
    let days = i64::from(state.config.event_retention_days);
    let cutoff = state.now() - days * DAY_MS;
    let purged = delivery_log::purge_before(&state.db, cutoff).await?;
    // Media files are kept exactly as long as the events that carry them.
    crate::services::media::purge_before(state, cutoff).await?;
    if purged != Purged::default() {
        tracing::info!(
            events = purged.events,
            deliveries = purged.deliveries,
            attempts = purged.attempts,
            inbound_payloads = purged.inbound_payloads,
            "purged events past retention"
        );
    }
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_junk() {
        let id = uuid::Uuid::now_v7().to_string();
        assert_eq!(decode_cursor(&encode_cursor(&id)).unwrap(), id);
        for bad in ["", "!!", "bm90LWEtdXVpZA"] {
            let e = decode_cursor(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_cursor");
        }
    }

    #[test]
    fn event_names() {
        assert!(known_event("message.received"));
        assert!(known_event("message.sent"));
        assert!(known_event("delivery.exhausted"));
        assert!(!known_event("message.bogus"));
    }

    #[test]
    fn test_data_follows_the_contract() {
        let d = test_data(ChannelType::Whatsapp, "test_1", 1_768_473_000_000);
        assert_eq!(d["type"], "text");
        assert_eq!(d["text"], TEST_EVENT_TEXT);
        assert!(d.get("from_user_id").is_some());
        let d = test_data(ChannelType::Instagram, "test_1", 0);
        assert_eq!(d["from_name"], Value::Null);
        assert!(d.get("from_user_id").is_none());
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            parse_time("since", "2026-01-15T10:30:00Z").unwrap(),
            1_768_473_000_000
        );
        assert_eq!(
            parse_time("since", "2026-01-15").unwrap_err().code(),
            "invalid_timestamp"
        );
    }
}
