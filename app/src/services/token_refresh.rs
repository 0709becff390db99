//! Token lifecycle (SPEC §5.5, reference §9.7, §11.2): a job that looks at
//! every active channel whose Meta token expires within 7 days and
//! - refreshes it: Facebook Pages, Instagram through Facebook Login and
//!   WhatsApp user tokens by the long-lived exchange (`fb_exchange_token`),
//!   Instagram Login accounts (no Page behind them) by `refresh_access_token`;
//!   the new token is stored encrypted with its new expiry;
//! - when Meta will not refresh it (system-user tokens, Page tokens, a
//!   customer's own app…): `channel.token_expiring` 7 days and 1 day before
//!   expiry, once per threshold (dedupe key per channel, expiry and
//!   threshold), plus a mail to the owners and admins; a failed refresh is
//!   tried again a day later, not on every run;
//! - when Meta answers 190 (or the token has expired without a refresh): the
//!   channel is deactivated through [`channels::token_died`].
//!
//! Time comes from `state.clock`. Several processes may run the job: a claim
//! on `channels.token_checked_at` lets one look at a channel at a time.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinHandle;

use crate::clock::{DAY_MS, MINUTE_MS, rfc3339};
use crate::domain::ChannelType;
use crate::error::AppResult;
use crate::meta::types::TokenResponse;
use crate::meta::{ErrorClass, MetaError};
use crate::services::{account_events, channels};
use crate::state::AppState;
use crate::store;
use crate::store::channel_tokens::Due;
use crate::store::channels::Channel;

/// Refresh (or warn) this long before expiry.
pub const WINDOW_MS: i64 = 7 * DAY_MS;
/// Warnings at these many days before expiry.
pub const THRESHOLDS_DAYS: [i64; 2] = [7, 1];
/// How often `serve` runs the job.
pub const INTERVAL: Duration = Duration::from_secs(600);
/// A failed refresh is tried again after this long.
pub const RETRY_AFTER_MS: i64 = DAY_MS;
/// Another process's look at a channel counts this long.
const CLAIM_MS: i64 = 5 * MINUTE_MS;

pub const EXPIRING_EVENT: &str = "channel.token_expiring";

/// What one run did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub refreshed: Vec<String>,
    pub warned: Vec<String>,
    pub died: Vec<String>,
}

/// How a channel's token can be refreshed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    LongLivedExchange,
    InstagramRefresh,
    /// A customer's own Meta app: only its owner can refresh.
    None,
}

fn method(c: &Channel) -> Method {
    if c.meta_app_ref.is_some() {
        return Method::None;
    }
    match channels::channel_type(c) {
        // Instagram Login accounts have no Page behind them.
        ChannelType::Instagram if c.page_id.is_none() => Method::InstagramRefresh,
        _ => Method::LongLivedExchange,
    }
}

/// The running job of this process.
pub struct TokenJobHandle {
    task: JoinHandle<()>,
}

impl TokenJobHandle {
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Runs the job every [`INTERVAL`] while the process accepts work.
pub fn spawn(state: &AppState) -> TokenJobHandle {
    let state = state.clone();
    TokenJobHandle {
        task: tokio::spawn(async move {
            let mut tick = tokio::time::interval(INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while state.accepting.load(Ordering::SeqCst) {
                tick.tick().await;
                state
                    .heartbeats
                    .beat(crate::heartbeat::Worker::TokenRefresh);
                match run_once(&state).await {
                    Ok(r) if r != Report::default() => {
                        tracing::info!(
                            refreshed = r.refreshed.len(),
                            warned = r.warned.len(),
                            died = r.died.len(),
                            "token job ran"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "token job failed; next run in 10 minutes")
                    }
                }
            }
        }),
    }
}

/// One pass over every token that expires within 7 days.
pub async fn run_once(state: &AppState) -> AppResult<Report> {
    let now = state.now();
    let mut report = Report::default();
    for due in store::channel_tokens::due(&state.db, now + WINDOW_MS).await? {
        if !store::channel_tokens::claim(&state.db, &due.channel_id, now, now - CLAIM_MS).await? {
            continue;
        }
        if let Err(e) = one(state, &due, now, &mut report).await {
            tracing::warn!(channel = %due.channel_id, error = %e, "token check failed");
        }
    }
    Ok(report)
}

async fn one(state: &AppState, due: &Due, now: i64, report: &mut Report) -> AppResult<()> {
    let Some(ch) = store::channels::get(&state.db, &due.account_id, &due.channel_id).await? else {
        return Ok(());
    };
    let recently_failed = due
        .refresh_failed_at
        .is_some_and(|at| now - at < RETRY_AFTER_MS);
    let why = if recently_failed {
        due.refresh_error.clone().unwrap_or_default()
    } else {
        match refresh(state, &ch).await {
            Ok(Some(t)) => {
                let expires_at = t.expires_in.map(|s| now + s * 1000);
                if expires_at.is_some_and(|e| e <= due.token_expires_at) {
                    // Meta handed back a token that does not live longer.
                    "Meta's refresh did not extend the token".to_string()
                } else {
                    let cipher = state.cipher.encrypt(t.access_token.as_bytes());
                    store::channel_tokens::refreshed(&state.db, &ch, &cipher, expires_at, now)
                        .await?;
                    tracing::info!(channel = %ch.id, expires_at = ?expires_at.map(rfc3339), "channel token refreshed");
                    report.refreshed.push(ch.id.clone());
                    return Ok(());
                }
            }
            Ok(None) => "the token was issued through the customer's own Meta app".to_string(),
            Err(e) if e.class() == ErrorClass::TokenDead => {
                channels::token_died(state, &ch, &e.to_string()).await?;
                report.died.push(ch.id.clone());
                return Ok(());
            }
            Err(e) => e.to_string(),
        }
    };
    if !recently_failed {
        store::channel_tokens::refresh_failed(&state.db, &ch.id, &why, now).await?;
    }
    if due.token_expires_at <= now {
        let detail = format!(
            "the token expired on {} and could not be refreshed ({why})",
            rfc3339(due.token_expires_at)
        );
        channels::token_died(state, &ch, &detail).await?;
        report.died.push(ch.id.clone());
        return Ok(());
    }
    if warn(state, &ch, due.token_expires_at, now, &why).await? {
        report.warned.push(ch.id.clone());
    }
    Ok(())
}

/// Calls Meta; `None` when this channel's token cannot be refreshed by us.
async fn refresh(state: &AppState, ch: &Channel) -> Result<Option<TokenResponse>, MetaError> {
    let token = match channels::token(state, ch) {
        Ok(t) => t,
        Err(e) => {
            return Err(MetaError::Decode {
                http_status: 0,
                message: format!("the stored token cannot be read: {e}"),
            });
        }
    };
    match method(ch) {
        Method::None => Ok(None),
        Method::LongLivedExchange => state.meta.exchange_long_lived(&token).await.map(Some),
        Method::InstagramRefresh => state.meta.refresh_instagram_token(&token).await.map(Some),
    }
}

/// The tightest threshold reached (`1` or `7` days), if any.
pub fn threshold(expires_at: i64, now: i64) -> Option<i64> {
    let left = expires_at - now;
    THRESHOLDS_DAYS
        .iter()
        .rev()
        .find(|d| left <= *d * DAY_MS)
        .copied()
}

/// `channel.token_expiring` and a mail, once per channel, expiry and threshold.
async fn warn(
    state: &AppState,
    ch: &Channel,
    expires_at: i64,
    now: i64,
    why: &str,
) -> AppResult<bool> {
    let Some(days) = threshold(expires_at, now) else {
        return Ok(false);
    };
    let mut data = account_events::channel_data(ch, Some("refresh_unavailable"));
    data["token_expires_at"] = json!(rfc3339(expires_at));
    data["days_left"] = json!(days);
    data["detail"] = json!(why);
    let key = format!("tok:{}:{}:{days}d", ch.id, expires_at / 1000);
    let stored =
        account_events::emit_keyed(state, &ch.account_id, EXPIRING_EVENT, Some(&key), data).await?;
    if stored.is_none() {
        return Ok(false);
    }
    let when = if days == 1 {
        "within a day"
    } else {
        "within 7 days"
    };
    let body = format!(
        "The Meta access token of your {} channel \"{}\" expires {when} ({}), and Switchboard cannot \
         refresh it ({why}).\n\nConnect the channel again before then to keep messages flowing; it keeps \
         its id and settings:\n\n{}/channels/{}\n",
        channels::channel_type(ch).label(),
        ch.name,
        rfc3339(expires_at),
        state.config.base(),
        ch.id
    );
    account_events::mail_managers(
        state,
        &ch.account_id,
        &format!("Channel \"{}\": access token expires {when}", ch.name),
        &body,
    )
    .await;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_pick_the_tightest() {
        let now = 1_000 * DAY_MS;
        assert_eq!(threshold(now + 8 * DAY_MS, now), None);
        assert_eq!(threshold(now + 7 * DAY_MS, now), Some(7));
        assert_eq!(threshold(now + 2 * DAY_MS, now), Some(7));
        assert_eq!(threshold(now + DAY_MS, now), Some(1));
        assert_eq!(threshold(now + 1, now), Some(1));
    }
}
