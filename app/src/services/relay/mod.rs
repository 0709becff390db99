//! The relay worker (SPEC §4.3, DESIGN "Data and durability"): delivers the
//! transactional outbox (`deliveries`) to customers' endpoints.
//!
//! - Work is claimed by **lease** (`lease_until`, `lease_owner`), never owned
//!   in memory, so several processes on one PostgreSQL share it and a crashed
//!   worker's claims come back once the lease runs out.
//! - Two **lanes**, each with its own loop and its own bound on in-flight
//!   attempts: lane 0 holds first attempts, lane 1 retries, so a dead
//!   endpoint's retries cannot starve healthy endpoints' fresh events.
//! - A claimed batch is grouped by target and each group is sent in order,
//!   one attempt at a time (per-channel order, best effort).
//! - The loops wake on [`AppState::relay_wake`] (notified after ingest
//!   commits) and otherwise poll every 250 ms; time comes from `state.clock`.
//! - Held deliveries (their channel, or for account events the account,
//!   holds no license) are never claimed; [`release_held`] lets them go, and a
//!   slow sweep does so for channels and accounts that have a license again.
//! - Outcomes (delivery state + attempt log row) go through one recorder task
//!   per process that commits many per transaction (group commit), as the
//!   ingest does: one fsync for a batch, and one writer instead of dozens
//!   queueing on SQLite's lock. An attempt whose caller needs the result
//!   (a reply in the response, the failure warning, exhaustion) waits for the
//!   commit; the others go on while it happens (the delivery stays leased
//!   until then, so a crash means one more attempt, never a lost one).
//! - A lease is renewed before an attempt only when less than
//!   [`RENEW_MARGIN_MS`] of it is left.
//! - Shutdown: the loops stop claiming when `state.accepting` turns false,
//!   wait up to 10 s for attempts in flight, flush the recorder and give back
//!   their leases.

pub mod attempt;
pub mod sign;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::domain::retry::RetryPolicy;
use crate::error::AppResult;
use crate::heartbeat::Worker;
use crate::state::AppState;
use crate::store::deliveries::{self, Claimed, LANE_FIRST, LANE_RETRY, Recorded};

/// How long a claim lasts; an attempt takes at most 5 s.
pub const LEASE_MS: i64 = 30_000;
/// Success is any 2xx within this time.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Poll interval when nothing wakes the loops.
pub const POLL: Duration = Duration::from_millis(250);
/// How often held deliveries of licensed accounts are looked for.
pub const HELD_SWEEP: Duration = Duration::from_secs(30);
/// In-flight attempts per lane.
pub const FIRST_LANE_CONCURRENCY: usize = 32;
pub const RETRY_LANE_CONCURRENCY: usize = 16;
/// How long shutdown waits for attempts in flight.
pub const DRAIN: Duration = Duration::from_secs(10);
/// A lease with less than this left is renewed before the next attempt.
pub const RENEW_MARGIN_MS: i64 = 15_000;
/// Most outcomes committed in one transaction.
const RECORD_BATCH: usize = 256;

/// What the recorder task is asked to do.
enum RecordMsg {
    Write {
        item: Box<Recorded>,
        metric: &'static str,
        done: Option<oneshot::Sender<bool>>,
    },
    /// Answered once everything sent before it is committed.
    Flush(oneshot::Sender<()>),
}

/// One worker process's relay: its HTTP client and lease owner name.
#[derive(Clone)]
pub struct Relay {
    pub(crate) state: AppState,
    pub(crate) http: reqwest::Client,
    pub(crate) owner: Arc<str>,
    recorder: mpsc::Sender<RecordMsg>,
}

impl Relay {
    pub fn new(state: &AppState) -> Relay {
        // No redirects (a 3xx is a failed attempt), no environment proxy, and
        // the address the connection uses is the address that was checked.
        let allow_private = state.config.allow_private_webhook_targets;
        let http = super::webhook_target::guarded_client(allow_private)
            .timeout(ATTEMPT_TIMEOUT)
            .connect_timeout(ATTEMPT_TIMEOUT)
            .build()
            .expect("static reqwest configuration");
        let owner: Arc<str> = format!(
            "relay-{}-{}",
            std::process::id(),
            crate::crypto::random_hex(6)
        )
        .into();
        let (recorder, rx) = mpsc::channel(4 * RECORD_BATCH);
        tokio::spawn(record_loop(state.clone(), owner.clone(), rx));
        Relay {
            state: state.clone(),
            http,
            owner,
            recorder,
        }
    }

    /// Hands an outcome to the recorder; with `wait`, returns whether it was
    /// written (false: lease lost or the write failed).
    pub(crate) async fn record(&self, item: Recorded, metric: &'static str, wait: bool) -> bool {
        let (done, answer) = if wait {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let msg = RecordMsg::Write {
            item: Box::new(item),
            metric,
            done,
        };
        if self.recorder.send(msg).await.is_err() {
            return false;
        }
        match answer {
            Some(rx) => rx.await.unwrap_or(false),
            None => true,
        }
    }

    /// Waits until every outcome handed over so far is committed.
    pub(crate) async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.recorder.send(RecordMsg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    fn accepting(&self) -> bool {
        self.state.accepting.load(Ordering::SeqCst)
    }

    /// Sends one claimed group (same target) in order. Every item after the
    /// first gets its lease renewed first; a lost lease skips the item.
    async fn run_group(&self, group: Vec<Claimed>, lease_until: i64) {
        for (i, d) in group.into_iter().enumerate() {
            if i > 0 {
                if !self.accepting() {
                    return; // the leases are given back by `stop`
                }
                let now = self.state.now();
                if now + RENEW_MARGIN_MS < lease_until {
                    attempt::run(self, d).await;
                    continue;
                }
                let until = now + LEASE_MS;
                match deliveries::renew_lease(&self.state.db, &d.id, &self.owner, until).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::warn!(delivery = %d.id, error = %e, "renewing a lease failed");
                        continue;
                    }
                }
            }
            attempt::run(self, d).await;
        }
    }

    /// Claims and sends until shutdown; returns after attempts in flight finished.
    async fn lane_loop(self, lane: i64, max: usize) {
        let sem = Arc::new(Semaphore::new(max));
        let wake = self.state.relay_wake.clone();
        let worker = if lane == LANE_FIRST {
            Worker::Relay
        } else {
            Worker::RelayRetry
        };
        while self.accepting() {
            self.state.heartbeats.beat(worker);
            let free = sem.available_permits();
            let mut more = false;
            if free > 0 {
                let now = self.state.now();
                match deliveries::claim(
                    &self.state.db,
                    lane,
                    &self.owner,
                    now,
                    LEASE_MS,
                    free as i64,
                )
                .await
                {
                    Ok(batch) => {
                        more = batch.len() == free;
                        let lease_until = now + LEASE_MS;
                        for group in by_target(batch) {
                            let Ok(permit) = sem.clone().acquire_owned().await else {
                                break;
                            };
                            let relay = self.clone();
                            tokio::spawn(async move {
                                relay.run_group(group, lease_until).await;
                                drop(permit);
                            });
                        }
                    }
                    Err(e) => tracing::warn!(lane, error = %e, "claiming deliveries failed"),
                }
            }
            if more && sem.available_permits() > 0 {
                continue;
            }
            if lane == LANE_FIRST {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            } else {
                tokio::time::sleep(POLL).await;
            }
        }
        if tokio::time::timeout(DRAIN, sem.acquire_many(max as u32))
            .await
            .is_err()
        {
            tracing::warn!(
                lane,
                "webhook attempts still running after 10 s; leaving them"
            );
        }
    }

    /// Every `HELD_SWEEP`: releases held deliveries of accounts that have a
    /// license again (the billing work also calls [`release_held`] directly).
    async fn held_loop(self) {
        while self.accepting() {
            tokio::select! {
                _ = tokio::time::sleep(HELD_SWEEP) => {}
                _ = async { while self.accepting() { tokio::time::sleep(POLL).await } } => break,
            }
            if let Err(e) = sweep_held(&self.state).await {
                tracing::warn!(error = %e, "releasing held deliveries failed");
            }
        }
    }
}

/// The recorder: commits the outcomes that arrived together in one
/// transaction, then answers those who wait.
async fn record_loop(state: AppState, owner: Arc<str>, mut rx: mpsc::Receiver<RecordMsg>) {
    while let Some(first) = rx.recv().await {
        let mut msgs = vec![first];
        while msgs.len() < RECORD_BATCH {
            match rx.try_recv() {
                Ok(m) => msgs.push(m),
                Err(_) => break,
            }
        }
        let items: Vec<Recorded> = msgs
            .iter()
            .filter_map(|m| match m {
                RecordMsg::Write { item, .. } => Some(Recorded::clone(item)),
                RecordMsg::Flush(_) => None,
            })
            .collect();
        let written = if items.is_empty() {
            Vec::new()
        } else {
            match deliveries::record_attempts(&state.db, &owner, &items).await {
                Ok(w) => w,
                Err(e) => {
                    tracing::error!(error = %e, count = items.len(), "recording attempts failed; their leases will expire and they are tried again");
                    vec![false; items.len()]
                }
            }
        };
        let mut results = written.into_iter();
        for m in msgs {
            match m {
                RecordMsg::Write { item, metric, done } => {
                    let ok = results.next().unwrap_or(false);
                    if ok {
                        state.metrics.incr("relay_deliveries_total", metric);
                    } else {
                        tracing::warn!(delivery = %item.row.delivery_id, "attempt outcome not recorded (lease lost or write failed)");
                    }
                    if let Some(d) = done {
                        let _ = d.send(ok);
                    }
                }
                RecordMsg::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    }
}

/// Groups a claimed batch by target (channel or endpoint), keeping creation
/// order inside each group and ordering groups by their oldest delivery.
fn by_target(batch: Vec<Claimed>) -> Vec<Vec<Claimed>> {
    let mut groups: BTreeMap<String, Vec<Claimed>> = BTreeMap::new();
    for d in batch {
        let key = match (&d.channel_id, &d.endpoint_id) {
            (Some(c), _) => format!("c:{c}"),
            (None, Some(e)) => format!("e:{e}"),
            (None, None) => format!("d:{}", d.id),
        };
        groups.entry(key).or_default().push(d);
    }
    let mut out: Vec<Vec<Claimed>> = groups.into_values().collect();
    out.sort_by(|a, b| a[0].id.cmp(&b[0].id));
    out
}

/// The running relay of this process.
pub struct RelayHandle {
    relay: Relay,
    tasks: Vec<JoinHandle<()>>,
}

impl RelayHandle {
    pub fn owner(&self) -> &str {
        self.relay.owner()
    }

    /// Waits for the loops to end (they do once `accepting` is false and
    /// attempts in flight finished, at most ~10 s) and gives back every
    /// lease this process still holds.
    pub async fn stop(self) {
        for t in self.tasks {
            let _ = t.await;
        }
        self.relay.flush().await;
        match deliveries::release_leases(&self.relay.state.db, &self.relay.owner).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "relay: gave back delivery leases"),
            Err(e) => tracing::warn!(error = %e, "relay: giving back leases failed"),
        }
    }
}

/// Starts both lanes and the held sweep.
pub fn spawn(state: &AppState) -> RelayHandle {
    let relay = Relay::new(state);
    let tasks = vec![
        tokio::spawn(relay.clone().lane_loop(LANE_FIRST, FIRST_LANE_CONCURRENCY)),
        tokio::spawn(relay.clone().lane_loop(LANE_RETRY, RETRY_LANE_CONCURRENCY)),
        tokio::spawn(relay.clone().held_loop()),
    ];
    RelayHandle { relay, tasks }
}

/// Tells the relay that deliveries are due now (call after the commit).
pub fn wake(state: &AppState) {
    state.relay_wake.notify_one();
}

/// Lets an account's held deliveries go (call when a license starts) once
/// the account has a license, except those of active channels that hold none
/// ([`super::licenses::Entitlement::holds`]): they wait for their own.
/// Released ones become `pending`, due now, in creation order, and their
/// deadline starts now. Returns how many were released.
pub async fn release_held(state: &AppState, account_id: &str) -> AppResult<u64> {
    let ent = super::licenses::entitlement(state, account_id).await?;
    release_held_for(state, account_id, &ent).await
}

/// As [`release_held`] with the account's entitlement already read.
pub async fn release_held_for(
    state: &AppState,
    account_id: &str,
    ent: &super::licenses::Entitlement,
) -> AppResult<u64> {
    if ent.holds(None) {
        return Ok(0);
    }
    let now = state.now();
    let mut n = 0;
    for p in [RetryPolicy::Standard, RetryPolicy::Extended] {
        n += deliveries::release_held(
            &state.db,
            account_id,
            ent.unlicensed_channels(),
            p.as_str(),
            now,
            now + p.deadline_ms(),
        )
        .await?;
    }
    if n > 0 {
        tracing::info!(account = %account_id, released = n, "released held deliveries");
        wake(state);
    }
    Ok(n)
}

/// Releases held deliveries of every account that has a license now (of
/// its channels that hold one).
pub async fn sweep_held(state: &AppState) -> AppResult<u64> {
    let mut n = 0;
    for account in deliveries::accounts_with_held(&state.db).await? {
        n += release_held(state, &account).await?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: &str, channel: Option<&str>, endpoint: Option<&str>) -> Claimed {
        Claimed {
            id: id.into(),
            account_id: "a".into(),
            event_id: "e".into(),
            event: "message.received".into(),
            channel_id: channel.map(Into::into),
            endpoint_id: endpoint.map(Into::into),
            endpoint_url: "http://x".into(),
            retry_policy: "standard".into(),
            attempts: 0,
            payload: None,
            deadline_at: None,
            created_at: 0,
        }
    }

    #[test]
    fn batches_group_by_target_in_order() {
        let groups = by_target(vec![
            d("01", Some("chB"), None),
            d("02", Some("chA"), None),
            d("03", Some("chB"), None),
            d("04", None, Some("ep")),
            d("05", Some("chA"), None),
        ]);
        let ids: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| g.iter().map(|x| x.id.as_str()).collect())
            .collect();
        assert_eq!(ids, vec![vec!["01", "03"], vec!["02", "05"], vec!["04"]]);
    }
}
