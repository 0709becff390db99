//! User profiles (SPEC §5.4): who an Instagram or Messenger user is, as far
//! as Meta shows it. Answers are cached 5 minutes per channel and user in
//! this process's memory (a per-process cache: each `serve` process asks Meta
//! at most once per 5 minutes per user; profile pictures expire anyway).
//! Users Meta will not show (never wrote, no consent, unknown id) are
//! `profile: null`, cached the same way.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::MINUTE_MS;
use crate::domain::ChannelType;
use crate::error::{AppError, AppResult};
use crate::meta::client::{INSTAGRAM_PROFILE_FIELDS, MESSENGER_PROFILE_FIELDS};
use crate::meta::types::UserProfile;
use crate::services::{channels, templates::meta_failure};
use crate::state::AppState;

pub const CACHE_MS: i64 = 5 * MINUTE_MS;
/// Above this many entries, expired ones are dropped on insert.
const CACHE_SWEEP_AT: usize = 10_000;

/// `GET /api/v1/channels/{id}/profile/{user_id}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ProfileAnswer {
    pub channel_id: String,
    /// `instagram` or `facebook`.
    pub channel_type: String,
    pub user_id: String,
    /// Instagram: `username, name, profile_pic, follower_count, is_verified_user`;
    /// Facebook: `first_name, last_name, profile_pic`; `null` when Meta does not show the user.
    #[schema(value_type = Option<Object>)]
    pub profile: Option<Value>,
    /// True when the answer came from the 5-minute cache.
    pub cached: bool,
}

/// (channel id, user id).
type Key = (String, String);
/// Valid until (unix ms), and the profile or `None` for "Meta shows nobody".
type Entry = (i64, Option<Value>);
static CACHE: LazyLock<Mutex<HashMap<Key, Entry>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn cached(key: &Key, now: i64) -> Option<Option<Value>> {
    let map = CACHE.lock().ok()?;
    map.get(key)
        .filter(|(until, _)| *until > now)
        .map(|(_, p)| p.clone())
}

fn remember(key: Key, profile: Option<Value>, now: i64) {
    if let Ok(mut map) = CACHE.lock() {
        if map.len() >= CACHE_SWEEP_AT {
            map.retain(|_, (until, _)| *until > now);
        }
        map.insert(key, (now + CACHE_MS, profile));
    }
}

/// The fields the SPEC promises per type, `null` when Meta left them out.
fn shape(t: ChannelType, p: &UserProfile) -> Value {
    match t {
        ChannelType::Instagram => json!({
            "username": p.username,
            "name": p.name,
            "profile_pic": p.profile_pic,
            "follower_count": p.follower_count,
            "is_verified_user": p.is_verified_user,
        }),
        _ => json!({
            "first_name": p.first_name,
            "last_name": p.last_name,
            "profile_pic": p.profile_pic,
        }),
    }
}

/// PSIDs and IGSIDs are digits; anything else must never reach a Graph path.
fn check_user_id(user_id: &str) -> AppResult<()> {
    if user_id.is_empty() || user_id.len() > 64 || !user_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::validation(
            "user_id: the person's IGSID or PSID (digits, as in data.from of a message.received)",
        ));
    }
    Ok(())
}

pub async fn profile(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    user_id: &str,
) -> AppResult<ProfileAnswer> {
    let ch = channels::load(state, account_id, channel_id).await?;
    let t = channels::channel_type(&ch);
    if t == ChannelType::Whatsapp {
        return Err(AppError::bad_request(
            "not_supported",
            "WhatsApp has no profile look-up; the sender's name arrives as data.from_name on message.received",
        ));
    }
    check_user_id(user_id)?;
    if !ch.is_active {
        return Err(AppError::bad_request(
            "channel_inactive",
            "the channel is inactive (deactivated, or Meta rejected its token); connect it again",
        ));
    }
    let answer = |profile: Option<Value>, cached: bool| ProfileAnswer {
        channel_id: ch.id.clone(),
        channel_type: t.as_str().to_string(),
        user_id: user_id.to_string(),
        profile,
        cached,
    };
    let key = (ch.id.clone(), user_id.to_string());
    let now = state.now();
    if let Some(p) = cached(&key, now) {
        return Ok(answer(p, true));
    }
    let fields = if t == ChannelType::Instagram {
        INSTAGRAM_PROFILE_FIELDS
    } else {
        MESSENGER_PROFILE_FIELDS
    };
    let token = channels::token(state, &ch)?;
    let found = match state.meta.user_profile(user_id, fields, &token).await {
        Ok(p) => p.map(|p| shape(t, &p)),
        Err(e) => return Err(meta_failure(state, &ch, &e, "looking up the profile").await),
    };
    remember(key, found.clone(), now);
    Ok(answer(found, false))
}
