//! Background workers that live as long as `serve`: the customer relay
//! (SPEC §4.3) and the send queue (SPEC §5.1). They stop claiming work when
//! shutdown begins, finish what is in flight (≤ 10 s) and give back their
//! leases (SPEC §8).

use app::services::media::worker::{self as media_worker, MediaWorkerHandle};
use app::services::messages::queue::{self as send_queue, SendQueueHandle};
use app::services::relay::{self, RelayHandle};
use app::services::token_refresh::{self, TokenJobHandle};
use app::state::AppState;

/// The workers of one `serve` process.
pub struct Workers {
    relay: RelayHandle,
    send_queue: SendQueueHandle,
    /// Downloads of inbound media (SPEC §4.4).
    media: MediaWorkerHandle,
    /// Token refresh and expiry warnings every 10 minutes (SPEC §5.5).
    tokens: TokenJobHandle,
}

/// Starts every worker.
pub fn spawn(state: &AppState) -> Workers {
    let relay = relay::spawn(state);
    tracing::info!(owner = relay.owner(), "relay worker started");
    Workers {
        relay,
        send_queue: send_queue::spawn(state),
        media: media_worker::spawn(state),
        tokens: token_refresh::spawn(state),
    }
}

impl Workers {
    /// Call after `state.accepting` turned false: waits for the workers to
    /// drain and releases their leases.
    pub async fn stop(self) {
        tokio::join!(
            self.relay.stop(),
            self.send_queue.stop(),
            self.media.stop(),
            self.tokens.stop()
        );
    }
}
