//! Channel health (SPEC §3.5): what works right now and why not. Results are
//! kept on the channel row for 60 s (shared by every server process), since
//! each check costs Graph calls that count against Meta's rate limits.

use serde::{Deserialize, Serialize};

use crate::clock::rfc3339;
use crate::domain::ChannelType;
use crate::error::AppResult;
use crate::meta::ErrorClass;
use crate::meta::types::PhoneNumber;
use crate::state::AppState;
use crate::store::{self, channels::Channel};

use super::channels;
use super::licenses;

pub const CACHE_MS: i64 = 60_000;

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Capabilities {
    pub can_send_messages: bool,
    pub can_receive_messages: bool,
    pub can_send_templates: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    pub channel_id: String,
    pub checked_at: String,
    pub capabilities: Capabilities,
    pub checks: Vec<Check>,
}

fn check(name: &str, ok: bool, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        ok,
        detail: detail.into(),
    }
}

pub async fn health(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    refresh: bool,
) -> AppResult<Health> {
    let c = channels::load(state, account_id, channel_id).await?;
    if !refresh
        && let (Some(json), Some(at)) = (&c.health, c.health_checked_at)
        && state.now() - at < CACHE_MS
        && let Ok(h) = serde_json::from_str::<Health>(json)
    {
        return Ok(h);
    }
    let (h, quality) = compute(state, &c).await?;
    let json = serde_json::to_string(&h).unwrap_or_default();
    store::channels::set_health(&state.db, &c.id, &json, quality.as_deref(), state.now()).await?;
    Ok(h)
}

async fn compute(state: &AppState, c: &Channel) -> AppResult<(Health, Option<String>)> {
    let t = channels::channel_type(c);
    let mut checks = vec![check(
        "active",
        c.is_active,
        if c.is_active {
            "the channel is active"
        } else {
            "the channel is inactive; reconnect it"
        },
    )];
    let ent = licenses::entitlement(state, &c.account_id).await?;
    // The channel's own license: an account can have licenses while this
    // channel (connected after they ran out) holds none.
    let licensed = ent.covers(&c.id);
    let sub = ent.view_for(&c.id, c.is_active);
    checks.push(check(
        "license",
        licensed,
        format!(
            "subscription {} ({})",
            sub.status,
            sub.source.unwrap_or_else(|| "none".into())
        ),
    ));
    let token = channels::token(state, c)?;
    // A cheap read with the channel's own token works for our app and for
    // customers' own apps alike (debug_token would need their app token).
    let token_ok = match state
        .meta
        .subscribed_apps(subscription_asset(c), &token)
        .await
    {
        Ok(apps) => {
            let own = own_app_id(state, c).await?;
            let subscribed = apps.iter().any(|a| a.app_id() == Some(own.as_str()));
            checks.push(check("token_valid", true, "Meta accepted the token"));
            checks.push(check(
                "webhook_subscribed",
                subscribed,
                if subscribed {
                    format!("app {own} is in the asset's subscribed_apps")
                } else {
                    format!(
                        "app {own} is not subscribed to the asset's webhooks; reconnect the channel"
                    )
                },
            ));
            true
        }
        Err(e) => {
            let dead = e.class() == ErrorClass::TokenDead;
            checks.push(check(
                "token_valid",
                !dead,
                if dead {
                    format!("Meta rejected the token: {e}")
                } else {
                    format!("could not check: {e}")
                },
            ));
            checks.push(check(
                "webhook_subscribed",
                false,
                format!("could not check: {e}"),
            ));
            !dead
        }
    };
    let mut quality = None;
    let mut registered = true;
    if t == ChannelType::Whatsapp {
        let waba = c.waba_id.clone().unwrap_or_default();
        match state.meta.phone_numbers(&waba, &token).await {
            Ok(list) => match list.into_iter().find(|p| p.id == c.asset_id) {
                Some(p) => {
                    registered = super::registration::is_registered(&p);
                    checks.push(check(
                        "phone_registered",
                        registered,
                        registration_detail(&p, registered, &c.id),
                    ));
                    let q = p.quality_rating.clone().unwrap_or_else(|| "UNKNOWN".into());
                    checks.push(check("quality_rating", q != "RED", q.clone()));
                    quality = Some(q);
                    let tier = p
                        .messaging_limit_tier
                        .clone()
                        .unwrap_or_else(|| "unknown".into());
                    checks.push(check("messaging_limit", true, tier));
                }
                None => {
                    registered = false;
                    checks.push(check(
                        "phone_registered",
                        false,
                        "the number is no longer in its WABA",
                    ));
                }
            },
            Err(e) => {
                registered = false;
                checks.push(check(
                    "phone_registered",
                    false,
                    format!("could not check: {e}"),
                ));
            }
        }
    }
    let can_send = c.is_active && licensed && token_ok && registered;
    let receives = checks
        .iter()
        .any(|k| k.name == "webhook_subscribed" && k.ok);
    let h = Health {
        channel_id: c.id.clone(),
        checked_at: rfc3339(state.now()),
        capabilities: Capabilities {
            can_send_messages: can_send,
            can_receive_messages: c.is_active && token_ok && receives,
            can_send_templates: can_send && t == ChannelType::Whatsapp,
        },
        checks,
    };
    Ok((h, quality))
}

/// Why the number can or cannot send, and how to fix it. A number with a
/// two-step PIN that is not registered is the 133005 case of SPEC §13: the
/// PIN Switchboard chose at connect was refused because the number already
/// had another one, so only its owner's PIN registers it.
fn registration_detail(p: &PhoneNumber, registered: bool, channel_id: &str) -> String {
    let register = format!(
        "POST /api/v1/channels/{channel_id}/register with it, or use the Register card in the Portal"
    );
    if registered {
        "the number is registered on Cloud API".to_string()
    } else if p.is_pin_enabled == Some(true) {
        format!(
            "the number is not registered: it already has a two-step verification PIN (Meta error {}, PIN mismatch, when Switchboard registered it at connect). Register it with that PIN: {register}. Forgot the PIN? Change it in WhatsApp Manager first",
            super::registration::PIN_MISMATCH
        )
    } else {
        format!(
            "the number is not registered on Cloud API; choose a 6-digit two-step verification PIN and {register}"
        )
    }
}

fn subscription_asset(c: &Channel) -> &str {
    match channels::channel_type(c) {
        ChannelType::Whatsapp => c.waba_id.as_deref().unwrap_or_default(),
        _ => c.page_id.as_deref().unwrap_or_default(),
    }
}

/// The app whose subscription matters: Switchboard's, or the customer's own.
async fn own_app_id(state: &AppState, c: &Channel) -> AppResult<String> {
    if let Some(r) = &c.meta_app_ref
        && let Some(id) = store::meta_apps::meta_app_id(&state.db, r).await?
    {
        return Ok(id);
    }
    Ok(state.config.meta_app_id.clone().unwrap_or_default())
}
