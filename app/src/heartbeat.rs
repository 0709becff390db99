//! Signs of life of the background workers, for `/readyz` (SPEC §8).
//!
//! Each worker loop records a beat at every turn; `/readyz` calls a worker
//! stale when its last beat is older than that worker's threshold, or when it
//! never beat at all (it was never started). Beats are kept in memory, per
//! process: a worker of another `serve` process says nothing about this one.
//!
//! Time is the monotonic clock of the process, not `state.clock`: the
//! application clock may be shifted (tests, a wrong wall clock), while "has
//! this loop turned lately" is a question about real elapsed time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The workers `/readyz` watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Worker {
    /// The relay's first-attempt lane (polls every 250 ms, woken by ingest).
    Relay,
    /// The relay's retry lane (polls every 250 ms).
    RelayRetry,
    /// Downloads of inbound media (polls every 250 ms).
    Media,
    /// Token refresh and expiry warnings (runs every 10 minutes).
    TokenRefresh,
    /// The send queue (polls every 500 ms).
    Queue,
}

impl Worker {
    pub const ALL: [Worker; 5] = [
        Worker::Relay,
        Worker::RelayRetry,
        Worker::Media,
        Worker::TokenRefresh,
        Worker::Queue,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Worker::Relay => "relay",
            Worker::RelayRetry => "relay_retry",
            Worker::Media => "media",
            Worker::TokenRefresh => "token_refresh",
            Worker::Queue => "queue",
        }
    }

    /// How long the worker may stay silent before it counts as stuck.
    ///
    /// The polling loops turn every 250–500 ms; one turn may wait for a pool
    /// connection (10 s acquire timeout) and SQLite's busy handler (5 s), so
    /// 60 s of silence means the loop is stuck or gone, never merely busy.
    /// The token job ticks every 10 minutes and one run may take minutes with
    /// many channels (each refresh is a Graph call with its own timeout):
    /// three intervals.
    pub fn stale_after(self) -> Duration {
        match self {
            Worker::TokenRefresh => crate::services::token_refresh::INTERVAL * 3,
            Worker::Relay | Worker::RelayRetry | Worker::Media | Worker::Queue => {
                Duration::from_secs(60)
            }
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Last beat of each worker, in milliseconds since `origin` plus one
/// (0 = never beat).
#[derive(Clone, Debug)]
pub struct Heartbeats {
    origin: Instant,
    last: Arc<[AtomicU64; 5]>,
}

impl Default for Heartbeats {
    fn default() -> Self {
        Heartbeats {
            origin: Instant::now(),
            last: Arc::new(Default::default()),
        }
    }
}

/// One worker's state as `/readyz` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerCheck {
    pub worker: Worker,
    /// Milliseconds since the last beat; `None` when it never beat.
    pub silent_ms: Option<u64>,
    pub alive: bool,
}

impl Heartbeats {
    /// Records a sign of life of `worker` now (called by its loop, and once
    /// when it is spawned so a freshly started worker counts as alive).
    pub fn beat(&self, worker: Worker) {
        self.beat_at(worker, Instant::now());
    }

    fn beat_at(&self, worker: Worker, at: Instant) {
        let ms = at.saturating_duration_since(self.origin).as_millis() as u64 + 1;
        self.last[worker.index()].store(ms, Ordering::Relaxed);
    }

    /// Every watched worker, judged at `now`.
    pub fn check_at(&self, now: Instant) -> Vec<WorkerCheck> {
        let now_ms = now.saturating_duration_since(self.origin).as_millis() as u64 + 1;
        Worker::ALL
            .iter()
            .map(|&worker| {
                let last = self.last[worker.index()].load(Ordering::Relaxed);
                let silent_ms = (last != 0).then(|| now_ms.saturating_sub(last));
                let alive =
                    silent_ms.is_some_and(|ms| u128::from(ms) <= worker.stale_after().as_millis());
                WorkerCheck {
                    worker,
                    silent_ms,
                    alive,
                }
            })
            .collect()
    }

    pub fn check(&self) -> Vec<WorkerCheck> {
        self.check_at(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_is_alive_until_its_threshold_passes_without_a_beat() {
        let hb = Heartbeats::default();
        let start = hb.origin;
        let never = hb.check_at(start);
        assert!(never.iter().all(|c| !c.alive && c.silent_ms.is_none()));

        for w in Worker::ALL {
            hb.beat_at(w, start);
        }
        let within = start + Duration::from_secs(60);
        assert!(hb.check_at(within).iter().all(|c| c.alive));

        let later = start + Duration::from_secs(61);
        let checks = hb.check_at(later);
        let stale: Vec<_> = checks
            .iter()
            .filter(|c| !c.alive)
            .map(|c| c.worker)
            .collect();
        // The 10-minute token job has a longer leash than the polling loops.
        assert_eq!(
            stale,
            [
                Worker::Relay,
                Worker::RelayRetry,
                Worker::Media,
                Worker::Queue
            ]
        );
        hb.beat_at(Worker::Media, later);
        assert!(
            hb.check_at(later)
                .iter()
                .any(|c| c.worker == Worker::Media && c.alive)
        );
        let token = start + Duration::from_secs(30 * 60 + 1);
        assert!(
            hb.check_at(token)
                .iter()
                .any(|c| c.worker == Worker::TokenRefresh && !c.alive)
        );
    }
}
