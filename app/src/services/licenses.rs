//! Licenses and channel slots (SPEC §7). For now the only source is the 7-day
//! trial (one `pro` license); the billing work adds paid and granted licenses
//! here, behind the same two functions.

use crate::clock::rfc3339;
use crate::domain::{ChannelType, SubscriptionView};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store;

/// What an account is entitled to right now.
#[derive(Clone, Debug)]
pub struct Entitlement {
    pub view: SubscriptionView,
    /// Number of active licenses; each holds one channel of every type.
    pub licenses: i64,
}

pub async fn entitlement(state: &AppState, account_id: &str) -> AppResult<Entitlement> {
    let account = store::accounts::account(&state.db, account_id)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    Ok(from_trial(account.trial_ends_at, state.now()))
}

fn from_trial(trial_ends_at: Option<i64>, now: i64) -> Entitlement {
    match trial_ends_at {
        Some(end) => {
            let active = end > now;
            Entitlement {
                view: SubscriptionView {
                    status: if active { "active" } else { "expired" }.into(),
                    source: Some("trial".into()),
                    tier: Some("pro".into()),
                    expires_at: Some(rfc3339(end)),
                    auto_renew: false,
                },
                licenses: i64::from(active),
            }
        }
        None => Entitlement {
            view: SubscriptionView {
                status: "none".into(),
                source: None,
                tier: None,
                expires_at: None,
                auto_renew: false,
            },
            licenses: 0,
        },
    }
}

/// Refuses a (re)connect that would need a slot the account does not have:
/// 402 `subscription_required` without any license, 402 `license_limit_reached`
/// when every license already holds a channel of this type.
pub async fn require_slot(state: &AppState, account_id: &str, t: ChannelType) -> AppResult<()> {
    let ent = entitlement(state, account_id).await?;
    if ent.licenses == 0 {
        return Err(AppError::client(
            402,
            "subscription_required",
            "the account has no active license (the trial is over); subscribe to connect channels",
        ));
    }
    let used = store::channels::count_active(&state.db, account_id, t.as_str()).await?;
    if used >= ent.licenses {
        return Err(AppError::client(
            402,
            "license_limit_reached",
            format!(
                "every license already holds an active {} channel ({used} of {}); deactivate one or add a license",
                t.label(),
                ent.licenses
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_states() {
        let e = from_trial(Some(2_000), 1_000);
        assert_eq!(e.licenses, 1);
        assert_eq!(e.view.status, "active");
        let e = from_trial(Some(2_000), 3_000);
        assert_eq!(e.licenses, 0);
        assert_eq!(e.view.status, "expired");
        let e = from_trial(None, 3_000);
        assert_eq!(e.view.status, "none");
        assert_eq!(e.view.source, None);
    }
}
