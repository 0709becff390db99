//! The send queue (SPEC §5.1): sends Meta turned away for throughput or
//! availability are retried with backoff until Meta takes them or they are
//! four hours old (`failed`, `expired`: a late reply is often worse than none).
//!
//! Same shape as the relay: due rows are claimed by **lease**
//! (`messages.lease_until`), never owned in memory, so several processes on
//! one PostgreSQL share the queue and a crashed worker's claims come back;
//! every update after the claim names the lease, so a lost claim changes
//! nothing. Time comes from `state.clock`; the loop polls every 500 ms.
//! Each turn of the loop also releases the statuses the ingest parked that
//! need not wait any longer (services::inbound::release_early_statuses).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::{Outgoing, call_meta, error_refs, prepare, record_status, sent, status_data};
use crate::clock::{HOUR_MS, MINUTE_MS};
use crate::domain::events::{MessageStatus, MetaErrorRef};
use crate::error::{AppError, AppResult};
use crate::meta::ErrorClass;
use crate::services::{channels, inbound, licenses};
use crate::state::AppState;
use crate::store;
use crate::store::channels::Channel;
use crate::store::messages::ClaimedSend;

/// How long a claim lasts; a Graph call times out after 30 s.
pub const LEASE_MS: i64 = 60_000;
/// A queued send older than this fails with `expired`.
pub const MAX_AGE_MS: i64 = 4 * HOUR_MS;
pub const POLL: Duration = Duration::from_millis(500);
/// Sends in flight per process.
pub const CONCURRENCY: usize = 8;
/// How long shutdown waits for sends in flight.
pub const DRAIN: Duration = Duration::from_secs(10);

/// Delays after the 1st, 2nd, … failed attempt; the last one repeats.
const BACKOFF_MS: [i64; 6] = [
    10_000,
    30_000,
    MINUTE_MS,
    2 * MINUTE_MS,
    5 * MINUTE_MS,
    10 * MINUTE_MS,
];

/// The wait after `attempts` failed attempts (1-based).
pub fn backoff_ms(attempts: i64) -> i64 {
    let i = (attempts.max(1) - 1) as usize;
    BACKOFF_MS[i.min(BACKOFF_MS.len() - 1)]
}

/// The running queue worker of this process.
pub struct SendQueueHandle {
    task: JoinHandle<()>,
}

impl SendQueueHandle {
    /// Waits for the loop to end (once `state.accepting` is false and sends
    /// in flight finished, at most ~10 s). Claims of sends still running
    /// after that come back when their lease passes.
    pub async fn stop(self) {
        let _ = self.task.await;
    }
}

pub fn spawn(state: &AppState) -> SendQueueHandle {
    SendQueueHandle {
        task: tokio::spawn(run(state.clone())),
    }
}

async fn run(state: AppState) {
    let sem = Arc::new(Semaphore::new(CONCURRENCY));
    while state.accepting.load(Ordering::SeqCst) {
        state.heartbeats.beat(crate::heartbeat::Worker::Queue);
        if let Err(e) = inbound::release_early_statuses(&state).await {
            tracing::warn!(error = %e, "releasing parked statuses failed");
        }
        let free = sem.available_permits();
        if free > 0 {
            match store::messages::claim_due(&state.db, state.now(), LEASE_MS, free as i64).await {
                Ok(batch) => {
                    for c in batch {
                        let Ok(permit) = sem.clone().acquire_owned().await else {
                            break;
                        };
                        let state = state.clone();
                        tokio::spawn(async move {
                            let id = c.id.clone();
                            if let Err(e) = process(&state, c).await {
                                tracing::warn!(message = %id, error = %e, "queued send failed to run; retried when its lease passes");
                            }
                            drop(permit);
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming queued sends failed"),
            }
        }
        tokio::time::sleep(POLL).await;
    }
    if tokio::time::timeout(DRAIN, sem.acquire_many(CONCURRENCY as u32))
        .await
        .is_err()
    {
        tracing::warn!("queued sends still running after 10 s; leaving them");
    }
}

/// One claimed send: expire, fail, send or put back.
pub async fn process(state: &AppState, c: ClaimedSend) -> AppResult<()> {
    let now = state.now();
    if now - c.created_at >= MAX_AGE_MS {
        tracing::info!(message = %c.id, "queued send expired after 4 hours");
        return fail_claimed(state, &c, "expired", &[]).await;
    }
    let ch = store::channels::get(&state.db, &c.account_id, &c.channel_id).await?;
    let Some(ch) = ch.filter(|ch| ch.is_active) else {
        return fail_claimed(
            state,
            &c,
            "channel_inactive: the channel was deactivated while the message waited",
            &[],
        )
        .await;
    };
    // A license that ended (or left this channel without one) while the
    // message waited stops it, as it would have stopped a new send.
    match licenses::require_channel_license(state, &ch.account_id, &ch.id).await {
        Ok(()) => {}
        Err(e @ AppError::Client { .. }) => {
            let why = format!("{}: {}", e.code(), e.public_detail());
            return fail(state, &ch, &c, &why, &[]).await;
        }
        Err(e) => return Err(e),
    }
    let out: Option<Outgoing> = c
        .request
        .as_deref()
        .and_then(|r| state.cipher.decrypt(r).ok())
        .and_then(|raw| serde_json::from_slice(&raw).ok());
    let Some(out) = out else {
        tracing::error!(message = %c.id, "queued send has no readable request");
        return fail(
            state,
            &ch,
            &c,
            "internal: the stored request could not be read",
            &[],
        )
        .await;
    };
    let prepared = match prepare(channels::channel_type(&ch), &out) {
        Ok(p) => p,
        Err(e) => return fail(state, &ch, &c, &e.public_detail(), &[]).await,
    };
    let attempts = c.attempts + 1;
    let answer = call_meta(state, &ch, &prepared).await?;
    let now = state.now();
    match answer {
        Ok(meta_id) => {
            sent(
                state,
                &ch,
                &c.id,
                &c.recipient,
                c.lease_until,
                meta_id.as_deref(),
                attempts,
                now,
            )
            .await?;
            tracing::info!(message = %c.id, attempts, "queued send went out");
        }
        Err(e) if matches!(e.class(), ErrorClass::Throughput | ErrorClass::Transient) => {
            let next = (now + backoff_ms(attempts)).min(c.created_at + MAX_AGE_MS);
            store::messages::reschedule(
                &state.db,
                &c.id,
                c.lease_until,
                attempts,
                next,
                &e.to_string(),
                now,
            )
            .await?;
        }
        Err(e) => {
            if e.class() == ErrorClass::TokenDead {
                channels::token_died(state, &ch, &e.to_string()).await?;
            }
            let c = ClaimedSend { attempts, ..c };
            fail(state, &ch, &c, &e.to_string(), &error_refs(&e)).await?;
        }
    }
    Ok(())
}

async fn fail_claimed(
    state: &AppState,
    c: &ClaimedSend,
    error: &str,
    errors: &[MetaErrorRef],
) -> AppResult<()> {
    match store::channels::get(&state.db, &c.account_id, &c.channel_id).await? {
        Some(ch) => fail(state, &ch, c, error, errors).await,
        None => Ok(()),
    }
}

/// `failed` with `message.failed` (every channel type, SPEC §3), in one transaction.
async fn fail(
    state: &AppState,
    ch: &Channel,
    c: &ClaimedSend,
    error: &str,
    errors: &[MetaErrorRef],
) -> AppResult<()> {
    let now = state.now();
    // Before the transaction: reading the licenses may renew one (a write).
    let held = super::unlicensed(state, ch).await?;
    let mut tx = state.db.begin().await?;
    if !store::messages::mark_failed(&mut tx, &c.id, c.lease_until, error, c.attempts, now).await? {
        return Ok(());
    }
    let data = status_data(
        &c.id,
        MessageStatus::Failed,
        &c.recipient,
        None,
        Some(error),
        errors,
    );
    let wake = record_status(
        state,
        &mut tx,
        ch,
        &c.id,
        MessageStatus::Failed,
        data,
        held,
        now,
    )
    .await?;
    tx.commit().await?;
    if wake {
        state.relay_wake.notify_one();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_holds() {
        let waits: Vec<i64> = (1..=8).map(backoff_ms).collect();
        assert_eq!(
            waits,
            vec![
                10_000, 30_000, 60_000, 120_000, 300_000, 600_000, 600_000, 600_000
            ]
        );
        assert_eq!(backoff_ms(0), 10_000);
    }
}
