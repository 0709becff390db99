//! Registration at connect (SPEC §13): a WhatsApp number fresh out of
//! Embedded Signup cannot send until it is registered on Cloud API (Meta's
//! 133010). Switchboard registers it right after the connect with a random
//! 6-digit two-step verification PIN, keeps the PIN sealed and shows it once.
//! A number that already has another PIN (Meta's 133005) stays unregistered
//! until the customer registers it with that PIN (`POST
//! /api/v1/channels/{id}/register` or the Portal's Register card).

use rand::Rng;

use crate::domain::ChannelType;
use crate::error::{AppError, AppResult};
use crate::meta::types::PhoneNumber;
use crate::state::AppState;
use crate::store::{self, channels::Channel};

use super::channels;
use super::meta_errors::to_app_error;

/// Meta's "two step verification PIN mismatch": the number already has a
/// PIN and it is not the one sent.
pub const PIN_MISMATCH: i64 = 133005;

/// Registered on Cloud API: Meta's `platform_type`, or a `CONNECTED` number
/// (one rule for health, connect and the register endpoint).
pub fn is_registered(p: &PhoneNumber) -> bool {
    p.platform_type.as_deref() == Some("CLOUD_API") || p.status.as_deref() == Some("CONNECTED")
}

/// A coexistence number lives in the WhatsApp Business app too; registering
/// it on Cloud API would take it away from the app.
pub fn is_coexistence(p: &PhoneNumber) -> bool {
    p.is_on_biz_app == Some(true)
}

/// Six digits from the OS generator (leading zeros allowed, as Meta's are).
pub fn random_pin() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..6)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// What registration at connect did, for the log and the tests' reasoning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AtConnect {
    /// Not a WhatsApp number of Switchboard's own app (manual connections
    /// belong to the customer's app, which registers its numbers itself).
    NotApplicable,
    AlreadyRegistered,
    Coexistence,
    /// Registered now with a new PIN, stored sealed and not yet shown.
    Registered,
    /// 133005: the number has another PIN; health says so.
    PinMismatch,
    /// Anything else Meta answered (or the number could not be read); the
    /// connect stands and health shows the number as not registered.
    Failed(String),
}

/// The number as Meta lists it in its WABA, or why it could not be read.
async fn read_number(state: &AppState, c: &Channel, token: &str) -> Result<PhoneNumber, String> {
    let waba = c.waba_id.as_deref().unwrap_or_default();
    match state.meta.phone_numbers(waba, token).await {
        Ok(list) => list
            .into_iter()
            .find(|p| p.id == c.asset_id)
            .ok_or_else(|| "the number is not in its WABA".to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Called once a WhatsApp connect has made the channel active. Never fails
/// the connect: whatever Meta answers, the channel is connected.
pub async fn at_connect(state: &AppState, c: &Channel) -> AtConnect {
    if channels::channel_type(c) != ChannelType::Whatsapp
        || c.meta_app_ref.is_some()
        || !c.is_active
    {
        return AtConnect::NotApplicable;
    }
    let outcome = register_new(state, c).await;
    match &outcome {
        AtConnect::Registered => {
            tracing::info!(channel = %c.id, "number registered on Cloud API at connect")
        }
        AtConnect::PinMismatch => {
            tracing::info!(channel = %c.id, "number already has another two-step PIN (133005); left for the customer to register")
        }
        AtConnect::Failed(why) => {
            tracing::warn!(channel = %c.id, why = %why, "registering the number at connect failed")
        }
        _ => {}
    }
    outcome
}

async fn register_new(state: &AppState, c: &Channel) -> AtConnect {
    let token = match channels::token(state, c) {
        Ok(t) => t,
        Err(e) => return AtConnect::Failed(e.public_detail()),
    };
    let number = match read_number(state, c, &token).await {
        Ok(n) => n,
        Err(why) => return AtConnect::Failed(why),
    };
    if is_coexistence(&number) {
        return AtConnect::Coexistence;
    }
    if is_registered(&number) {
        return AtConnect::AlreadyRegistered;
    }
    let pin = random_pin();
    match state.meta.register_phone(&c.asset_id, &pin, &token).await {
        Ok(()) => {
            let sealed = state.cipher.encrypt(pin.as_bytes());
            match store::two_step_pins::store(&state.db, &c.id, &sealed).await {
                Ok(()) => AtConnect::Registered,
                // Registered at Meta all the same; only the PIN is lost.
                Err(e) => AtConnect::Failed(format!("storing the PIN: {e}")),
            }
        }
        Err(e) if e.graph().is_some_and(|g| g.code == PIN_MISMATCH) => AtConnect::PinMismatch,
        Err(e) => AtConnect::Failed(e.to_string()),
    }
}

/// The PIN Switchboard set at connect, the first time it is asked for; then
/// never again (`None`). The API's connect answer and the Portal's channel
/// page ask; whichever comes first shows it.
pub async fn take_pin(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
) -> AppResult<Option<String>> {
    let Some(sealed) =
        store::two_step_pins::take_unshown(&state.db, account_id, channel_id, state.now()).await?
    else {
        return Ok(None);
    };
    let bytes = state
        .cipher
        .decrypt(&sealed)
        .map_err(|e| AppError::Internal(format!("channel {channel_id} PIN: {e}")))?;
    Ok(String::from_utf8(bytes).ok())
}

/// `POST /api/v1/channels/{id}/register {"pin"}` after the checks of the
/// endpoint: registers the number with the customer's PIN. A number already
/// registered on Cloud API is left as it is and the call succeeds: Meta
/// counts register calls (10 per 72 hours, then 133016), and a second
/// register with another PIN would only earn 133005.
pub async fn register_with_pin(state: &AppState, c: &Channel, pin: &str) -> AppResult<()> {
    let token = channels::token(state, c)?;
    if let Ok(n) = read_number(state, c, &token).await
        && is_registered(&n)
    {
        return Ok(());
    }
    state
        .meta
        .register_phone(&c.asset_id, pin, &token)
        .await
        .map_err(|e| to_app_error(&e, "registering the number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_six_digits() {
        for _ in 0..100 {
            let p = random_pin();
            assert_eq!(p.len(), 6);
            assert!(p.chars().all(|c| c.is_ascii_digit()), "{p}");
        }
    }
}
