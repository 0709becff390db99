//! `/api/v1/channels/{id}/templates…` (SPEC §5.3), `/api/v1/messages/send-template`
//! (§5.2) and `/api/v1/channels/{id}/profile/{user_id}` (§5.4): extract →
//! `services::templates` / `services::profiles` → JSON.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::domain;
use crate::domain::templates::TemplateView;
use crate::error::AppResult;
use crate::services::keys::KeyContext;
use crate::services::profiles::{self, ProfileAnswer};
use crate::services::templates::{
    self, EditTemplateRequest, NewTemplateRequest, SendTemplateRequest,
};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateList {
    pub templates: Vec<TemplateView>,
    pub total: usize,
}

fn default_true() -> bool {
    true
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Read every template from Meta first (default `true`); `false` answers from the local copy.
    #[serde(default = "default_true")]
    pub sync: bool,
    /// Only templates in this status (`APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, …).
    #[serde(default)]
    pub status: Option<String>,
}

/// The channel's WhatsApp templates (every language, every page from Meta).
#[utoipa::path(get, path = "/api/v1/channels/{id}/templates", tag = "templates",
    params(("id" = String, Path), ListQuery),
    responses(
        (status = 200, body = TemplateList),
        (status = 400, body = domain::ErrorBody, description = "not_supported (not WhatsApp), channel_inactive, validation_error (status)"),
        (status = 402, body = domain::ErrorBody, description = "subscription_required, plan_required (templates need pro)"),
        (status = 404, body = domain::ErrorBody),
        (status = 502, body = domain::ErrorBody, description = "meta_error"),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<axum::Json<TemplateList>> {
    let templates =
        templates::list(&state, &key.account_id, &id, q.sync, q.status.as_deref()).await?;
    Ok(axum::Json(TemplateList {
        total: templates.len(),
        templates,
    }))
}

#[utoipa::path(get, path = "/api/v1/channels/{id}/templates/{template_id}", tag = "templates",
    params(("id" = String, Path), ("template_id" = String, Path, description = "Meta's template id")),
    responses(
        (status = 200, body = TemplateView),
        (status = 404, body = domain::ErrorBody, description = "not_found (channel) or template_not_found"),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath((id, template_id)): ApiPath<(String, String)>,
) -> AppResult<axum::Json<TemplateView>> {
    Ok(axum::Json(
        templates::get(&state, &key.account_id, &id, &template_id).await?,
    ))
}

/// Submits a template to Meta for review; it starts `PENDING` and a
/// `template.status_updated` event follows Meta's decision. The channel and
/// the plan are checked first; then Meta's length limits, then the rules.
#[utoipa::path(post, path = "/api/v1/channels/{id}/templates", tag = "templates", request_body = NewTemplateRequest,
    params(("id" = String, Path)),
    responses(
        (status = 201, body = TemplateView),
        (status = 400, body = domain::ErrorBody, description = "invalid_template_name, invalid_template_language, invalid_template_category, invalid_parameter_format, invalid_template_components (also a text over Meta's limit, named in detail), too_many_variables (over 100 in a text), template_examples_required, not_supported, channel_inactive"),
        (status = 402, body = domain::ErrorBody, description = "plan_required"),
        (status = 404, body = domain::ErrorBody, description = "not_found: no such channel in the key's account (checked before the body's rules)"),
        (status = 409, body = domain::ErrorBody, description = "template_exists: same name and language"),
        (status = 502, body = domain::ErrorBody, description = "meta_error"),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewTemplateRequest>,
) -> AppResult<(StatusCode, axum::Json<TemplateView>)> {
    let t = templates::create(&state, &key.account_id, &id, &body).await?;
    Ok((StatusCode::CREATED, axum::Json(t)))
}

/// Replaces the components (and, while `REJECTED` or `PAUSED`, the category);
/// the template goes back to review.
#[utoipa::path(put, path = "/api/v1/channels/{id}/templates/{template_id}", tag = "templates", request_body = EditTemplateRequest,
    params(("id" = String, Path), ("template_id" = String, Path)),
    responses(
        (status = 200, body = TemplateView),
        (status = 400, body = domain::ErrorBody, description = "template_not_editable, invalid_template_category and the create rules"),
        (status = 404, body = domain::ErrorBody),
        (status = 502, body = domain::ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn edit(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath((id, template_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<EditTemplateRequest>,
) -> AppResult<axum::Json<TemplateView>> {
    Ok(axum::Json(
        templates::edit(&state, &key.account_id, &id, &template_id, &body).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Delete every language of the template's name (default: only this one).
    #[serde(default)]
    pub all_languages: bool,
}

#[utoipa::path(delete, path = "/api/v1/channels/{id}/templates/{template_id}", tag = "templates",
    params(("id" = String, Path), ("template_id" = String, Path), DeleteQuery),
    responses(
        (status = 204, description = "Deleted at Meta and locally"),
        (status = 404, body = domain::ErrorBody),
        (status = 502, body = domain::ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath((id, template_id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> AppResult<StatusCode> {
    templates::delete(&state, &key.account_id, &id, &template_id, q.all_languages).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends an approved template (works outside the 24-hour window). Same
/// answer, idempotency and queueing as `/messages/send`.
#[utoipa::path(post, path = "/api/v1/messages/send-template", tag = "messages", request_body = SendTemplateRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key with the same body within 24 h returns the first answer")),
    responses(
        (status = 200, body = crate::services::messages::SendResult),
        (status = 400, body = domain::ErrorBody, description = "template_not_found, template_not_approved, template_mismatch (detail names the part), not_supported, channel_inactive, invalid_recipient"),
        (status = 402, body = domain::ErrorBody, description = "subscription_required, plan_required"),
        (status = 404, body = domain::ErrorBody),
        (status = 409, body = domain::ErrorBody, description = "idempotency_conflict"),
        (status = 502, body = domain::ErrorBody, description = "meta_error"),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn send_template(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SendTemplateRequest>,
) -> AppResult<Response> {
    let idempotency_key = super::messages::idempotency_key(&headers)?;
    let result = templates::send(&state, &key.account_id, &body, idempotency_key).await?;
    Ok(super::messages::send_answer(result))
}

/// An Instagram or Messenger user's profile, cached 5 minutes.
#[utoipa::path(get, path = "/api/v1/channels/{id}/profile/{user_id}", tag = "channels",
    params(("id" = String, Path), ("user_id" = String, Path, description = "IGSID or PSID")),
    responses(
        (status = 200, body = ProfileAnswer, description = "profile is null for users Meta does not show"),
        (status = 400, body = domain::ErrorBody, description = "not_supported (WhatsApp), channel_inactive, validation_error"),
        (status = 404, body = domain::ErrorBody),
        (status = 502, body = domain::ErrorBody, description = "meta_error"),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn profile(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath((id, user_id)): ApiPath<(String, String)>,
) -> AppResult<axum::Json<ProfileAnswer>> {
    Ok(axum::Json(
        profiles::profile(&state, &key.account_id, &id, &user_id).await?,
    ))
}
