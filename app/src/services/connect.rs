//! The API connect flow (SPEC §3.2): setup URL → hosted start → Meta dialog →
//! callback → code exchange → asset discovery → (picker) → subscribe → channel
//! → single-use code for the customer's `redirect_uri`, then `exchange-code`.
//!
//! The hosted pages in [`crate::hosted`] are thin: every decision is here.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, RedirectUrl, RequestTokenError, TokenResponse, TokenUrl,
};

use crate::clock::{MINUTE_MS, rfc3339};
use crate::crypto;
use crate::domain::{ChannelType, SECRET_MAX_LEN_API};
use crate::error::{AppError, AppResult};
use crate::meta::GraphError;
use crate::state::AppState;
use crate::store::{self, setup::SetupSession};

use super::channels::{self, Discovered, Updated, WebhookSettings};
use super::meta_errors::to_app_error;

/// A setup URL works for 10 minutes.
pub const SETUP_TTL_MS: i64 = 10 * MINUTE_MS;
/// A connect code works once, for 5 minutes.
pub const CODE_TTL_MS: i64 = 5 * MINUTE_MS;
/// Cookie that ties the browser that opened the setup URL to the callback.
pub const SETUP_COOKIE: &str = "sb_setup";

/// The answer of `POST /api/v1/channels/setup-url`.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SetupUrl {
    pub setup_url: String,
    pub session_id: String,
    pub expires_at: String,
}

/// Which redirect URIs a setup session may end at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectRule {
    /// The API's rule: `redirect_uri` must match one of the account's patterns.
    AccountPatterns,
    /// The Portal's own return page ([`portal_return_url`]) only: it belongs to
    /// this server, so it needs no pattern. Any other URI is refused.
    PortalReturn,
}

/// Path of the Portal page that receives the hosted flow's outcome.
pub const PORTAL_RETURN_PATH: &str = "/channels/connected";

/// The Portal's return URL on this server.
pub fn portal_return_url(state: &AppState) -> String {
    format!("{}{PORTAL_RETURN_PATH}", state.config.base())
}

/// `redirect_uri` must match one of the account's patterns; `state` is echoed back.
pub async fn create_setup_url(
    state: &AppState,
    account_id: &str,
    channel_type: &str,
    redirect_uri: &str,
    client_state: Option<&str>,
) -> AppResult<SetupUrl> {
    create_setup_url_with(
        state,
        account_id,
        channel_type,
        redirect_uri,
        client_state,
        RedirectRule::AccountPatterns,
    )
    .await
}

/// The Portal's Connect Channel: the same hosted flow, ending at
/// [`portal_return_url`] without the account having registered a pattern.
pub async fn create_portal_setup_url(
    state: &AppState,
    account_id: &str,
    channel_type: &str,
) -> AppResult<SetupUrl> {
    create_setup_url_with(
        state,
        account_id,
        channel_type,
        &portal_return_url(state),
        None,
        RedirectRule::PortalReturn,
    )
    .await
}

pub async fn create_setup_url_with(
    state: &AppState,
    account_id: &str,
    channel_type: &str,
    redirect_uri: &str,
    client_state: Option<&str>,
    rule: RedirectRule,
) -> AppResult<SetupUrl> {
    let t = ChannelType::parse(channel_type).ok_or_else(|| {
        AppError::validation("channel_type must be one of whatsapp, instagram, facebook")
    })?;
    if client_state.is_some_and(|s| s.len() > 512) {
        return Err(AppError::validation("state must be at most 512 characters"));
    }
    match rule {
        RedirectRule::AccountPatterns => {
            super::redirects::require_allowed(state, account_id, redirect_uri).await?
        }
        RedirectRule::PortalReturn => {
            if redirect_uri.trim() != portal_return_url(state) {
                return Err(AppError::bad_request(
                    "redirect_uri_not_allowed",
                    format!(
                        "redirect_uri `{redirect_uri}` is not the Portal's return page {}",
                        portal_return_url(state)
                    ),
                ));
            }
        }
    }
    let s = new_session(
        state,
        account_id,
        t,
        redirect_uri.trim(),
        client_state,
        None,
    )
    .await?;
    Ok(SetupUrl {
        setup_url: format!("{}/setup/start?session={}", state.config.base(), s.id),
        session_id: s.id,
        expires_at: rfc3339(s.expires_at),
    })
}

async fn new_session(
    state: &AppState,
    account_id: &str,
    t: ChannelType,
    redirect_uri: &str,
    client_state: Option<&str>,
    onboarding_link_id: Option<&str>,
) -> AppResult<SetupSession> {
    let now = state.now();
    let s = SetupSession {
        id: format!("ss_{}", crypto::random_base62(32)),
        account_id: account_id.to_string(),
        channel_type: t.as_str().to_string(),
        redirect_uri: redirect_uri.to_string(),
        client_state: client_state.map(str::to_string),
        oauth_state_hash: None,
        status: "created".into(),
        candidates: None,
        expires_at: now + SETUP_TTL_MS,
        created_at: now,
        onboarding_link_id: onboarding_link_id.map(str::to_string),
    };
    store::setup::insert(&state.db, &s).await?;
    Ok(s)
}

/// A setup session for an onboarding link's hosted page (SPEC §6): the same
/// flow, but its end finishes the link ([`super::onboarding`]) instead of
/// handing out a code. Returns the session id for [`start`].
pub async fn create_onboarding_session(
    state: &AppState,
    account_id: &str,
    channel_type: ChannelType,
    link_id: &str,
    hosted_url: &str,
) -> AppResult<String> {
    let s = new_session(
        state,
        account_id,
        channel_type,
        hosted_url,
        None,
        Some(link_id),
    )
    .await?;
    Ok(s.id)
}

// ---- the browser's way back ---------------------------------------------------

/// Where the hosted flow ends: always a redirect to the customer, never a code
/// and an error together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finish {
    Code(String),
    /// An onboarding link was completed (its sessions never carry a code).
    Linked,
    Denied,
    Failed(String),
    /// A failure the customer's code can tell apart: `error_code` joins
    /// `error=setup_failed` and `message` on the redirect.
    FailedWith {
        error_code: &'static str,
        message: String,
    },
}

/// `error_code` when the WABA was shared without a phone number (SPEC §13).
pub const NO_PHONE_NUMBER: &str = "no_phone_number";

/// What the user reads when Embedded Signup ended without a number.
pub const NO_PHONE_NUMBER_MESSAGE: &str = "The WhatsApp Business Account was shared without a phone number, so there is nothing to connect yet. Add a phone number to it in WhatsApp Manager (business.facebook.com → WhatsApp Manager → Phone numbers), then connect again.";

/// `redirect_uri` plus the outcome and `state`, keeping the URI's own query.
pub fn finish_url(s: &SetupSession, f: &Finish) -> String {
    let Ok(mut url) = url::Url::parse(&s.redirect_uri) else {
        return s.redirect_uri.clone();
    };
    {
        let mut q = url.query_pairs_mut();
        match f {
            Finish::Code(code) => {
                q.append_pair("code", code);
            }
            // Only onboarding sessions end this way, and they never come here.
            Finish::Linked => {
                q.append_pair("error", "setup_failed");
            }
            Finish::Denied => {
                q.append_pair("error", "access_denied");
            }
            Finish::Failed(message) => {
                q.append_pair("error", "setup_failed");
                q.append_pair("message", message);
            }
            Finish::FailedWith {
                error_code,
                message,
            } => {
                q.append_pair("error", "setup_failed");
                q.append_pair("error_code", error_code);
                q.append_pair("message", message);
            }
        }
        if let Some(st) = &s.client_state {
            q.append_pair("state", st);
        }
    }
    url.to_string()
}

/// What a hosted step asks the page to do.
pub enum Step {
    /// 302 to this URL (Meta's dialog or the customer's redirect_uri); with
    /// `Some(cookie)` the setup cookie is set first.
    Redirect {
        to: String,
        set_cookie: Option<String>,
    },
    /// Several assets were granted: show the picker.
    Pick {
        session_id: String,
        channel_type: ChannelType,
        candidates: Vec<Discovered>,
    },
    /// Nowhere safe to send the browser (unknown session or state).
    Dead(String),
    /// An onboarding link's flow failed and the link has no `redirect_url`:
    /// the hosted page says so itself and offers to try again.
    LinkFailed {
        link_id: String,
        message: String,
        /// The account's name and logo path, for the page's header.
        account_name: String,
        logo_path: Option<String>,
    },
}

/// Where a session ends: the customer's `redirect_uri` with the outcome, or,
/// for an onboarding link's session, wherever the link sends its end user.
async fn conclude(state: &AppState, s: &SetupSession, f: Finish) -> AppResult<Step> {
    if let Some(link_id) = &s.onboarding_link_id {
        return super::onboarding::conclude(state, link_id, &f).await;
    }
    Ok(Step::Redirect {
        to: finish_url(s, &f),
        set_cookie: None,
    })
}

async fn fail(state: &AppState, s: &SetupSession, message: String) -> AppResult<Step> {
    end_failed(state, s, Finish::Failed(message)).await
}

/// Marks the session failed and sends the browser on with `f`.
async fn end_failed(state: &AppState, s: &SetupSession, f: Finish) -> AppResult<Step> {
    store::setup::transition(
        &state.db,
        &s.id,
        &["created", "started", "picking"],
        "failed",
        None,
        None,
        state.now(),
    )
    .await?;
    conclude(state, s, f).await
}

/// [`fail`] with an `error_code` the customer's code can act on.
async fn fail_with(
    state: &AppState,
    s: &SetupSession,
    error_code: &'static str,
    message: &str,
) -> AppResult<Step> {
    let f = Finish::FailedWith {
        error_code,
        message: message.to_string(),
    };
    end_failed(state, s, f).await
}

fn expired(state: &AppState, s: &SetupSession) -> bool {
    s.expires_at <= state.now()
}

/// A setup session must be at `step` and not expired to go on; otherwise the
/// failure it ends with (one rule for the callback and the picker).
async fn refuse_unless_open(
    state: &AppState,
    s: &SetupSession,
    step: &str,
) -> AppResult<Option<Step>> {
    if s.status != step {
        let msg = "This setup was already finished. Please start again.";
        return fail(state, s, msg.into()).await.map(Some);
    }
    if expired(state, s) {
        return fail(state, s, EXPIRED_MESSAGE.into()).await.map(Some);
    }
    Ok(None)
}

const EXPIRED_MESSAGE: &str =
    "The setup link has expired (links work for 10 minutes). Please start again.";

type MetaOAuth =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Meta's OAuth endpoints as configured (the sandbox's in sandbox mode).
fn oauth_client(state: &AppState) -> AppResult<MetaOAuth> {
    let c = &state.config;
    let bad = |e: url::ParseError| AppError::Internal(format!("OAuth endpoint: {e}"));
    Ok(
        BasicClient::new(ClientId::new(c.meta_app_id.clone().unwrap_or_default()))
            .set_client_secret(ClientSecret::new(
                c.meta_app_secret.clone().unwrap_or_default(),
            ))
            .set_auth_uri(AuthUrl::new(c.meta_dialog_url.clone()).map_err(bad)?)
            .set_token_uri(
                TokenUrl::new(format!(
                    "{}/{}/oauth/access_token",
                    c.meta_graph_url, c.meta_api_version
                ))
                .map_err(bad)?,
            )
            .set_redirect_uri(RedirectUrl::new(callback_url(state)).map_err(bad)?)
            // Meta reads client_id/client_secret from the form, not Basic auth.
            .set_auth_type(AuthType::RequestBody),
    )
}

pub fn callback_url(state: &AppState) -> String {
    format!("{}/setup/callback", state.config.base())
}

/// Permissions asked for when no Login configuration is set (classic Facebook Login).
fn scopes(t: ChannelType) -> &'static str {
    match t {
        ChannelType::Whatsapp => {
            "whatsapp_business_management,whatsapp_business_messaging,business_management"
        }
        ChannelType::Instagram => {
            "instagram_basic,instagram_manage_messages,pages_manage_metadata,pages_show_list,pages_read_engagement,pages_messaging,business_management"
        }
        ChannelType::Facebook => {
            "pages_messaging,pages_manage_metadata,pages_show_list,pages_read_engagement,business_management"
        }
    }
}

/// Embedded Signup v4's `extras` (SPEC §13). v4 takes its version from the
/// Login configuration, so `extras` is empty: no `sessionInfoVersion`, no
/// `version` (v2 and v3 were retired in October 2026). With coexistence on,
/// v4's business-app onboarding feature type also offers numbers already
/// used in the WhatsApp Business app; they keep working in the app and what
/// the business types there arrives as `message.echo`.
fn embedded_signup_extras(state: &AppState) -> &'static str {
    if state.config.whatsapp_coexistence {
        r#"{"featureType":"whatsapp_business_app_onboarding"}"#
    } else {
        "{}"
    }
}

fn config_id(state: &AppState, t: ChannelType) -> Option<String> {
    let c = &state.config;
    match t {
        ChannelType::Whatsapp => c.meta_config_id_whatsapp.clone(),
        ChannelType::Instagram => c.meta_config_id_instagram.clone(),
        ChannelType::Facebook => c.meta_config_id_facebook.clone(),
    }
}

/// `GET /setup/start?session=…`: a fresh random OAuth `state` bound to the
/// session (stored hashed) and to this browser (cookie), then Meta's dialog.
pub async fn start(state: &AppState, session_id: &str) -> AppResult<Step> {
    let Some(s) = store::setup::get(&state.db, session_id).await? else {
        return Ok(Step::Dead("This setup link is not valid.".into()));
    };
    if expired(state, &s) {
        return fail(state, &s, EXPIRED_MESSAGE.into()).await;
    }
    if !matches!(s.status.as_str(), "created" | "started") {
        return fail(
            state,
            &s,
            "This setup link was already used. Please start again.".into(),
        )
        .await;
    }
    let t = ChannelType::parse(&s.channel_type).unwrap_or(ChannelType::Whatsapp);
    let oauth_state = crypto::random_base62(40);
    let client = oauth_client(state)?;
    let mut req = client.authorize_url(|| CsrfToken::new(oauth_state.clone()));
    match config_id(state, t) {
        Some(id) => {
            req = req
                .add_extra_param("config_id", id)
                .add_extra_param("override_default_response_type", "true");
            if t == ChannelType::Whatsapp {
                req = req.add_extra_param("extras", embedded_signup_extras(state));
            }
        }
        None => req = req.add_extra_param("scope", scopes(t)),
    }
    let (url, _) = req.url();
    let moved = store::setup::transition(
        &state.db,
        &s.id,
        &["created", "started"],
        "started",
        Some(&crypto::sha256_hex(&oauth_state)),
        None,
        state.now(),
    )
    .await?;
    if !moved {
        return fail(
            state,
            &s,
            "This setup link was already used. Please start again.".into(),
        )
        .await;
    }
    Ok(Step::Redirect {
        to: url.to_string(),
        set_cookie: Some(s.id),
    })
}

/// Meta's answer at `/setup/callback`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Finds the session by the returned OAuth state and checks it belongs to this browser.
async fn session_for_state(
    state: &AppState,
    oauth_state: Option<&str>,
    cookie: Option<&str>,
) -> AppResult<Result<SetupSession, Step>> {
    let Some(st) = oauth_state.filter(|s| !s.is_empty()) else {
        return Ok(Err(Step::Dead(
            "The answer from Meta carries no state.".into(),
        )));
    };
    let Some(s) = store::setup::by_state_hash(&state.db, &crypto::sha256_hex(st)).await? else {
        return Ok(Err(Step::Dead(
            "This answer from Meta does not belong to a setup in progress.".into(),
        )));
    };
    // The state came back, but from the browser that started the flow? Without
    // this, someone could finish another person's setup with their own Meta login.
    if !cookie.is_some_and(|c| crypto::constant_time_eq(c.as_bytes(), s.id.as_bytes())) {
        return Ok(Err(fail(
            state,
            &s,
            "The setup must be finished in the browser that started it.".into(),
        )
        .await?));
    }
    Ok(Ok(s))
}

pub async fn callback(
    state: &AppState,
    p: &CallbackParams,
    cookie: Option<&str>,
) -> AppResult<Step> {
    let s = match session_for_state(state, p.state.as_deref(), cookie).await? {
        Ok(s) => s,
        Err(step) => return Ok(step),
    };
    if let Some(step) = refuse_unless_open(state, &s, "started").await? {
        return Ok(step);
    }
    if let Some(err) = &p.error {
        if err == "access_denied" {
            store::setup::transition(
                &state.db,
                &s.id,
                &["started"],
                "failed",
                None,
                None,
                state.now(),
            )
            .await?;
            return conclude(state, &s, Finish::Denied).await;
        }
        let why = p.error_description.clone().unwrap_or_else(|| err.clone());
        return fail(state, &s, format!("Meta reported an error: {why}")).await;
    }
    let Some(code) = p.code.as_deref().filter(|c| !c.is_empty()) else {
        return fail(
            state,
            &s,
            "Meta returned neither a code nor an error.".into(),
        )
        .await;
    };
    let t = ChannelType::parse(&s.channel_type).unwrap_or(ChannelType::Whatsapp);
    let found = match discover(state, t, code).await {
        Ok(f) => f,
        Err(e) if e.code() == NO_PHONE_NUMBER => {
            return fail_with(state, &s, NO_PHONE_NUMBER, NO_PHONE_NUMBER_MESSAGE).await;
        }
        Err(e) => return fail(state, &s, e.public_detail()).await,
    };
    match found.len() {
        0 => {
            fail(
                state,
                &s,
                format!("No {} was shared in the Meta dialog.", asset_noun(t)),
            )
            .await
        }
        1 => finish(state, &s, &found[0], &["started"]).await,
        _ => {
            let sealed = state
                .cipher
                .encrypt(serde_json::to_string(&found).unwrap_or_default().as_bytes());
            let moved = store::setup::transition(
                &state.db,
                &s.id,
                &["started"],
                "picking",
                None,
                Some(&sealed),
                state.now(),
            )
            .await?;
            if !moved {
                return fail(state, &s, "This setup was already finished.".into()).await;
            }
            Ok(Step::Pick {
                session_id: s.id,
                channel_type: t,
                candidates: found,
            })
        }
    }
}

fn asset_noun(t: ChannelType) -> &'static str {
    match t {
        ChannelType::Whatsapp => "WhatsApp phone number",
        ChannelType::Instagram => "Instagram account linked to a Page",
        ChannelType::Facebook => "Facebook Page",
    }
}

/// `POST /setup/pick`: the asset chosen on the picker page, or Cancel.
pub async fn pick(
    state: &AppState,
    session_id: &str,
    asset_id: Option<&str>,
    cookie: Option<&str>,
) -> AppResult<Step> {
    let Some(s) = store::setup::get(&state.db, session_id).await? else {
        return Ok(Step::Dead("This setup link is not valid.".into()));
    };
    if !cookie.is_some_and(|c| crypto::constant_time_eq(c.as_bytes(), s.id.as_bytes())) {
        return fail(
            state,
            &s,
            "The setup must be finished in the browser that started it.".into(),
        )
        .await;
    }
    if let Some(step) = refuse_unless_open(state, &s, "picking").await? {
        return Ok(step);
    }
    let Some(asset_id) = asset_id.filter(|a| !a.is_empty()) else {
        store::setup::transition(
            &state.db,
            &s.id,
            &["picking"],
            "failed",
            None,
            None,
            state.now(),
        )
        .await?;
        return conclude(state, &s, Finish::Denied).await;
    };
    let candidates: Vec<Discovered> = s
        .candidates
        .as_deref()
        .and_then(|c| state.cipher.decrypt(c).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    match candidates.iter().find(|c| c.asset_id == asset_id) {
        Some(d) => finish(state, &s, d, &["picking"]).await,
        None => {
            fail(
                state,
                &s,
                "The chosen asset was not part of the grant.".into(),
            )
            .await
        }
    }
}

/// Connects `d` for the session's account and hands out the code.
async fn finish(
    state: &AppState,
    s: &SetupSession,
    d: &Discovered,
    from: &[&str],
) -> AppResult<Step> {
    // Claim the session first so a double submit cannot connect twice.
    if !store::setup::transition(
        &state.db,
        &s.id,
        from,
        "completing",
        None,
        None,
        state.now(),
    )
    .await?
    {
        return fail(state, s, "This setup was already finished.".into()).await;
    }
    if let Some(link_id) = &s.onboarding_link_id {
        let f = super::onboarding::finish(state, link_id, d).await?;
        let to = if matches!(f, Finish::Linked) {
            "completed"
        } else {
            "failed"
        };
        store::setup::transition(
            &state.db,
            &s.id,
            &["completing"],
            to,
            None,
            None,
            state.now(),
        )
        .await?;
        return conclude(state, s, f).await;
    }
    let outcome = match channels::connect(state, &s.account_id, d).await {
        Ok(o) => o,
        Err(e) => {
            store::setup::transition(
                &state.db,
                &s.id,
                &["completing"],
                "failed",
                None,
                None,
                state.now(),
            )
            .await?;
            return conclude(state, s, Finish::Failed(e.public_detail())).await;
        }
    };
    let code = format!("sbc_{}", crypto::random_base62(40));
    let now = state.now();
    store::setup::insert_code(
        &state.db,
        &crypto::sha256_hex(&code),
        &s.account_id,
        &outcome.channel().id,
        now + CODE_TTL_MS,
        now,
    )
    .await?;
    store::setup::transition(
        &state.db,
        &s.id,
        &["completing"],
        "completed",
        None,
        None,
        now,
    )
    .await?;
    conclude(state, s, Finish::Code(code)).await
}

// ---- Meta: code exchange and discovery -----------------------------------------

/// The token Meta hands out for the dialog's code, via the `oauth2` crate.
async fn exchange(state: &AppState, code: &str) -> AppResult<(String, Option<i64>)> {
    let http = reqwest::Client::builder()
        // oauth2's advice: never follow redirects on the token endpoint (SSRF).
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let res = oauth_client(state)?
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .request_async(&http)
        .await;
    match res {
        Ok(t) => Ok((
            t.access_token().secret().clone(),
            t.expires_in().map(|d| d.as_secs() as i64),
        )),
        Err(RequestTokenError::Parse(_, body)) => Err(match GraphError::parse(400, &body) {
            Some(g) => AppError::client(
                502,
                "meta_error",
                format!("Meta refused the code exchange: {g}"),
            ),
            None => AppError::client(502, "meta_error", "Meta's token answer could not be read"),
        }),
        Err(e) => Err(AppError::client(
            502,
            "meta_error",
            format!("the code exchange with Meta failed: {e}"),
        )),
    }
}

/// Exchanges the code and lists what the user granted, ready to connect.
async fn discover(state: &AppState, t: ChannelType, code: &str) -> AppResult<Vec<Discovered>> {
    let (token, expires_in) = exchange(state, code).await?;
    let now = state.now();
    match t {
        ChannelType::Whatsapp => {
            let info = state
                .meta
                .debug_token(&token)
                .await
                .map_err(|e| to_app_error(&e, "inspecting the token (debug_token)"))?;
            let expires_at = match (info.expires_at, expires_in) {
                (0, None) => None,
                (0, Some(s)) => Some(now + s * 1000),
                (at, _) => Some(at * 1000),
            };
            let mut out = Vec::new();
            let mut wabas = info.targets("whatsapp_business_management");
            wabas.dedup();
            let shared_wabas = !wabas.is_empty();
            for waba in wabas {
                let phones = state
                    .meta
                    .phone_numbers(&waba, &token)
                    .await
                    .map_err(|e| to_app_error(&e, "listing the WABA's phone numbers"))?;
                for p in phones {
                    out.push(Discovered {
                        channel_type: t,
                        asset_id: p.id.clone(),
                        name: p
                            .verified_name
                            .clone()
                            .unwrap_or_else(|| p.display_phone_number.clone()),
                        phone_number: Some(p.digits()),
                        waba_id: Some(waba.clone()),
                        ig_username: None,
                        page_id: None,
                        token: token.clone(),
                        token_expires_at: expires_at,
                        quality_rating: p.quality_rating.clone(),
                        meta_app_ref: None,
                        detail: format!("{} · WABA {waba}", p.display_phone_number),
                    });
                }
            }
            // Embedded Signup v4 can end with a WABA and no number at all.
            if out.is_empty() && shared_wabas {
                return Err(AppError::bad_request(
                    NO_PHONE_NUMBER,
                    NO_PHONE_NUMBER_MESSAGE,
                ));
            }
            Ok(out)
        }
        ChannelType::Facebook | ChannelType::Instagram => {
            // Page tokens derived from a short-lived user token die with it;
            // from a long-lived one they do not expire (reference §9.7).
            let user_token = if expires_in.is_some() {
                state
                    .meta
                    .exchange_long_lived(&token)
                    .await
                    .map_err(|e| to_app_error(&e, "exchanging for a long-lived token"))?
                    .access_token
            } else {
                token
            };
            let pages = state
                .meta
                .me_accounts(&user_token)
                .await
                .map_err(|e| to_app_error(&e, "listing the Pages (me/accounts)"))?;
            let mut out = Vec::new();
            for page in pages.into_iter().filter(|p| p.can_message()) {
                let Some(page_token) = page.access_token.clone() else {
                    continue;
                };
                if t == ChannelType::Facebook {
                    out.push(Discovered {
                        channel_type: t,
                        asset_id: page.id.clone(),
                        name: page.name.clone(),
                        phone_number: None,
                        waba_id: None,
                        ig_username: None,
                        page_id: Some(page.id.clone()),
                        token: page_token,
                        token_expires_at: None,
                        quality_rating: None,
                        meta_app_ref: None,
                        detail: format!("Page {}", page.id),
                    });
                    continue;
                }
                let ig = match page.instagram_business_account.clone() {
                    Some(ig) => Some(ig),
                    None => state
                        .meta
                        .page_instagram_account(&page.id, &page_token)
                        .await
                        .map_err(|e| to_app_error(&e, "reading the Page's Instagram account"))?,
                };
                if let Some(ig) = ig {
                    let username = ig.username.clone();
                    out.push(Discovered {
                        channel_type: t,
                        asset_id: ig.id.clone(),
                        name: username
                            .clone()
                            .or(ig.name.clone())
                            .unwrap_or_else(|| page.name.clone()),
                        phone_number: None,
                        waba_id: None,
                        ig_username: username.clone(),
                        page_id: Some(page.id.clone()),
                        token: page_token,
                        token_expires_at: None,
                        quality_rating: None,
                        meta_app_ref: None,
                        detail: format!("@{} · Page {}", username.unwrap_or_default(), page.name),
                    });
                }
            }
            Ok(out)
        }
    }
}

// ---- exchange-code ------------------------------------------------------------

fn invalid_code() -> AppError {
    AppError::bad_request(
        "invalid_code",
        "the code is unknown, expired (codes work for 5 minutes), already used or belongs to another account",
    )
}

/// `POST /api/v1/channels/exchange-code`: spends the code once and applies the
/// webhook settings with the API's secret rule. Input is checked before the
/// code is spent, so a typo does not burn it; another account's attempt
/// leaves it intact.
pub async fn exchange_code(
    state: &AppState,
    account_id: &str,
    code: &str,
    settings: &WebhookSettings,
) -> AppResult<Updated> {
    let hash = crypto::sha256_hex(code.trim());
    let now = state.now();
    let Some(channel_id) = store::setup::peek_code(&state.db, &hash, account_id, now).await? else {
        return Err(invalid_code());
    };
    let c = channels::load(state, account_id, &channel_id).await?;
    let plan =
        channels::plan_webhook_settings(state, &c, settings, true, SECRET_MAX_LEN_API).await?;
    if store::setup::use_code(&state.db, &hash, account_id, now)
        .await?
        .is_none()
    {
        return Err(invalid_code());
    }
    if settings.is_empty() {
        return Ok(Updated {
            channel: channels::view_of(state, &c).await?,
            webhook_secret: None,
        });
    }
    channels::apply_plan(state, &c, plan).await
}
