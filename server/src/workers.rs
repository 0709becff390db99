//! Background workers that live as long as `serve`: the customer relay
//! (SPEC §4.3) and the send queue (SPEC §5.1). They stop claiming work when
//! shutdown begins, finish what is in flight (≤ 10 s) and give back their
//! leases (SPEC §8). Each records heartbeats that `/readyz` checks
//! ([`app::heartbeat`]).

use app::heartbeat::Worker;
use app::services::media::worker::{self as media_worker, MediaWorkerHandle};
use app::services::messages::queue::{self as send_queue, SendQueueHandle};
use app::services::relay::{self, RelayHandle};
use app::services::token_refresh::{self, TokenJobHandle};
use app::state::AppState;

/// Which workers a `serve` process runs. Production runs all of them; a test
/// leaves one out to see `/readyz` name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerSet {
    pub relay: bool,
    pub media: bool,
    pub token_refresh: bool,
    pub queue: bool,
}

impl WorkerSet {
    pub const ALL: WorkerSet = WorkerSet {
        relay: true,
        media: true,
        token_refresh: true,
        queue: true,
    };
}

/// The workers of one `serve` process.
pub struct Workers {
    relay: Option<RelayHandle>,
    send_queue: Option<SendQueueHandle>,
    /// Downloads of inbound media (SPEC §4.4).
    media: Option<MediaWorkerHandle>,
    /// Token refresh and expiry warnings every 10 minutes (SPEC §5.5).
    tokens: Option<TokenJobHandle>,
}

/// Starts every worker.
pub fn spawn(state: &AppState) -> Workers {
    spawn_set(state, WorkerSet::ALL)
}

/// Starts the workers in `set`. Each counts as alive from its start; it must
/// then keep beating within its threshold.
pub fn spawn_set(state: &AppState, set: WorkerSet) -> Workers {
    let started = |workers: &[Worker]| {
        for w in workers {
            state.heartbeats.beat(*w);
        }
    };
    let relay = set.relay.then(|| {
        started(&[Worker::Relay, Worker::RelayRetry]);
        let relay = relay::spawn(state);
        tracing::info!(owner = relay.owner(), "relay worker started");
        relay
    });
    Workers {
        relay,
        send_queue: set.queue.then(|| {
            started(&[Worker::Queue]);
            send_queue::spawn(state)
        }),
        media: set.media.then(|| {
            started(&[Worker::Media]);
            media_worker::spawn(state)
        }),
        tokens: set.token_refresh.then(|| {
            started(&[Worker::TokenRefresh]);
            token_refresh::spawn(state)
        }),
    }
}

impl Workers {
    /// Call after `state.accepting` turned false: waits for the workers to
    /// drain and releases their leases.
    pub async fn stop(self) {
        tokio::join!(
            async {
                if let Some(w) = self.relay {
                    w.stop().await
                }
            },
            async {
                if let Some(w) = self.send_queue {
                    w.stop().await
                }
            },
            async {
                if let Some(w) = self.media {
                    w.stop().await
                }
            },
            async {
                if let Some(w) = self.tokens {
                    w.stop().await
                }
            },
        );
    }
}
