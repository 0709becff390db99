//! Turns one event into its stored row and its deliveries, inside the caller's
//! transaction (the transactional outbox of SPEC §4.3): an event and the
//! promise to deliver it are committed together or not at all.

use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::crypto::Cipher;
use crate::domain::retry::RetryPolicy;
use crate::store::deliveries::{self, NewDelivery};
use crate::store::events::{self, Event};

/// Where a delivery of an event goes.
#[derive(Clone, Debug)]
pub struct Target {
    pub channel_id: Option<String>,
    pub endpoint_id: Option<String>,
    pub url: String,
    pub retry_policy: RetryPolicy,
}

/// An event about to be stored.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub account_id: String,
    pub channel_id: Option<String>,
    pub event: String,
    pub dedupe_key: Option<String>,
    pub inbound_payload_id: Option<String>,
    pub occurred_at: i64,
}

/// `evt_` + UUID v7 (SPEC §10).
pub fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::now_v7())
}

/// The customer JSON of a channel event (SPEC §4.2).
pub fn channel_body(
    event_id: &str,
    event: &str,
    channel_id: &str,
    channel_type: &str,
    occurred_at: i64,
    data: Value,
) -> Value {
    json!({
        "event_id": event_id,
        "event": event,
        "channel_id": channel_id,
        "channel_type": channel_type,
        "timestamp": rfc3339(occurred_at),
        "data": data,
    })
}

/// The JSON of an account event (SPEC §10).
pub fn account_body(
    event_id: &str,
    event: &str,
    account_id: &str,
    occurred_at: i64,
    data: Value,
) -> Value {
    json!({
        "event_id": event_id,
        "event": event,
        "account_id": account_id,
        "timestamp": rfc3339(occurred_at),
        "data": data,
    })
}

/// Stores the event (unless its dedupe key was seen) and one delivery per
/// target. `held` deliveries wait for a license with no deadline running.
/// Returns the stored event, or `None` for a duplicate.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    tx: &mut sqlx::AnyConnection,
    cipher: &Cipher,
    now: i64,
    event_id: &str,
    ev: &NewEvent,
    body: &Value,
    targets: &[Target],
    held: bool,
) -> Result<Option<Event>, sqlx::Error> {
    let raw = serde_json::to_vec(body).unwrap_or_default();
    let row = Event {
        id: event_id.to_string(),
        account_id: ev.account_id.clone(),
        channel_id: ev.channel_id.clone(),
        event: ev.event.clone(),
        dedupe_key: ev.dedupe_key.clone(),
        payload: cipher.encrypt(&raw),
        inbound_payload_id: ev.inbound_payload_id.clone(),
        occurred_at: ev.occurred_at,
        created_at: now,
    };
    if !events::insert(tx, &row).await? {
        return Ok(None);
    }
    for t in targets {
        enqueue(tx, cipher, now, &row, &raw, t, held).await?;
    }
    Ok(Some(row))
}

/// One delivery of a stored event to `target` (also used by replay).
pub async fn enqueue(
    tx: &mut sqlx::AnyConnection,
    cipher: &Cipher,
    now: i64,
    event: &Event,
    raw_body: &[u8],
    target: &Target,
    held: bool,
) -> Result<String, sqlx::Error> {
    let id = uuid::Uuid::now_v7().to_string();
    deliveries::insert(
        tx,
        &NewDelivery {
            id: id.clone(),
            account_id: event.account_id.clone(),
            event_id: event.id.clone(),
            event: event.event.clone(),
            channel_id: target.channel_id.clone(),
            endpoint_id: target.endpoint_id.clone(),
            endpoint_url: target.url.clone(),
            retry_policy: target.retry_policy.as_str().to_string(),
            status: if held {
                deliveries::HELD
            } else {
                deliveries::PENDING
            },
            payload: cipher.encrypt(raw_body),
            next_attempt_at: (!held).then_some(now),
            deadline_at: (!held).then(|| now + target.retry_policy.deadline_ms()),
            created_at: now,
        },
    )
    .await?;
    Ok(id)
}

/// The channel's webhook as a delivery target, when it has a URL.
pub fn channel_target(ch: &crate::store::channels::Channel) -> Option<Target> {
    let url = ch.webhook_url.clone()?;
    Some(Target {
        channel_id: Some(ch.id.clone()),
        endpoint_id: None,
        url,
        retry_policy: RetryPolicy::parse(&ch.retry_policy).unwrap_or(RetryPolicy::Standard),
    })
}

/// True when the customer enabled `event` on the channel (SPEC §3.1: nothing
/// is delivered until chosen).
pub fn channel_wants(ch: &crate::store::channels::Channel, event: &str) -> bool {
    crate::services::channels::events_of(ch)
        .iter()
        .any(|e| e == event)
}
