//! Read receipts and typing (SPEC §13, "Mark read and typing"):
//! `POST /api/v1/messages/read {"channel_id","message_id","typing"?}` marks an
//! inbound message (Meta's id) as read on the user's device, and shows the
//! typing indicator when asked.
//!
//! WhatsApp takes the message id itself (`status: read`, optional
//! `typing_indicator`). Messenger and Instagram mark a conversation, not a
//! message: `sender_action: mark_seen` (then `typing_on`) to the user who sent
//! it, found from the stored inbound event, so a caller cannot aim the action
//! at anyone who did not write to the channel.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::ChannelType;
use crate::error::{AppError, AppResult};
use crate::services::channels;
use crate::services::meta_errors::to_app_error;
use crate::state::AppState;
use crate::store;
use crate::store::channels::Channel;

/// Meta's ids are short; anything longer is not one.
const MAX_MESSAGE_ID: usize = 512;

/// The body of `POST /api/v1/messages/read`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    pub channel_id: String,
    /// Meta's id of an inbound message (`wamid.…`, `m_…`, `aWdf…`).
    pub message_id: String,
    /// Also show the typing indicator (WhatsApp: until the reply or ~25 s).
    #[serde(default)]
    pub typing: bool,
}

/// `{"success": true}`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReadResult {
    pub success: bool,
}

pub async fn mark_read(
    state: &AppState,
    account_id: &str,
    req: &ReadRequest,
) -> AppResult<ReadResult> {
    let ch = super::usable_channel(state, account_id, &req.channel_id).await?;
    let message_id = req.message_id.trim();
    if message_id.is_empty()
        || message_id.len() > MAX_MESSAGE_ID
        || message_id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AppError::validation(
            "message_id must be Meta's id of an inbound message (wamid.…, m_…)",
        ));
    }
    let token = channels::token(state, &ch)?;
    let doing = "marking the message read";
    match channels::channel_type(&ch) {
        ChannelType::Whatsapp => {
            state
                .meta
                .mark_read_whatsapp(&ch.asset_id, &token, message_id, req.typing)
                .await
                .map_err(|e| to_app_error(&e, doing))?;
        }
        t => {
            let sender = sender_of(state, &ch, t, message_id).await?;
            let mut actions = vec!["mark_seen"];
            if req.typing {
                actions.push("typing_on");
            }
            for action in actions {
                state
                    .meta
                    .sender_action(&ch.asset_id, &token, &sender, action)
                    .await
                    .map_err(|e| to_app_error(&e, doing))?;
            }
        }
    }
    Ok(ReadResult { success: true })
}

/// The user who sent `message_id` to a Page or Instagram account, from the
/// stored `message.received` event.
async fn sender_of(
    state: &AppState,
    ch: &Channel,
    t: ChannelType,
    message_id: &str,
) -> AppResult<String> {
    let prefix = if t == ChannelType::Instagram {
        "ig"
    } else {
        "fb"
    };
    let not_found =
        || AppError::not_found("an inbound message with this message_id on the channel");
    let event =
        store::events::by_dedupe_key(&state.db, &ch.id, &format!("{prefix}:mid:{message_id}"))
            .await?
            .ok_or_else(not_found)?;
    let plain = state
        .cipher
        .decrypt(&event.payload)
        .map_err(|e| AppError::Internal(format!("event {}: {e}", event.id)))?;
    serde_json::from_slice::<Value>(&plain)
        .ok()
        .and_then(|v| {
            v.pointer("/data/from")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .ok_or_else(not_found)
}
