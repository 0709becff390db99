//! WhatsApp message templates (SPEC §5.2, §5.3): the local copy per account
//! and WABA (synced from Meta, every page), create/edit/delete through Meta,
//! status webhooks, and `send-template`, which checks the variables against
//! the stored template, builds Meta's `components` and hands the message to
//! the one send path ([`messages::send_outgoing`]: idempotency, `messages`
//! row, queueing on throughput limits).
//!
//! Every door needs an active WhatsApp channel and the `pro` tier, and checks
//! them first: nothing of a request body is parsed before the key's account
//! is known to own the channel and its plan allows templates (SPEC §14).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::rfc3339;
use crate::domain::ChannelType;
use crate::domain::billing::Tier;
use crate::domain::templates::{self as rules, ButtonValue, ParamFormat, RuleError, TemplateView};
use crate::error::{AppError, AppResult};
use crate::meta::types::{NewTemplate, Template, TemplateEdit};
use crate::meta::{ErrorClass, MetaError};
use crate::services::messages::{self, Idempotency, Outgoing, Payload, SendResult};
use crate::services::{channels, licenses};
use crate::state::AppState;
use crate::store::channels::Channel;
use crate::store::templates::{self as store, TemplateRow};

/// Meta's template statuses (reference §7.1), for the `status` filter.
pub const STATUSES: [&str; 13] = [
    "APPROVED",
    "PENDING",
    "REJECTED",
    "PAUSED",
    "DISABLED",
    "IN_APPEAL",
    "PENDING_DELETION",
    "DELETED",
    "FLAGGED",
    "REINSTATED",
    "LIMIT_EXCEEDED",
    "ARCHIVED",
    "LOCKED",
];

fn rule(e: RuleError) -> AppError {
    AppError::bad_request(e.code, e.detail)
}

/// Second precision, like the `time` of Meta's webhooks (see `store::templates::apply_status`).
fn second(ms: i64) -> i64 {
    ms / 1000 * 1000
}

// ---- requests -----------------------------------------------------------------------

/// `POST /api/v1/channels/{id}/templates`.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplateRequest {
    /// `^[a-z0-9_]{1,512}$`.
    pub name: String,
    /// Meta's language code, e.g. `en_US`.
    pub language: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: String,
    /// Meta's components: a BODY (required) and optional HEADER, FOOTER, BUTTONS,
    /// with examples for every variable.
    #[schema(value_type = Vec<Object>)]
    pub components: Vec<Value>,
    /// `positional` (default, `{{1}}`) or `named` (`{{first_name}}`).
    #[serde(default)]
    pub parameter_format: Option<String>,
    /// Let Meta re-categorise instead of rejecting.
    #[serde(default)]
    pub allow_category_change: Option<bool>,
}

/// `PUT /api/v1/channels/{id}/templates/{template_id}`.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditTemplateRequest {
    /// Replaces every component (same rules as on create).
    #[schema(value_type = Vec<Object>)]
    pub components: Vec<Value>,
    /// Only while the template is `REJECTED` or `PAUSED`.
    #[serde(default)]
    pub category: Option<String>,
}

/// `POST /api/v1/messages/send-template`.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendTemplateRequest {
    pub channel_id: String,
    pub template_name: String,
    /// The template's language code, e.g. `en_US`.
    pub language: String,
    /// Phone digits without `+`, or a BSUID.
    pub recipient: String,
    #[serde(default)]
    pub variables: Option<TemplateVariables>,
}

/// Values for the template's variables.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateVariables {
    /// Text header: `["value"]` or `{"name": "value"}`; media header:
    /// `{"type": "image"|"video"|"document", "link": "https://…"}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub header: Option<Value>,
    /// `["Ana", "42"]` for `{{1}}`, `{{2}}`; `{"first_name": "Ana"}` for named templates.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub body: Option<Value>,
    /// Values of buttons by zero-based index: URL suffix, quick-reply payload, coupon code.
    #[serde(default)]
    pub buttons: Option<Vec<ButtonVariable>>,
}

#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ButtonVariable {
    /// Zero-based position of the button in the template.
    #[schema(value_type = u32)]
    pub index: Value,
    #[schema(value_type = String)]
    pub value: Value,
}

// ---- the channel ----------------------------------------------------------------------

/// The account's active WhatsApp channel with its WABA, on the `pro` tier.
pub async fn whatsapp_channel(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
) -> AppResult<(Channel, String)> {
    let ch = channels::load(state, account_id, channel_id).await?;
    let t = channels::channel_type(&ch);
    if t != ChannelType::Whatsapp {
        return Err(AppError::bad_request(
            "not_supported",
            format!(
                "message templates are WhatsApp only; this is a {} channel",
                t.label()
            ),
        ));
    }
    if !ch.is_active {
        return Err(AppError::bad_request(
            "channel_inactive",
            "the channel is inactive (deactivated, or Meta rejected its token); connect it again",
        ));
    }
    licenses::require_tier(state, account_id, Tier::Pro).await?;
    let waba = ch
        .waba_id
        .clone()
        .ok_or_else(|| AppError::Internal(format!("WhatsApp channel {} has no WABA id", ch.id)))?;
    Ok((ch, waba))
}

/// A failed Graph call as the caller's error. A dead token deactivates the
/// channel first (`channel.disconnected`, mail), like a failed send does.
pub async fn meta_failure(state: &AppState, ch: &Channel, e: &MetaError, doing: &str) -> AppError {
    let code = e
        .graph()
        .map(|g| g.code.to_string())
        .unwrap_or_else(|| "transport".into());
    state.metrics.incr("meta_api_errors_total", &code);
    if e.class() == ErrorClass::TokenDead {
        if let Err(err) = channels::token_died(state, ch, &e.to_string()).await {
            tracing::error!(channel = %ch.id, error = %err, "deactivating a channel with a dead token failed");
        }
        return AppError::bad_request(
            "channel_inactive",
            format!(
                "Meta rejected the channel's access token while {doing} ({e}); the channel is now inactive. Connect it again."
            ),
        );
    }
    AppError::client(502, "meta_error", format!("Meta refused {doing}: {e}"))
}

// ---- the local copy -----------------------------------------------------------------

fn row_of(account_id: &str, waba: &str, t: &Template, now: i64) -> TemplateRow {
    TemplateRow {
        account_id: account_id.to_string(),
        waba_id: waba.to_string(),
        meta_template_id: t.id.clone(),
        name: t.name.clone(),
        language: t.language.clone(),
        category: t.category.clone(),
        status: t.status.to_ascii_uppercase(),
        parameter_format: t
            .parameter_format
            .as_deref()
            .and_then(ParamFormat::parse)
            .unwrap_or(ParamFormat::Positional)
            .meta()
            .to_string(),
        components: serde_json::to_string(&t.components).unwrap_or_else(|_| "[]".into()),
        rejected_reason: t
            .rejected_reason
            .clone()
            .filter(|r| !r.is_empty() && r != "NONE"),
        quality_score: t.quality_score.as_ref().map(Value::to_string),
        status_at: second(now),
        synced_at: Some(now),
        created_at: now,
        updated_at: now,
    }
}

pub fn view(r: &TemplateRow) -> TemplateView {
    TemplateView {
        id: r.meta_template_id.clone(),
        name: r.name.clone(),
        language: r.language.clone(),
        category: r.category.clone(),
        status: r.status.clone(),
        parameter_format: format_of(r).as_str().to_string(),
        components: serde_json::from_str(&r.components).unwrap_or_default(),
        rejected_reason: r.rejected_reason.clone(),
        quality_score: r
            .quality_score
            .as_deref()
            .and_then(|q| serde_json::from_str(q).ok()),
        waba_id: r.waba_id.clone(),
        synced_at: r.synced_at.map(rfc3339),
        updated_at: rfc3339(r.updated_at),
    }
}

fn format_of(r: &TemplateRow) -> ParamFormat {
    ParamFormat::parse(&r.parameter_format).unwrap_or(ParamFormat::Positional)
}

/// Reads every template of the WABA from Meta (all pages) into the local
/// copy; templates gone at Meta disappear. Returns how many there are.
pub async fn sync(state: &AppState, ch: &Channel, waba: &str) -> AppResult<usize> {
    let token = channels::token(state, ch)?;
    let all = match state.meta.list_templates(waba, &token).await {
        Ok(all) => all,
        Err(e) => return Err(meta_failure(state, ch, &e, "listing the WABA's templates").await),
    };
    let now = state.now();
    let rows: Vec<TemplateRow> = all
        .iter()
        .map(|t| row_of(&ch.account_id, waba, t, now))
        .collect();
    store::replace_all(&state.db, &ch.account_id, waba, &rows).await?;
    Ok(rows.len())
}

pub async fn list(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    sync_first: bool,
    status: Option<&str>,
) -> AppResult<Vec<TemplateView>> {
    let status = match status.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => {
            let s = s.to_ascii_uppercase();
            if !STATUSES.contains(&s.as_str()) {
                return Err(AppError::validation(format!(
                    "status: `{s}` is not one of {}",
                    STATUSES.join(", ")
                )));
            }
            Some(s)
        }
        None => None,
    };
    let (ch, waba) = whatsapp_channel(state, account_id, channel_id).await?;
    if sync_first {
        sync(state, &ch, &waba).await?;
    }
    Ok(store::list(&state.db, account_id, &waba, status.as_deref())
        .await?
        .iter()
        .map(view)
        .collect())
}

fn not_found(what: String) -> AppError {
    AppError::client(404, "template_not_found", what)
}

/// The stored template `id`, after one sync when it is not known yet.
async fn find(state: &AppState, ch: &Channel, waba: &str, id: &str) -> AppResult<TemplateRow> {
    if let Some(t) = store::get(&state.db, &ch.account_id, waba, id).await? {
        return Ok(t);
    }
    sync(state, ch, waba).await?;
    store::get(&state.db, &ch.account_id, waba, id)
        .await?
        .ok_or_else(|| {
            not_found(format!(
                "no template {id} on this channel's WhatsApp Business Account"
            ))
        })
}

pub async fn get(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    template_id: &str,
) -> AppResult<TemplateView> {
    let (ch, waba) = whatsapp_channel(state, account_id, channel_id).await?;
    Ok(view(&find(state, &ch, &waba, template_id).await?))
}

fn category_of(c: &str) -> AppResult<String> {
    let c = c.trim();
    if let Some(known) = rules::CATEGORIES.iter().find(|k| k.eq_ignore_ascii_case(c)) {
        Ok(known.to_string())
    } else {
        Err(AppError::bad_request(
            "invalid_template_category",
            format!(
                "category: `{}` is not one of {}",
                rules::shown(c),
                rules::CATEGORIES.join(", ")
            ),
        ))
    }
}

/// Checks a new template without calling anyone; the normalised parts.
pub fn check_new(req: &NewTemplateRequest) -> AppResult<(String, ParamFormat, Vec<Value>)> {
    if !rules::valid_name(&req.name) {
        return Err(AppError::bad_request(
            "invalid_template_name",
            format!(
                "name: 1 to {} lowercase letters, digits and underscores (e.g. order_update)",
                rules::NAME_MAX
            ),
        ));
    }
    if !rules::valid_language(&req.language) {
        return Err(AppError::bad_request(
            "invalid_template_language",
            format!(
                "language: `{}` is not a Meta language code such as en, en_US or pt_BR",
                rules::shown(&req.language)
            ),
        ));
    }
    let category = category_of(&req.category)?;
    let format = match req.parameter_format.as_deref() {
        None => ParamFormat::Positional,
        Some(f) => ParamFormat::parse(f).ok_or_else(|| {
            AppError::bad_request(
                "invalid_parameter_format",
                format!(
                    "parameter_format: `{}` is not positional or named",
                    rules::shown(f)
                ),
            )
        })?,
    };
    let components = rules::check_components(&req.components, format, &category).map_err(rule)?;
    Ok((category, format, components))
}

pub async fn create(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    req: &NewTemplateRequest,
) -> AppResult<TemplateView> {
    let (ch, waba) = whatsapp_channel(state, account_id, channel_id).await?;
    let (category, format, components) = check_new(req)?;
    let same = store::by_name(&state.db, account_id, &waba, &req.name).await?;
    if same.iter().any(|t| t.language == req.language) {
        return Err(AppError::conflict(
            "template_exists",
            format!(
                "a template `{}` in {} already exists; edit it or choose another name or language",
                req.name, req.language
            ),
        ));
    }
    let token = channels::token(state, &ch)?;
    let new = NewTemplate {
        name: req.name.clone(),
        language: req.language.clone(),
        category: category.clone(),
        parameter_format: Some(format.meta().to_string()),
        components: components.clone(),
        allow_category_change: req.allow_category_change,
    };
    let created = match state.meta.create_template(&waba, &token, &new).await {
        Ok(c) => c,
        Err(e) => return Err(meta_failure(state, &ch, &e, "creating the template").await),
    };
    let now = state.now();
    let row = TemplateRow {
        account_id: account_id.to_string(),
        waba_id: waba.clone(),
        meta_template_id: created.id.clone(),
        name: req.name.clone(),
        language: req.language.clone(),
        category: Some(created.category.clone().unwrap_or(category)),
        status: created.status.to_ascii_uppercase(),
        parameter_format: format.meta().to_string(),
        components: serde_json::to_string(&components).unwrap_or_else(|_| "[]".into()),
        rejected_reason: None,
        quality_score: None,
        status_at: second(now),
        synced_at: None,
        created_at: now,
        updated_at: now,
    };
    store::insert(&state.db, &row).await?;
    Ok(view(&row))
}

pub async fn edit(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    template_id: &str,
    req: &EditTemplateRequest,
) -> AppResult<TemplateView> {
    let (ch, waba) = whatsapp_channel(state, account_id, channel_id).await?;
    // Sizes before the lookup, which may read every template from Meta.
    rules::check_sizes(&req.components).map_err(rule)?;
    let t = find(state, &ch, &waba, template_id).await?;
    if !matches!(t.status.as_str(), "APPROVED" | "REJECTED" | "PAUSED") {
        return Err(AppError::bad_request(
            "template_not_editable",
            format!(
                "the template is {}; Meta lets you edit only APPROVED, REJECTED and PAUSED templates",
                t.status
            ),
        ));
    }
    let category = match &req.category {
        None => None,
        Some(c) => {
            let c = category_of(c)?;
            let unchanged = t.category.as_deref() == Some(c.as_str());
            if !unchanged && !matches!(t.status.as_str(), "REJECTED" | "PAUSED") {
                return Err(AppError::bad_request(
                    "invalid_template_category",
                    format!(
                        "category: can change only while the template is REJECTED or PAUSED (it is {})",
                        t.status
                    ),
                ));
            }
            (!unchanged).then_some(c)
        }
    };
    let cat_for_rules = category.clone().or(t.category.clone()).unwrap_or_default();
    let components =
        rules::check_components(&req.components, format_of(&t), &cat_for_rules).map_err(rule)?;
    let token = channels::token(state, &ch)?;
    let body = TemplateEdit {
        components: Some(components.clone()),
        category: category.clone(),
    };
    if let Err(e) = state
        .meta
        .edit_template(&t.meta_template_id, &token, &body)
        .await
    {
        return Err(meta_failure(state, &ch, &e, "editing the template").await);
    }
    let json = serde_json::to_string(&components).unwrap_or_else(|_| "[]".into());
    let now = state.now();
    store::edited(&state.db, &t, &json, category.as_deref(), second(now), now).await?;
    let fresh = store::get(&state.db, account_id, &waba, &t.meta_template_id)
        .await?
        .ok_or_else(|| not_found(format!("template {template_id} disappeared")))?;
    Ok(view(&fresh))
}

/// Deletes the template (`all_languages`: every language of its name).
pub async fn delete(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    template_id: &str,
    all_languages: bool,
) -> AppResult<()> {
    let (ch, waba) = whatsapp_channel(state, account_id, channel_id).await?;
    let t = find(state, &ch, &waba, template_id).await?;
    let token = channels::token(state, &ch)?;
    let one = (!all_languages).then_some(t.meta_template_id.as_str());
    if let Err(e) = state
        .meta
        .delete_template(&waba, &token, &t.name, one)
        .await
    {
        // Already gone at Meta (2593002): only the local copy is left to remove.
        let gone = e.graph().is_some_and(|g| g.error_subcode == Some(2593002));
        if !gone {
            return Err(meta_failure(state, &ch, &e, "deleting the template").await);
        }
    }
    store::delete(&state.db, account_id, &waba, &t.name, one).await?;
    Ok(())
}

/// Meta's `message_template_status_update`, inside the webhook ingest
/// transaction: the local copies of the template take the new status.
pub async fn record_status(
    tx: &mut sqlx::AnyConnection,
    waba_id: &str,
    data: &Value,
    occurred_at: i64,
    now: i64,
) -> AppResult<()> {
    let (Some(id), Some(event)) = (
        data.get("template_id").and_then(Value::as_str),
        data.get("status").and_then(Value::as_str),
    ) else {
        return Ok(());
    };
    let event = event.to_ascii_uppercase();
    // A reinstated template is sendable again.
    let status = if event == "REINSTATED" {
        "APPROVED".to_string()
    } else {
        event
    };
    let reason = data
        .get("reason")
        .and_then(Value::as_str)
        .filter(|r| status == "REJECTED" && !r.is_empty() && *r != "NONE");
    let at = if occurred_at > 0 { occurred_at } else { now };
    store::apply_status(tx, waba_id, id, &status, reason, at, now).await?;
    Ok(())
}

// ---- sending ----------------------------------------------------------------------

fn buttons_of(vars: Option<&TemplateVariables>) -> AppResult<Vec<ButtonValue>> {
    let Some(list) = vars.and_then(|v| v.buttons.as_ref()) else {
        return Ok(vec![]);
    };
    if list.len() > rules::MAX_BUTTONS {
        return Err(AppError::bad_request(
            "template_mismatch",
            format!(
                "variables.buttons: {} values given; a template has at most {} buttons",
                list.len(),
                rules::MAX_BUTTONS
            ),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(n, b)| {
            let index = match &b.index {
                Value::Number(x) => x.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            }
            .ok_or_else(|| {
                AppError::validation(format!("variables.buttons[{n}].index: a zero-based number"))
            })?;
            let value = match &b.value {
                Value::String(s) => s.clone(),
                Value::Number(x) => x.to_string(),
                _ => {
                    return Err(AppError::validation(format!(
                        "variables.buttons[{n}].value: a string"
                    )));
                }
            };
            Ok(ButtonValue {
                index: index as usize,
                value,
            })
        })
        .collect()
}

/// The stored template `name` in `language`, after one sync when unknown.
async fn by_name_language(
    state: &AppState,
    ch: &Channel,
    waba: &str,
    name: &str,
    language: &str,
) -> AppResult<TemplateRow> {
    let pick = |rows: Vec<TemplateRow>| rows.into_iter().find(|t| t.language == language);
    if let Some(t) = pick(store::by_name(&state.db, &ch.account_id, waba, name).await?) {
        return Ok(t);
    }
    sync(state, ch, waba).await?;
    let rows = store::by_name(&state.db, &ch.account_id, waba, name).await?;
    let languages: Vec<String> = rows.iter().map(|t| t.language.clone()).collect();
    pick(rows).ok_or_else(|| {
        let detail = if languages.is_empty() {
            format!(
                "template_name: no template `{name}` on this channel's WhatsApp Business Account"
            )
        } else {
            format!(
                "language: template `{name}` exists in {} but not in {language}",
                languages.join(", ")
            )
        };
        AppError::bad_request("template_not_found", detail)
    })
}

/// `POST /api/v1/messages/send-template`.
pub async fn send(
    state: &AppState,
    account_id: &str,
    req: &SendTemplateRequest,
    idempotency_key: Option<&str>,
) -> AppResult<SendResult> {
    let (ch, waba) = whatsapp_channel(state, account_id, &req.channel_id).await?;
    let idem = idempotency_key
        .map(|k| Idempotency::new(k, req))
        .transpose()?;
    let buttons = buttons_of(req.variables.as_ref())?;
    let t = by_name_language(state, &ch, &waba, &req.template_name, &req.language).await?;
    if t.status != "APPROVED" {
        return Err(AppError::bad_request(
            "template_not_approved",
            format!(
                "template `{}` ({}) is {}; only APPROVED templates can be sent{}",
                t.name,
                t.language,
                t.status,
                t.rejected_reason
                    .as_deref()
                    .map(|r| format!(" (rejected: {r})"))
                    .unwrap_or_default()
            ),
        ));
    }
    let stored: Vec<Value> = serde_json::from_str(&t.components).unwrap_or_default();
    let vars = req.variables.clone().unwrap_or_default();
    let components = rules::send_components(
        &stored,
        format_of(&t),
        vars.header.as_ref(),
        vars.body.as_ref(),
        &buttons,
    )
    .map_err(rule)?;
    let out = Outgoing {
        recipient: req.recipient.trim().to_string(),
        reply_to: None,
        payload: Payload::Template {
            name: t.name.clone(),
            language: t.language.clone(),
            components,
        },
    };
    messages::send_outgoing(state, account_id, &ch.id, out, idem).await
}
