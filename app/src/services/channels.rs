//! Channels (SPEC §3): views, webhook settings and secrets (§3.1), soft delete
//! with the safe unsubscribe rule, and the one place where a connected asset
//! becomes a channel (new, reactivated in place, or the existing one).

use crate::clock::rfc3339;
use crate::crypto;
use crate::domain::{self, ChannelType, ChannelView, SubscriptionView};
use crate::error::{AppError, AppResult};
use crate::meta::types::Subscription;
use crate::state::AppState;
use crate::store::{self, channels::Channel};

use super::licenses;

/// Page webhook fields for Messenger and Instagram (reference §10.2).
pub const PAGE_FIELDS: &[&str] = &[
    "messages",
    "messaging_postbacks",
    "message_deliveries",
    "message_reads",
    "message_echoes",
    "message_reactions",
];

pub fn channel_type(c: &Channel) -> ChannelType {
    ChannelType::parse(&c.channel_type).unwrap_or(ChannelType::Whatsapp)
}

/// The events the customer enabled on the channel (stored as a JSON array).
pub fn events_of(c: &Channel) -> Vec<String> {
    serde_json::from_str(&c.webhook_events).unwrap_or_default()
}

pub fn view(c: &Channel, subscription: &SubscriptionView) -> ChannelView {
    let t = channel_type(c);
    let wa = t == ChannelType::Whatsapp;
    let ig = t == ChannelType::Instagram;
    ChannelView {
        id: c.id.clone(),
        channel_type: t,
        name: c.name.clone(),
        is_active: c.is_active,
        phone_number_id: wa.then(|| c.asset_id.clone()),
        phone_number: c.phone_number.clone().filter(|_| wa),
        waba_id: c.waba_id.clone().filter(|_| wa),
        ig_account_id: ig.then(|| c.asset_id.clone()),
        ig_username: c.ig_username.clone().filter(|_| ig),
        page_id: c.page_id.clone().filter(|_| !wa),
        connection: if c.meta_app_ref.is_some() {
            "manual"
        } else {
            "platform"
        }
        .into(),
        webhook_url: c.webhook_url.clone(),
        has_webhook_secret: c.webhook_secret.is_some(),
        webhook_events: events_of(c),
        connected_at: rfc3339(c.connected_at),
        token_expires_at: c.token_expires_at.map(rfc3339),
        quality_rating: c.quality_rating.clone().filter(|_| wa),
        account_status: wa.then(|| c.account_status.clone()),
        subscription: subscription.clone(),
        last_event_at: c.last_event_at.map(rfc3339),
        media_mode: c.media_mode.clone(),
        include_raw: c.include_raw,
        retry_policy: c.retry_policy.clone(),
    }
}

/// The account's channel or 404 (also for another account's id).
pub async fn load(state: &AppState, account_id: &str, id: &str) -> AppResult<Channel> {
    store::channels::get(&state.db, account_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("channel"))
}

pub async fn view_of(state: &AppState, c: &Channel) -> AppResult<ChannelView> {
    let ent = licenses::entitlement(state, &c.account_id).await?;
    Ok(view(c, &ent.view_for(&c.id, c.is_active)))
}

pub async fn list(state: &AppState, account_id: &str) -> AppResult<Vec<ChannelView>> {
    let ent = licenses::entitlement(state, account_id).await?;
    Ok(store::channels::list(&state.db, account_id)
        .await?
        .iter()
        .map(|c| view(c, &ent.view_for(&c.id, c.is_active)))
        .collect())
}

pub async fn get(state: &AppState, account_id: &str, id: &str) -> AppResult<ChannelView> {
    let c = load(state, account_id, id).await?;
    view_of(state, &c).await
}

/// Sets `include_raw` (SPEC §13): the account's channel or 404.
pub async fn set_include_raw(
    state: &AppState,
    account_id: &str,
    id: &str,
    on: bool,
) -> AppResult<()> {
    load(state, account_id, id).await?;
    store::channels::set_include_raw(&state.db, id, on, state.now()).await?;
    Ok(())
}

/// Checks a `retry_policy` (SPEC §13): 400 `validation_error` unless
/// `standard` or `extended`, the same rule as for event endpoints.
pub fn parse_retry_policy(raw: &str) -> AppResult<crate::domain::retry::RetryPolicy> {
    crate::domain::retry::RetryPolicy::parse(raw).ok_or_else(|| {
        AppError::validation(format!(
            "retry_policy must be `standard` or `extended`, got `{raw}`"
        ))
    })
}

/// Sets the channel's retry horizon: the account's channel or 404, a bad
/// value 400. Applies to deliveries queued from now on.
pub async fn set_retry_policy(
    state: &AppState,
    account_id: &str,
    id: &str,
    raw: &str,
) -> AppResult<()> {
    let policy = parse_retry_policy(raw)?;
    load(state, account_id, id).await?;
    store::channels::set_retry_policy(&state.db, id, policy.as_str(), state.now()).await?;
    Ok(())
}

/// The channel's Meta token in clear, for Graph calls.
pub fn token(state: &AppState, c: &Channel) -> AppResult<String> {
    let bytes = state
        .cipher
        .decrypt(&c.access_token)
        .map_err(|e| AppError::Internal(format!("channel {} token: {e}", c.id)))?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(e.to_string()))
}

// ---- webhook settings and secrets (§3.1) -----------------------------------

/// A requested change of webhook settings; `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct WebhookSettings {
    /// `Some(None)` (or an empty string) clears the URL.
    pub url: Option<Option<String>>,
    pub secret: Option<String>,
    pub events: Option<Vec<String>>,
}

impl WebhookSettings {
    pub fn is_empty(&self) -> bool {
        self.url.is_none() && self.secret.is_none() && self.events.is_none()
    }
}

/// The outcome of a settings change: the channel and, only when a secret was
/// set or generated by this very call, the secret itself (shown once).
#[derive(Clone, Debug)]
pub struct Updated {
    pub channel: ChannelView,
    pub webhook_secret: Option<String>,
}

/// Checked, normalised settings ready to write.
#[derive(Debug)]
pub struct Plan {
    url: Option<String>,
    events: Vec<String>,
    new_secret: Option<String>,
}

/// 64 lowercase hex characters from the OS generator.
pub fn random_secret() -> String {
    crypto::random_hex(32)
}

/// Validates `input` against channel `c` without writing anything, so callers
/// can refuse bad input before spending anything (e.g. a connect code).
/// `generate_secret_if_missing`: the API rule (true) creates a secret when a
/// URL is set on a channel without one; the Portal rule (false) never does.
pub async fn plan_webhook_settings(
    state: &AppState,
    c: &Channel,
    input: &WebhookSettings,
    generate_secret_if_missing: bool,
    secret_max_len: usize,
) -> AppResult<Plan> {
    let url = match &input.url {
        None => c.webhook_url.clone(),
        Some(u) => u
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string),
    };
    if let (Some(u), Some(_)) = (&url, &input.url) {
        super::webhook_target::check(&state.config, u).await?;
    }
    let events = match &input.events {
        None => events_of(c),
        Some(list) => domain::validate_events(channel_type(c), list)
            .map_err(|e| AppError::bad_request("invalid_event", e))?,
    };
    let new_secret = match &input.secret {
        Some(s) => {
            domain::validate_secret(s, secret_max_len)
                .map_err(|e| AppError::bad_request("invalid_webhook_secret", e))?;
            Some(s.clone())
        }
        None if generate_secret_if_missing
            && input.url.is_some()
            && url.is_some()
            && c.webhook_secret.is_none() =>
        {
            Some(random_secret())
        }
        None => None,
    };
    Ok(Plan {
        url,
        events,
        new_secret,
    })
}

pub async fn apply_plan(state: &AppState, c: &Channel, plan: Plan) -> AppResult<Updated> {
    let sealed = plan
        .new_secret
        .as_deref()
        .map(|s| state.cipher.encrypt(s.as_bytes()));
    let events = serde_json::to_string(&plan.events).unwrap_or_else(|_| "[]".into());
    store::channels::update_webhook(
        &state.db,
        &c.id,
        plan.url.as_deref(),
        sealed.as_deref(),
        &events,
        state.now(),
    )
    .await?;
    let fresh = load(state, &c.account_id, &c.id).await?;
    Ok(Updated {
        channel: view_of(state, &fresh).await?,
        webhook_secret: plan.new_secret,
    })
}

/// The one service for webhook settings, for every door: the API passes
/// `generate_secret_if_missing = true` and max 256, the Portal false and 64.
pub async fn update_webhook_settings(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    input: &WebhookSettings,
    generate_secret_if_missing: bool,
    secret_max_len: usize,
) -> AppResult<Updated> {
    let c = load(state, account_id, channel_id).await?;
    let plan =
        plan_webhook_settings(state, &c, input, generate_secret_if_missing, secret_max_len).await?;
    apply_plan(state, &c, plan).await
}

/// *Generate random*: a new 64-hex secret replaces the old one; returned once.
pub async fn generate_secret(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
) -> AppResult<Updated> {
    set_secret(
        state,
        account_id,
        channel_id,
        random_secret(),
        domain::SECRET_MAX_LEN_API,
    )
    .await
}

/// A custom secret of 16..=`max_len` characters (API 256, Portal 64); returned once.
pub async fn set_custom_secret(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    secret: &str,
    max_len: usize,
) -> AppResult<Updated> {
    set_secret(state, account_id, channel_id, secret.to_string(), max_len).await
}

async fn set_secret(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    secret: String,
    max_len: usize,
) -> AppResult<Updated> {
    let c = load(state, account_id, channel_id).await?;
    let input = WebhookSettings {
        secret: Some(secret),
        ..Default::default()
    };
    let plan = plan_webhook_settings(state, &c, &input, false, max_len).await?;
    apply_plan(state, &c, plan).await
}

// ---- soft delete and the Meta subscription ---------------------------------

/// The asset whose `subscribed_apps` carries a channel's webhooks: the WABA
/// for WhatsApp, the Page for Facebook and Instagram.
fn subscription_asset(c: &Channel) -> Option<&str> {
    match channel_type(c) {
        ChannelType::Whatsapp => c.waba_id.as_deref(),
        _ => c.page_id.as_deref(),
    }
}

/// Installs our app on the channel's WABA or Page.
pub async fn subscribe_webhooks(state: &AppState, c: &Channel, token: &str) -> AppResult<()> {
    let Some(asset) = subscription_asset(c) else {
        return Err(AppError::Internal(format!(
            "channel {} has no WABA/Page to subscribe",
            c.id
        )));
    };
    let sub = match channel_type(c) {
        ChannelType::Whatsapp => Subscription::default(),
        _ => Subscription {
            fields: PAGE_FIELDS.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
    };
    state
        .meta
        .subscribe_app(asset, token, &sub)
        .await
        .map_err(|e| {
            super::meta_errors::to_app_error(&e, "subscribing the app to the asset's webhooks")
        })
}

/// Soft delete: `is_active=false`, history kept. The WABA/Page subscription is
/// removed only when no other active channel (of any account) still uses it,
/// since one `DELETE subscribed_apps` silences every channel on that asset.
pub async fn deactivate(state: &AppState, account_id: &str, id: &str) -> AppResult<ChannelView> {
    let c = load(state, account_id, id).await?;
    if store::channels::deactivate(&state.db, &c.id, state.now()).await? == 1 {
        release_subscription(state, &c).await;
        let data = super::account_events::channel_data(&c, Some("deactivated"));
        super::account_events::fire(state, account_id, "channel.disconnected", data).await;
    }
    let fresh = load(state, account_id, id).await?;
    view_of(state, &fresh).await
}

/// Meta answered that the channel's token is dead (error 190 and kin, SPEC
/// §3 and §5.5): the channel goes inactive with its settings kept,
/// `channel.disconnected` fires with the reason and the owner/admins get a
/// mail saying why. Idempotent: only the first call for an active channel acts.
pub async fn token_died(state: &AppState, c: &Channel, meta_detail: &str) -> AppResult<()> {
    if store::channels::deactivate(&state.db, &c.id, state.now()).await? == 0 {
        return Ok(());
    }
    tracing::warn!(channel = %c.id, detail = meta_detail, "Meta rejected the channel's token; channel deactivated");
    let mut data = super::account_events::channel_data(c, Some("token_invalid"));
    data["detail"] = serde_json::json!(meta_detail);
    super::account_events::fire(state, &c.account_id, "channel.disconnected", data).await;
    let body = format!(
        "Meta no longer accepts the access token of your {} channel \"{}\" ({meta_detail}).\n\n\
         The channel is now inactive: Switchboard cannot send or receive on it. Its webhook \
         settings are kept. Connect the same asset again to reactivate it in place:\n\n{}/channels/{}\n",
        channel_type(c).label(),
        c.name,
        state.config.base(),
        c.id
    );
    super::account_events::mail_managers(
        state,
        &c.account_id,
        &format!("Channel \"{}\" was disconnected", c.name),
        &body,
    )
    .await;
    Ok(())
}

async fn release_subscription(state: &AppState, c: &Channel) {
    let others = store::channels::others_on_subscription(
        &state.db,
        &c.id,
        c.waba_id
            .as_deref()
            .filter(|_| channel_type(c) == ChannelType::Whatsapp),
        c.page_id
            .as_deref()
            .filter(|_| channel_type(c) != ChannelType::Whatsapp),
    )
    .await;
    match others {
        Ok(0) => {}
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(channel = %c.id, error = %e, "not unsubscribing: could not count sharing channels");
            return;
        }
    }
    let (Some(asset), Ok(token)) = (subscription_asset(c), token(state, c)) else {
        return;
    };
    // The channel is inactive either way; a dead token only means Meta has
    // already stopped sending for it.
    if let Err(e) = state.meta.unsubscribe_app(asset, &token).await {
        tracing::warn!(channel = %c.id, asset, error = %e, "unsubscribing the app failed");
    }
}

// ---- connecting -------------------------------------------------------------

/// A Meta asset found by the connect flow or the manual form, ready to become a channel.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Discovered {
    pub channel_type: ChannelType,
    pub asset_id: String,
    pub name: String,
    pub phone_number: Option<String>,
    pub waba_id: Option<String>,
    pub ig_username: Option<String>,
    pub page_id: Option<String>,
    /// The token in clear; only ever stored encrypted.
    pub token: String,
    pub token_expires_at: Option<i64>,
    pub quality_rating: Option<String>,
    pub meta_app_ref: Option<String>,
    /// Shown in the picker next to the name (number, @username, Page id).
    pub detail: String,
}

/// What happened to the account's channel for the asset.
#[derive(Debug)]
pub enum Outcome {
    Created(Channel),
    Reactivated(Channel),
    AlreadyActive(Channel),
}

impl Outcome {
    pub fn channel(&self) -> &Channel {
        match self {
            Outcome::Created(c) | Outcome::Reactivated(c) | Outcome::AlreadyActive(c) => c,
        }
    }
}

fn elsewhere() -> AppError {
    AppError::bad_request(
        "already_connected_elsewhere",
        "this Meta asset is already connected to another Switchboard account; disconnect it there first",
    )
}

/// The checks before touching Meta: one asset ↔ one account, then a license
/// slot unless the account's channel for the asset is already active. Early
/// answers only: [`connect`] decides again, atomically, after Meta.
pub async fn check_connectable(
    state: &AppState,
    account_id: &str,
    d: &Discovered,
) -> AppResult<()> {
    let t = d.channel_type.as_str();
    match store::channels::active_holder(&state.db.pool, t, &d.asset_id).await? {
        Some(holder) if holder != account_id => Err(elsewhere()),
        Some(_) => Ok(()),
        None => licenses::require_slot(state, account_id, d.channel_type).await,
    }
}

/// Subscribes the app and creates, reactivates (same id, same webhook
/// settings) or refreshes the account's channel for `d`.
///
/// Racing connects: the channel becomes active in one short transaction that
/// first takes a license slot under the account lock
/// ([`licenses::take_slot`]), so an account never holds more active channels
/// of a type than it has licenses; another account's active channel for the
/// same asset is refused by the partial unique index `channels_active_asset`.
pub async fn connect(state: &AppState, account_id: &str, d: &Discovered) -> AppResult<Outcome> {
    check_connectable(state, account_id, d).await?;
    let now = state.now();
    let existing = store::channels::for_asset(
        &state.db.pool,
        account_id,
        d.channel_type.as_str(),
        &d.asset_id,
    )
    .await?;
    let c = Channel {
        phone_number: d.phone_number.clone(),
        waba_id: d.waba_id.clone(),
        ig_username: d.ig_username.clone(),
        page_id: d.page_id.clone(),
        token_expires_at: d.token_expires_at,
        meta_app_ref: d.meta_app_ref.clone(),
        quality_rating: d.quality_rating.clone(),
        ..Channel::connected(store::channels::NewChannel {
            id: existing
                .as_ref()
                .map(|e| e.id.clone())
                .unwrap_or_else(|| crypto::random_hex(8)),
            account_id: account_id.to_string(),
            channel_type: d.channel_type.as_str().to_string(),
            asset_id: d.asset_id.clone(),
            name: d.name.clone(),
            access_token: state.cipher.encrypt(d.token.as_bytes()),
            connected_at: now,
        })
    };
    subscribe_webhooks(state, &c, &d.token).await?;
    // Read before the transaction: reading the licenses may renew one (a write).
    let slots = licenses::entitlement(state, account_id).await?.licenses;
    let outcome = activate(state, c, d.channel_type, slots, now).await?;
    let fresh = load(state, account_id, &outcome.channel().id).await?;
    if !matches!(outcome, Outcome::AlreadyActive(_)) {
        let data = super::account_events::channel_data(&fresh, None);
        super::account_events::fire(state, account_id, "channel.connected", data).await;
    }
    // A new number cannot send until it is registered on Cloud API (SPEC §13).
    super::registration::at_connect(state, &fresh).await;
    Ok(match outcome {
        Outcome::Created(_) => Outcome::Created(fresh),
        Outcome::Reactivated(_) => Outcome::Reactivated(fresh),
        Outcome::AlreadyActive(_) => Outcome::AlreadyActive(fresh),
    })
}

/// The write of [`connect`], in one transaction: the account's channel for
/// the asset as it is now (read under the lock, not before it), then a
/// refresh of an active one, or a slot and the insert or reactivation.
async fn activate(
    state: &AppState,
    mut c: Channel,
    t: ChannelType,
    slots: i64,
    now: i64,
) -> AppResult<Outcome> {
    let _turn = state.db.write_turn().await;
    let mut tx = state.db.begin().await?;
    // The lock comes first so that the read below sees every connect of this
    // account that finished before it.
    if !store::locks::account(&mut tx, &c.account_id).await? {
        return Err(AppError::not_found("account"));
    }
    let existing =
        store::channels::for_asset(&mut *tx, &c.account_id, t.as_str(), &c.asset_id).await?;
    if let Some(e) = &existing {
        // A racing connect of the same asset in this account may have
        // created the row since `connect` looked: that row is the channel.
        c.id = e.id.clone();
    }
    let outcome = match existing {
        Some(e) if e.is_active => {
            store::channels::refresh_connection(&mut tx, &c, false, now).await?;
            Outcome::AlreadyActive(e)
        }
        existing => {
            if let Some(holder) =
                store::channels::active_holder(&mut *tx, t.as_str(), &c.asset_id).await?
                && holder != c.account_id
            {
                return Err(elsewhere());
            }
            licenses::take_slot(&mut tx, &c.account_id, t, slots).await?;
            // Another account's connect of the same asset may commit between
            // the look above and this write: the partial unique index
            // `channels_active_asset` refuses the second one.
            if existing.is_some() {
                store::channels::refresh_connection(&mut tx, &c, true, now)
                    .await
                    .map_err(taken_elsewhere)?;
                Outcome::Reactivated(c.clone())
            } else {
                store::channels::insert(&mut tx, &c)
                    .await
                    .map_err(taken_elsewhere)?;
                Outcome::Created(c.clone())
            }
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

fn taken_elsewhere(e: sqlx::Error) -> AppError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => elsewhere(),
        _ => e.into(),
    }
}
