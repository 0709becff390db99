//! Manual WhatsApp connection with the customer's own Meta app (SPEC §3.4),
//! and number registration with the two-step PIN.

use crate::crypto;
use crate::domain::{ChannelType, ChannelView};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{self, meta_apps::MetaApp};

use super::channels::{self, Discovered, Outcome};
use super::meta_errors::to_app_error;

#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualInput {
    /// Only `whatsapp` can be connected by hand.
    pub channel_type: String,
    pub waba_id: String,
    /// A permanent system-user token of your app.
    pub access_token: String,
    /// Your app's secret, to verify Meta's signatures on `/webhooks/meta/apps/{meta_app_id}`.
    pub app_secret: String,
    /// The verify token you enter in your app's webhook settings.
    pub verify_token: String,
    /// The number to connect, any formatting (digits are compared).
    pub phone_number: String,
    /// Your app's id; read from the token when omitted.
    #[serde(default)]
    pub meta_app_id: Option<String>,
}

fn required(name: &str, v: &str) -> AppResult<String> {
    let v = v.trim();
    if v.is_empty() {
        return Err(AppError::validation(format!("{name} is required")));
    }
    if v.len() > 1024 {
        return Err(AppError::validation(format!("{name} is too long")));
    }
    Ok(v.to_string())
}

fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

/// The Meta app a manual connection goes through (SPEC §14): never the
/// installation's own app (its webhooks are routed by asset and would reach
/// other tenants' channels), and, when Meta says which app issued the token,
/// that app. A payload signed with a secret is only trusted for channels
/// connected through that secret's row, so the id only has to be honest,
/// not secret.
async fn app_of_token(state: &AppState, token: &str, given: Option<&str>) -> AppResult<String> {
    let given = match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) if id.len() <= 32 && id.chars().all(|c| c.is_ascii_digit()) => Some(id),
        Some(_) => return Err(AppError::validation("meta_app_id must be numeric")),
        None => None,
    };
    let inspected = state.meta.debug_own_token(token).await;
    let named = inspected
        .as_ref()
        .ok()
        .and_then(|d| d.app_id.clone())
        .filter(|id| !id.is_empty());
    let id = match (given, named, inspected) {
        (Some(g), Some(n), _) if g != n => {
            return Err(AppError::bad_request(
                "meta_app_mismatch",
                format!(
                    "meta_app_id {g} does not match the app that issued the access token ({n})"
                ),
            ));
        }
        (_, Some(n), _) => n,
        (Some(g), None, _) => g.to_string(),
        (None, None, Err(e)) => {
            return Err(to_app_error(
                &e,
                "inspecting the access token (debug_token)",
            ));
        }
        (None, None, Ok(_)) => {
            return Err(AppError::validation(
                "meta_app_id: Meta did not say which app the token belongs to; pass meta_app_id",
            ));
        }
    };
    if state.config.meta_app_id.as_deref() == Some(id.as_str()) {
        return Err(AppError::bad_request(
            "meta_app_reserved",
            format!(
                "app {id} is this installation's own Meta app; connect through the setup flow, or use a token of your own app"
            ),
        ));
    }
    Ok(id)
}

/// The app secret must be the app's: Meta answers `debug_token` called with
/// the app access token only then. A wrong secret would make every webhook of
/// the channel fail its signature check, and rows with made-up secrets for a
/// real app id would make each forged POST cost one HMAC more. When Meta
/// cannot be reached the secret is taken as given (it still vouches only for
/// this account's channels).
async fn check_app_secret(
    state: &AppState,
    app_id: &str,
    app_secret: &str,
    token: &str,
) -> AppResult<()> {
    match state
        .meta
        .debug_token_as_app(app_id, app_secret, token)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.class() == crate::meta::ErrorClass::Transient => Ok(()),
        Err(e) => Err(AppError::bad_request(
            "meta_app_secret_invalid",
            format!(
                "app_secret is not the secret of Meta app {app_id} (Meta: {}); copy it from App settings → Basic",
                e.graph()
                    .map(|g| g.message.clone())
                    .unwrap_or_else(|| e.to_string())
            ),
        )),
    }
}

/// The result, with the path Meta must call for this app.
pub struct ManualConnected {
    pub channel: ChannelView,
    pub webhook_path: String,
    pub created: bool,
}

pub async fn connect(
    state: &AppState,
    account_id: &str,
    input: &ManualInput,
) -> AppResult<ManualConnected> {
    if ChannelType::parse(&input.channel_type) != Some(ChannelType::Whatsapp) {
        return Err(AppError::bad_request(
            "not_supported",
            "manual connection is available for channel_type whatsapp only; connect Instagram and Facebook with the setup flow",
        ));
    }
    let waba_id = required("waba_id", &input.waba_id)?;
    if !waba_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::validation(
            "waba_id must be Meta's numeric WABA id",
        ));
    }
    let token = required("access_token", &input.access_token)?;
    let app_secret = required("app_secret", &input.app_secret)?;
    let verify_token = required("verify_token", &input.verify_token)?;
    let wanted = digits(&required("phone_number", &input.phone_number)?);
    if wanted.len() < 6 {
        return Err(AppError::validation(
            "phone_number must contain the number's digits",
        ));
    }
    let meta_app_id = app_of_token(state, &token, input.meta_app_id.as_deref()).await?;
    check_app_secret(state, &meta_app_id, &app_secret, &token).await?;
    let phones = state
        .meta
        .phone_numbers(&waba_id, &token)
        .await
        .map_err(|e| to_app_error(&e, &format!("listing the phone numbers of WABA {waba_id}")))?;
    let Some(phone) = phones.iter().find(|p| p.digits() == wanted) else {
        let have: Vec<String> = phones
            .iter()
            .map(|p| p.display_phone_number.clone())
            .collect();
        return Err(AppError::bad_request(
            "phone_number_not_found",
            format!(
                "WABA {waba_id} has no number {wanted}; its numbers are: {}",
                if have.is_empty() {
                    "(none)".to_string()
                } else {
                    have.join(", ")
                }
            ),
        ));
    };
    let app = MetaApp {
        id: super::new_id(),
        account_id: account_id.to_string(),
        meta_app_id: meta_app_id.clone(),
        app_secret: state.cipher.encrypt(app_secret.as_bytes()),
        verify_token: state.cipher.encrypt(verify_token.as_bytes()),
        verify_token_hash: crypto::sha256_hex(&verify_token),
    };
    // The channel row refers to the app row, so a new row goes in first and
    // comes out again when the connect fails; an existing row of the account
    // keeps its secret until the connect succeeds. Either way a failed
    // connect leaves nothing behind.
    let existing = store::meta_apps::of_account(&state.db, account_id, &meta_app_id).await?;
    let app_ref = match &existing {
        Some(id) => id.clone(),
        None => store::meta_apps::insert(&state.db, &app, state.now()).await?,
    };
    let d = Discovered {
        channel_type: ChannelType::Whatsapp,
        asset_id: phone.id.clone(),
        name: phone
            .verified_name
            .clone()
            .unwrap_or_else(|| phone.display_phone_number.clone()),
        phone_number: Some(phone.digits()),
        waba_id: Some(waba_id),
        ig_username: None,
        page_id: None,
        token,
        token_expires_at: None,
        quality_rating: phone.quality_rating.clone(),
        meta_app_ref: Some(app_ref.clone()),
        detail: phone.display_phone_number.clone(),
    };
    let outcome = match channels::connect(state, account_id, &d).await {
        Ok(o) => o,
        Err(e) => {
            if existing.is_none() {
                store::meta_apps::delete_unused(&state.db, &app_ref).await?;
            }
            return Err(e);
        }
    };
    if existing.is_some() {
        store::meta_apps::update_secrets(&state.db, &app_ref, &app, state.now()).await?;
    }
    Ok(ManualConnected {
        created: matches!(outcome, Outcome::Created(_)),
        channel: channels::view_of(state, outcome.channel()).await?,
        webhook_path: format!("/webhooks/meta/apps/{meta_app_id}"),
    })
}

/// `POST /api/v1/channels/{id}/register {"pin"}`: activates the number on Cloud API.
pub async fn register(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    pin: &str,
) -> AppResult<ChannelView> {
    let c = channels::load(state, account_id, channel_id).await?;
    if channels::channel_type(&c) != ChannelType::Whatsapp {
        return Err(AppError::bad_request(
            "not_supported",
            "only WhatsApp numbers are registered",
        ));
    }
    if !c.is_active {
        return Err(AppError::bad_request(
            "channel_inactive",
            "the channel is inactive; reconnect it first",
        ));
    }
    let pin = pin.trim();
    if pin.len() != 6 || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::validation(
            "pin must be the 6-digit two-step verification PIN",
        ));
    }
    super::registration::register_with_pin(state, &c, pin).await?;
    channels::view_of(state, &c).await
}
