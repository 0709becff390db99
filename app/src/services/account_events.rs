//! Account events (SPEC §4.2, §6, §10): `channel.connected`,
//! `channel.disconnected`, `channel.token_expiring`, `template.status_updated`,
//! `delivery.exhausted`, `phone_number.connected`. Each is stored like a
//! channel event (through [`fanout::record`], so event and deliveries commit
//! together) with one delivery per active event endpoint that subscribed to
//! it; deliveries are held while the account has no license.

use serde_json::{Value, json};

use super::fanout::{self, NewEvent, Target};
use super::licenses;
use crate::domain::retry::RetryPolicy;
use crate::error::AppResult;
use crate::state::AppState;
use crate::store::{self, channels::Channel};

/// Stores `event` for the account and queues its deliveries; returns the
/// event id. Wakes the relay when something is due now.
pub async fn emit(
    state: &AppState,
    account_id: &str,
    event: &str,
    data: Value,
) -> AppResult<String> {
    emit_keyed(state, account_id, event, None, data)
        .await
        .map(|id| id.unwrap_or_default())
}

/// [`emit`] with a dedupe key: a second event with the same key for the same
/// account is dropped (returns `None`), e.g. one `channel.token_expiring`
/// per channel and threshold.
pub async fn emit_keyed(
    state: &AppState,
    account_id: &str,
    event: &str,
    dedupe_key: Option<&str>,
    data: Value,
) -> AppResult<Option<String>> {
    let plan = plan(state, account_id, event).await?;
    let now = state.now();
    let mut tx = state.db.begin().await?;
    let stored = record_in(&mut tx, state, &plan, event, dedupe_key, now, data).await?;
    tx.commit().await?;
    if stored.is_some() && !plan.targets.is_empty() && !plan.held {
        state.relay_wake.notify_one();
    }
    Ok(stored)
}

/// Where an account event goes and whether it waits for a license; looked up
/// before a transaction so the write lock is held only for writes.
#[derive(Clone, Debug)]
pub struct Plan {
    pub account_id: String,
    pub targets: Vec<Target>,
    pub held: bool,
}

pub async fn plan(state: &AppState, account_id: &str, event: &str) -> AppResult<Plan> {
    let targets: Vec<Target> = store::event_endpoints::list(&state.db, account_id)
        .await?
        .into_iter()
        .filter(|e| e.is_active && e.event_list().iter().any(|x| x == event))
        .map(|e| Target {
            channel_id: None,
            endpoint_id: Some(e.id.clone()),
            url: e.url.clone(),
            retry_policy: RetryPolicy::parse(&e.retry_policy).unwrap_or(RetryPolicy::Standard),
        })
        .collect();
    let held = licenses::entitlement(state, account_id).await?.licenses == 0;
    Ok(Plan {
        account_id: account_id.to_string(),
        targets,
        held,
    })
}

/// Stores the account event and its deliveries inside the caller's
/// transaction (the webhook ingest records `template.status_updated` this
/// way, atomically with the payload). `None` for a duplicate key.
pub async fn record_in(
    tx: &mut sqlx::AnyConnection,
    state: &AppState,
    plan: &Plan,
    event: &str,
    dedupe_key: Option<&str>,
    occurred_at: i64,
    data: Value,
) -> AppResult<Option<String>> {
    let now = state.now();
    let event_id = fanout::new_event_id();
    let body = fanout::account_body(&event_id, event, &plan.account_id, occurred_at, data);
    let ev = NewEvent {
        account_id: plan.account_id.clone(),
        channel_id: None,
        event: event.to_string(),
        dedupe_key: dedupe_key.map(str::to_string),
        inbound_payload_id: None,
        occurred_at,
    };
    let stored = fanout::record(
        tx,
        &state.cipher,
        now,
        &event_id,
        &ev,
        &body,
        &plan.targets,
        plan.held,
    )
    .await?;
    Ok(stored.map(|e| e.id))
}

/// [`emit`] for callers whose own work must not fail because of it: errors
/// are logged.
pub async fn fire(state: &AppState, account_id: &str, event: &str, data: Value) {
    if let Err(e) = emit(state, account_id, event, data).await {
        tracing::error!(account = %account_id, event, error = %e, "storing an account event failed");
    }
}

/// The `data` of `channel.connected` / `channel.disconnected`.
pub fn channel_data(c: &Channel, reason: Option<&str>) -> Value {
    let t = super::channels::channel_type(c);
    let wa = t == crate::domain::ChannelType::Whatsapp;
    let mut d = json!({
        "channel_id": c.id,
        "channel_type": t.as_str(),
        "name": c.name,
        "phone_number_id": if wa { Some(c.asset_id.clone()) } else { None },
        "phone_number": c.phone_number.clone().filter(|_| wa),
        "waba_id": c.waba_id.clone().filter(|_| wa),
        "ig_account_id": if t == crate::domain::ChannelType::Instagram { Some(c.asset_id.clone()) } else { None },
        "page_id": c.page_id.clone().filter(|_| !wa),
    });
    if let Some(r) = reason {
        d["reason"] = json!(r);
    }
    d
}

/// A plain-text mail to each owner and admin of the account (operational
/// news: failing webhooks, disconnected channels). Failures are logged.
pub async fn mail_managers(state: &AppState, account_id: &str, subject: &str, body: &str) {
    let to = match store::accounts::manager_emails(&state.db, account_id).await {
        Ok(list) => list,
        Err(e) => {
            tracing::error!(account = %account_id, error = %e, "listing owners/admins for a mail failed");
            return;
        }
    };
    for addr in to {
        let mail = super::email::Outgoing {
            to: &addr,
            subject: subject.to_string(),
            body: body.to_string(),
            account_id: Some(account_id),
        };
        if let Err(e) = state.mailer.send(mail).await {
            tracing::error!(account = %account_id, error = %e, "queueing a mail failed");
        }
    }
}
