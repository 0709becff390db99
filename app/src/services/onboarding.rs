//! Onboarding links (SPEC §6): a hosted sign-up page per link that runs the
//! same connect flow as the API door ([`super::connect`]) and, at its end,
//! creates or reactivates the channel with the link's webhook settings, marks
//! the link completed, fires `phone_number.connected` (WhatsApp) and sends
//! the end user to the link's `redirect_url`.
//!
//! The hosted pages in [`crate::hosted::onboarding`] only render what this
//! module decides.

use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::clock::{DAY_MS, rfc3339};
use crate::domain::billing::Tier;
use crate::domain::onboarding::{
    BrandingView, LOGO_MAX_BYTES, LOGO_TYPES, OnboardingLinkList, OnboardingLinkView, sniff_image,
};
use crate::domain::{self, ChannelType, Me, SECRET_MAX_LEN_API};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{
    self,
    onboarding::{Completion, Logo, OnboardingLink},
};

use super::channels::{self, Discovered, Outcome, WebhookSettings};
use super::connect::{self, Finish, Step};
use super::licenses;

/// Links work for 30 days unless `expires_in_days` says otherwise.
pub const DEFAULT_EXPIRY_DAYS: i64 = 30;
pub const MAX_EXPIRY_DAYS: i64 = 365;
pub const MAX_NAME_LEN: usize = 120;
pub const MAX_EXTERNAL_ID_LEN: usize = 255;
/// Page size bounds of the list.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

/// `POST /api/v1/onboarding-links`.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    /// Shown to the end user on the hosted page (1–120 characters).
    pub name: String,
    /// Your own reference (customer id, …), echoed in events and redirects.
    #[serde(default)]
    pub external_id: Option<String>,
    /// `whatsapp` (default), `instagram` or `facebook`.
    #[serde(default)]
    pub channel_type: Option<String>,
    /// Where the end user lands afterwards; must match one of the account's
    /// redirect URIs.
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// Webhook URL of the channel the link creates.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// 16–256 characters; generated (64 hex) when `webhook_url` is given without it.
    #[serde(default)]
    pub webhook_secret: Option<String>,
    /// Required with `webhook_url`: events valid for the channel type.
    #[serde(default)]
    pub webhook_events: Option<Vec<String>>,
    /// 1–365, default 30.
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

fn link_not_found() -> AppError {
    AppError::not_found("onboarding link")
}

pub fn hosted_url(state: &AppState, id: &str) -> String {
    format!("{}/signup/{id}", state.config.base())
}

/// How long a hosted flow may hold a link while it connects (a few Graph
/// calls, 30 s timeout each). A hold older than this was left by a process
/// that stopped mid-connect; the link is pending again.
pub const HOLD_MS: i64 = 5 * 60 * 1000;

/// True while a running flow holds the link.
fn held(l: &OnboardingLink, now: i64) -> bool {
    l.status == "completing" && l.claimed_at.is_some_and(|t| t >= now - HOLD_MS)
}

/// What a link reports: a pending link past its expiry is `expired`; one held
/// by a running flow still reads `pending`.
pub fn status_of(l: &OnboardingLink, now: i64) -> &'static str {
    match l.status.as_str() {
        "completed" => "completed",
        _ if l.expires_at <= now => "expired",
        _ => "pending",
    }
}

pub fn view(state: &AppState, l: &OnboardingLink, now: i64) -> OnboardingLinkView {
    OnboardingLinkView {
        id: l.id.clone(),
        name: l.name.clone(),
        status: status_of(l, now).to_string(),
        external_id: l.external_id.clone(),
        channel_type: ChannelType::parse(&l.channel_type).unwrap_or(ChannelType::Whatsapp),
        redirect_url: l.redirect_url.clone(),
        hosted_url: hosted_url(state, &l.id),
        channel_id: l.channel_id.clone(),
        phone_number_id: l.phone_number_id.clone(),
        phone_number: l.phone_number.clone(),
        waba_id: l.waba_id.clone(),
        is_phone_registered: l.is_phone_registered,
        webhook_url: l.webhook_url.clone(),
        webhook_events: l
            .webhook_events
            .as_deref()
            .and_then(|e| serde_json::from_str(e).ok()),
        created_at: rfc3339(l.created_at),
        completed_at: l.completed_at.map(rfc3339),
        expires_at: rfc3339(l.expires_at),
        webhook_secret: None,
    }
}

fn trimmed(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Creates a link (pro tier). `secret_max_len`: 256 through the API, the
/// Portal's custom-secret rule (64) there. The answer carries the webhook
/// secret, once.
pub async fn create(
    state: &AppState,
    account_id: &str,
    input: NewLink,
    secret_max_len: usize,
) -> AppResult<OnboardingLinkView> {
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(AppError::validation(format!(
            "name must be 1 to {MAX_NAME_LEN} characters"
        )));
    }
    let external_id = trimmed(input.external_id);
    if external_id
        .as_ref()
        .is_some_and(|e| e.chars().count() > MAX_EXTERNAL_ID_LEN)
    {
        return Err(AppError::validation(format!(
            "external_id must be at most {MAX_EXTERNAL_ID_LEN} characters"
        )));
    }
    let t = match trimmed(input.channel_type) {
        None => ChannelType::Whatsapp,
        Some(raw) => ChannelType::parse(&raw).ok_or_else(|| {
            AppError::validation("channel_type must be one of whatsapp, instagram, facebook")
        })?,
    };
    let days = input.expires_in_days.unwrap_or(DEFAULT_EXPIRY_DAYS);
    if !(1..=MAX_EXPIRY_DAYS).contains(&days) {
        return Err(AppError::validation(format!(
            "expires_in_days must be between 1 and {MAX_EXPIRY_DAYS}"
        )));
    }
    let webhook_url = trimmed(input.webhook_url);
    let secret = input.webhook_secret.filter(|s| !s.is_empty());
    let events = match (&webhook_url, input.webhook_events) {
        (Some(_), None) => {
            return Err(AppError::validation(
                "webhook_events is required with webhook_url (use [] to deliver nothing yet)",
            ));
        }
        (None, Some(_)) => {
            return Err(AppError::validation(
                "webhook_events needs webhook_url: without a URL nothing can be delivered",
            ));
        }
        (_, events) => events,
    };
    if webhook_url.is_none() && secret.is_some() {
        return Err(AppError::validation(
            "webhook_secret needs webhook_url: it signs the deliveries to that URL",
        ));
    }
    let redirect_url = trimmed(input.redirect_url);
    if let Some(r) = &redirect_url {
        super::redirects::require_allowed(state, account_id, r).await?;
    }
    let events = match events {
        Some(list) => Some(
            domain::validate_events(t, &list)
                .map_err(|e| AppError::bad_request("invalid_event", e))?,
        ),
        None => None,
    };
    if let Some(s) = &secret {
        domain::validate_secret(s, secret_max_len)
            .map_err(|e| AppError::bad_request("invalid_webhook_secret", e))?;
    }
    if let Some(u) = &webhook_url {
        super::webhook_target::check(&state.config, u).await?;
    }
    // Input first, plan last: a typo is reported even without the tier.
    licenses::require_tier(state, account_id, Tier::Pro).await?;
    let secret = match (&webhook_url, secret) {
        (Some(_), None) => Some(channels::random_secret()),
        (_, s) => s,
    };
    let now = state.now();
    let link = OnboardingLink {
        id: uuid::Uuid::new_v4().to_string(),
        account_id: account_id.to_string(),
        name,
        external_id,
        channel_type: t.as_str().to_string(),
        redirect_url,
        webhook_url,
        webhook_secret: secret
            .as_deref()
            .map(|s| state.cipher.encrypt(s.as_bytes())),
        webhook_events: events
            .as_ref()
            .map(|e| serde_json::to_string(e).unwrap_or_else(|_| "[]".into())),
        status: "pending".into(),
        channel_id: None,
        phone_number_id: None,
        phone_number: None,
        waba_id: None,
        is_phone_registered: None,
        created_at: now,
        completed_at: None,
        claimed_at: None,
        expires_at: now + days * DAY_MS,
    };
    store::onboarding::insert(&state.db, &link).await?;
    let mut v = view(state, &link, now);
    v.webhook_secret = secret;
    Ok(v)
}

pub async fn get(state: &AppState, account_id: &str, id: &str) -> AppResult<OnboardingLinkView> {
    let l = store::onboarding::get(&state.db, account_id, id)
        .await?
        .ok_or_else(link_not_found)?;
    Ok(view(state, &l, state.now()))
}

/// Newest first, `page` from 1, `limit` 1–100.
pub async fn list(
    state: &AppState,
    account_id: &str,
    page: i64,
    limit: i64,
) -> AppResult<OnboardingLinkList> {
    if page < 1 {
        return Err(AppError::validation("page must be 1 or more"));
    }
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::validation(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let offset = (page - 1).saturating_mul(limit);
    let rows = store::onboarding::list(&state.db, account_id, limit, offset).await?;
    let total = store::onboarding::count(&state.db, account_id).await?;
    let now = state.now();
    Ok(OnboardingLinkList {
        onboarding_links: rows.iter().map(|l| view(state, l, now)).collect(),
        total,
        page,
        limit,
    })
}

/// Only a pending link can be deleted; a completed or expired one stays as
/// the record of what happened (409 `link_not_pending`).
pub async fn delete(state: &AppState, account_id: &str, id: &str) -> AppResult<()> {
    let now = state.now();
    if store::onboarding::delete_pending(&state.db, account_id, id, now, now - HOLD_MS).await? == 1
    {
        return Ok(());
    }
    match store::onboarding::get(&state.db, account_id, id).await? {
        None => Err(link_not_found()),
        Some(l) => Err(AppError::conflict(
            "link_not_pending",
            match status_of(&l, now) {
                "expired" => "the link has expired; only pending links can be deleted".to_string(),
                "completed" => "the link was completed; only pending links can be deleted".to_string(),
                _ => "an end user is completing the link right now; only pending links can be deleted"
                    .to_string(),
            },
        )),
    }
}

// ---- the hosted page ---------------------------------------------------------

/// What the hosted page shows for a link id.
pub enum Page {
    Missing,
    /// The account's plan no longer includes onboarding links.
    Unavailable(Hosted),
    Expired(Hosted),
    Completed(Hosted),
    /// Someone is completing it right now.
    Busy(Hosted),
    Open(Hosted),
}

/// A link with what the page shows about its account.
pub struct Hosted {
    pub link: OnboardingLink,
    pub account_name: String,
    /// Path of the account's logo (with a version), when it has one.
    pub logo_path: Option<String>,
}

pub async fn page(state: &AppState, id: &str) -> AppResult<Page> {
    let Some(link) = find(state, id).await? else {
        return Ok(Page::Missing);
    };
    let Some(account) = store::accounts::account(&state.db, &link.account_id).await? else {
        return Ok(Page::Missing);
    };
    let logo_path = store::onboarding::logo_sha(&state.db, &link.account_id)
        .await?
        .map(|sha| logo_path(&link.account_id, &sha));
    let now = state.now();
    let status = status_of(&link, now);
    let busy = held(&link, now);
    let h = Hosted {
        link,
        account_name: account.name,
        logo_path,
    };
    Ok(match status {
        "completed" => Page::Completed(h),
        "expired" => Page::Expired(h),
        _ if busy => Page::Busy(h),
        _ if !licenses::entitlement(state, &h.link.account_id)
            .await?
            .allows(Tier::Pro) =>
        {
            Page::Unavailable(h)
        }
        _ => Page::Open(h),
    })
}

/// Link ids are UUIDs; anything else is not looked up.
async fn find(state: &AppState, id: &str) -> AppResult<Option<OnboardingLink>> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Ok(None);
    }
    Ok(store::onboarding::get_any(&state.db, id).await?)
}

/// *Continue* on the hosted page: a setup session tied to the link, then the
/// same start as the API flow (OAuth state, cookie, Meta's dialog). `Err`
/// carries the page to show instead when the link cannot be used.
pub async fn begin(state: &AppState, id: &str) -> AppResult<Result<Step, Page>> {
    let p = page(state, id).await?;
    let Page::Open(h) = p else {
        return Ok(Err(p));
    };
    let t = ChannelType::parse(&h.link.channel_type).unwrap_or(ChannelType::Whatsapp);
    let session = connect::create_onboarding_session(
        state,
        &h.link.account_id,
        t,
        &h.link.id,
        &hosted_url(state, &h.link.id),
    )
    .await?;
    connect::start(state, &session).await.map(Ok)
}

/// The end of a link's connect flow, after the user chose the asset: claims
/// the link, connects (create or reactivate), applies the link's webhook
/// settings, records the asset and fires `phone_number.connected`. Never an
/// `Err` for what the end user can be told about.
pub async fn finish(state: &AppState, link_id: &str, d: &Discovered) -> AppResult<Finish> {
    let Some(link) = store::onboarding::get_any(&state.db, link_id).await? else {
        return Ok(Finish::Failed(
            "This onboarding link no longer exists.".into(),
        ));
    };
    let now = state.now();
    // One conditional UPDATE: of racing flows exactly one gets the hold.
    let Some(hold) = store::onboarding::claim(&state.db, link_id, now, now - HOLD_MS).await? else {
        let fresh = store::onboarding::get_any(&state.db, link_id).await?;
        let why = match fresh.as_ref().map(|l| status_of(l, state.now())) {
            Some("completed") => "This link was already used.",
            Some("expired") => "This link has expired.",
            None => "This onboarding link no longer exists.",
            _ => "This link is being completed in another window.",
        };
        return Ok(Finish::Failed(why.into()));
    };
    if let Err(e) = licenses::require_tier(state, &link.account_id, Tier::Pro).await {
        store::onboarding::release(&state.db, link_id, hold).await?;
        tracing::info!(link = link_id, detail = %e.public_detail(), "onboarding link used without the pro tier");
        return Ok(Finish::Failed(
            "This link is not available right now. Please contact the business that sent it."
                .into(),
        ));
    }
    let outcome = match channels::connect(state, &link.account_id, d).await {
        Ok(o) => o,
        Err(e) => {
            store::onboarding::release(&state.db, link_id, hold).await?;
            return Ok(Finish::Failed(e.public_detail()));
        }
    };
    let c = outcome.channel().clone();
    // §10: a reactivated channel takes the link's settings instead of its old
    // ones; an asset already active in the account stays unchanged.
    if link.webhook_url.is_some() && !matches!(outcome, Outcome::AlreadyActive(_)) {
        apply_settings(state, &link, &c).await;
    }
    let t = channels::channel_type(&c);
    let wa = t == ChannelType::Whatsapp;
    let registered = if wa {
        Some(phone_registered(state, &c).await)
    } else {
        None
    };
    let done = Completion {
        channel_id: c.id.clone(),
        phone_number_id: wa.then(|| c.asset_id.clone()),
        phone_number: c.phone_number.clone().filter(|_| wa),
        waba_id: c.waba_id.clone().filter(|_| wa),
        is_phone_registered: registered,
    };
    if !store::onboarding::complete(&state.db, link_id, hold, &done, state.now()).await? {
        // This flow outlived its hold and another one took the link: that
        // one completes it; the link's event fires once.
        tracing::warn!(link = link_id, channel = %c.id, "onboarding link was taken over while this flow connected");
        return Ok(Finish::Failed(
            "This link was completed in another window.".into(),
        ));
    }
    if wa {
        let data = json!({
            "onboarding_link_id": link.id,
            "external_id": link.external_id,
            "channel_id": done.channel_id,
            "phone_number_id": done.phone_number_id,
            "phone_number": done.phone_number,
            "waba_id": done.waba_id,
            "is_phone_registered": done.is_phone_registered.unwrap_or(false),
        });
        super::account_events::fire(state, &link.account_id, "phone_number.connected", data).await;
    }
    Ok(Finish::Linked)
}

async fn apply_settings(state: &AppState, link: &OnboardingLink, c: &store::channels::Channel) {
    let secret = match link
        .webhook_secret
        .as_deref()
        .map(|s| state.cipher.decrypt(s))
    {
        Some(Ok(b)) => String::from_utf8(b).ok(),
        Some(Err(e)) => {
            tracing::error!(link = %link.id, error = %e, "onboarding link secret does not decrypt");
            None
        }
        None => None,
    };
    let settings = WebhookSettings {
        url: Some(link.webhook_url.clone()),
        secret,
        events: Some(
            link.webhook_events
                .as_deref()
                .and_then(|e| serde_json::from_str(e).ok())
                .unwrap_or_default(),
        ),
    };
    let applied =
        match channels::plan_webhook_settings(state, c, &settings, false, SECRET_MAX_LEN_API).await
        {
            Ok(plan) => channels::apply_plan(state, c, plan).await.map(|_| ()),
            Err(e) => Err(e),
        };
    if let Err(e) = applied {
        // The channel is connected either way; the customer sees the missing
        // settings on it and can set them by API or in the Portal.
        tracing::warn!(link = %link.id, channel = %c.id, detail = %e.public_detail(), "onboarding link's webhook settings were not applied");
    }
}

/// Registered on Cloud API, by the same rule as the health check.
async fn phone_registered(state: &AppState, c: &store::channels::Channel) -> bool {
    let (Some(waba), Ok(token)) = (c.waba_id.as_deref(), channels::token(state, c)) else {
        return false;
    };
    match state.meta.phone_numbers(waba, &token).await {
        Ok(list) => list.iter().any(|p| {
            p.id == c.asset_id
                && (p.platform_type.as_deref() == Some("CLOUD_API")
                    || p.status.as_deref() == Some("CONNECTED"))
        }),
        Err(e) => {
            tracing::warn!(channel = %c.id, error = %e, "could not read the number's registration");
            false
        }
    }
}

/// Where the end user goes when a link's flow ends: the link's `redirect_url`
/// with `onboarding_link_id`, `external_id` and `status=success|error`
/// (+ `error`), or, without one, the hosted page itself.
pub async fn conclude(state: &AppState, link_id: &str, f: &Finish) -> AppResult<Step> {
    let Some(link) = store::onboarding::get_any(&state.db, link_id).await? else {
        return Ok(Step::Dead("This onboarding link no longer exists.".into()));
    };
    let error = match f {
        Finish::Linked => None,
        Finish::Denied => Some("The connection was cancelled.".to_string()),
        Finish::Failed(m) | Finish::FailedWith { message: m, .. } => Some(m.clone()),
        Finish::Code(_) => Some("The setup ended unexpectedly.".to_string()),
    };
    match (&link.redirect_url, error) {
        (Some(r), error) => Ok(Step::Redirect {
            to: redirect_to(r, &link, error.as_deref()),
            set_cookie: None,
        }),
        (None, None) => Ok(Step::Redirect {
            to: hosted_url(state, &link.id),
            set_cookie: None,
        }),
        (None, Some(message)) => {
            let account_name = store::accounts::account(&state.db, &link.account_id)
                .await?
                .map(|a| a.name)
                .unwrap_or_default();
            let logo_path = store::onboarding::logo_sha(&state.db, &link.account_id)
                .await?
                .map(|sha| logo_path(&link.account_id, &sha));
            Ok(Step::LinkFailed {
                link_id: link.id,
                message,
                account_name,
                logo_path,
            })
        }
    }
}

/// `redirect_url` keeping its own query, plus the outcome.
pub fn redirect_to(redirect_url: &str, link: &OnboardingLink, error: Option<&str>) -> String {
    let Ok(mut url) = url::Url::parse(redirect_url) else {
        return redirect_url.to_string();
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("onboarding_link_id", &link.id);
        q.append_pair("external_id", link.external_id.as_deref().unwrap_or(""));
        match error {
            None => {
                q.append_pair("status", "success");
            }
            Some(e) => {
                q.append_pair("status", "error");
                q.append_pair("error", e);
            }
        }
    }
    url.to_string()
}

// ---- the account's logo -------------------------------------------------------

pub fn logo_path(account_id: &str, sha: &str) -> String {
    format!(
        "/accounts/{account_id}/logo?v={}",
        &sha[..sha.len().min(12)]
    )
}

pub async fn branding(state: &AppState, me: &Me) -> AppResult<BrandingView> {
    let sha = store::onboarding::logo_sha(&state.db, &me.account_id).await?;
    Ok(BrandingView {
        account_name: me.account_name.clone(),
        logo_url: sha.map(|s| logo_path(&me.account_id, &s)),
        can_manage: me.role.can_manage(),
    })
}

fn require_manager(me: &Me) -> AppResult<()> {
    if me.role.can_manage() {
        Ok(())
    } else {
        Err(AppError::forbidden_role(
            "only owners and admins can change the account's logo",
        ))
    }
}

/// Stores a logo after checking its size and that its bytes are the image
/// type they claim to be (PNG, JPEG, GIF or WebP).
pub async fn set_logo(
    state: &AppState,
    me: &Me,
    declared_type: Option<&str>,
    bytes: &[u8],
) -> AppResult<()> {
    require_manager(me)?;
    if bytes.is_empty() {
        return Err(AppError::validation("logo: choose an image file"));
    }
    if bytes.len() > LOGO_MAX_BYTES {
        return Err(AppError::client(
            413,
            "payload_too_large",
            format!(
                "logo: the image must be at most {} KB",
                LOGO_MAX_BYTES / 1024
            ),
        ));
    }
    let Some(sniffed) = sniff_image(bytes) else {
        return Err(AppError::client(
            415,
            "unsupported_media_type",
            format!(
                "logo: use a PNG, JPEG, GIF or WebP image ({})",
                LOGO_TYPES.join(", ")
            ),
        ));
    };
    if let Some(d) = declared_type.filter(|d| !d.is_empty() && *d != "application/octet-stream")
        && d != sniffed
    {
        return Err(AppError::client(
            415,
            "unsupported_media_type",
            format!("logo: the file says {d} but its contents are {sniffed}"),
        ));
    }
    let logo = Logo {
        mime_type: sniffed.to_string(),
        data: base64::engine::general_purpose::STANDARD.encode(bytes),
        sha256: {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(bytes))
        },
        updated_at: state.now(),
    };
    store::onboarding::put_logo(&state.db, &me.account_id, &logo).await?;
    Ok(())
}

pub async fn remove_logo(state: &AppState, me: &Me) -> AppResult<()> {
    require_manager(me)?;
    store::onboarding::delete_logo(&state.db, &me.account_id).await?;
    Ok(())
}

/// The logo's type and bytes, for `/accounts/{id}/logo`.
pub async fn logo(
    state: &AppState,
    account_id: &str,
) -> AppResult<Option<(String, Vec<u8>, String)>> {
    if uuid::Uuid::parse_str(account_id).is_err() {
        return Ok(None);
    }
    let Some(l) = store::onboarding::logo(&state.db, account_id).await? else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(l.data.as_bytes())
        .map_err(|e| AppError::Internal(format!("stored logo: {e}")))?;
    Ok(Some((l.mime_type, bytes, l.sha256)))
}

// ---- QR code ---------------------------------------------------------------------

/// The hosted URL as an SVG QR code (for printing or showing on a screen).
pub fn qr_svg(url: &str) -> AppResult<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(format!("QR code: {e}")))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(svg::Color("#0f172a"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// The QR code of a link's hosted URL; `None` for unknown links.
pub async fn qr_for(state: &AppState, id: &str) -> AppResult<Option<String>> {
    match find(state, id).await? {
        Some(l) => qr_svg(&hosted_url(state, &l.id)).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(redirect: Option<&str>, external: Option<&str>) -> OnboardingLink {
        OnboardingLink {
            id: "0b8e0c43-5c0e-4a4e-9d53-5d4c6f6f0a01".into(),
            account_id: "a".into(),
            name: "n".into(),
            external_id: external.map(str::to_string),
            channel_type: "whatsapp".into(),
            redirect_url: redirect.map(str::to_string),
            webhook_url: None,
            webhook_secret: None,
            webhook_events: None,
            status: "pending".into(),
            channel_id: None,
            phone_number_id: None,
            phone_number: None,
            waba_id: None,
            is_phone_registered: None,
            created_at: 0,
            completed_at: None,
            claimed_at: None,
            expires_at: 1000,
        }
    }

    #[test]
    fn redirects_keep_their_query_and_add_the_outcome() {
        let l = link(Some("https://app.example.com/done?x=1"), Some("cus 42"));
        let ok = redirect_to(l.redirect_url.as_deref().unwrap(), &l, None);
        assert_eq!(
            ok,
            "https://app.example.com/done?x=1&onboarding_link_id=0b8e0c43-5c0e-4a4e-9d53-5d4c6f6f0a01&external_id=cus+42&status=success"
        );
        let bad = redirect_to(
            l.redirect_url.as_deref().unwrap(),
            &l,
            Some("No Facebook Page was shared."),
        );
        assert!(
            bad.ends_with("&status=error&error=No+Facebook+Page+was+shared."),
            "{bad}"
        );
    }

    #[test]
    fn status_is_computed_from_expiry() {
        let mut l = link(None, None);
        assert_eq!(status_of(&l, 999), "pending");
        assert_eq!(status_of(&l, 1000), "expired");
        l.status = "completing".into();
        assert_eq!(status_of(&l, 10), "pending");
        l.status = "completed".into();
        assert_eq!(status_of(&l, 5000), "completed");
    }

    #[test]
    fn qr_codes_are_svg() {
        let svg =
            qr_svg("https://sb.example.com/signup/0b8e0c43-5c0e-4a4e-9d53-5d4c6f6f0a01").unwrap();
        assert!(svg.contains("<svg"), "{svg}");
    }
}
