//! `GET/PATCH /api/v1/account`: who am I.

use axum::Extension;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::extract::ApiJson;
use crate::clock::rfc3339;
use crate::domain;
use crate::error::{AppError, AppResult};
use crate::services::keys::KeyContext;
use crate::state::AppState;
use crate::store;

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountResponse {
    /// Account id (UUID).
    pub account_id: String,
    pub name: String,
    /// `sandbox` or `live`.
    pub mode: String,
    /// Id of the API key used for this request.
    pub key_id: String,
    pub key_name: String,
    pub created_at: String,
    /// End of the trial, when the account is in one.
    pub trial_ends_at: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    /// New display name (1–80 characters).
    pub name: String,
}

async fn respond(state: &AppState, key: &KeyContext) -> AppResult<axum::Json<AccountResponse>> {
    let account = store::accounts::account(&state.db, &key.account_id)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    Ok(axum::Json(AccountResponse {
        account_id: account.id,
        name: account.name,
        mode: state.config.meta_mode.as_str().to_string(),
        key_id: key.key_id.clone(),
        key_name: key.key_name.clone(),
        created_at: rfc3339(account.created_at),
        trial_ends_at: account.trial_ends_at.map(rfc3339),
    }))
}

/// The account and key behind the presented API key.
#[utoipa::path(get, path = "/api/v1/account", tag = "account",
    responses(
        (status = 200, body = AccountResponse),
        (status = 401, body = domain::ErrorBody, description = "missing or invalid key"),
        (status = 429, body = domain::ErrorBody, description = "rate limited"),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get_account(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
) -> AppResult<axum::Json<AccountResponse>> {
    respond(&state, &key).await
}

/// Renames the account.
#[utoipa::path(patch, path = "/api/v1/account", tag = "account", request_body = AccountPatch,
    responses(
        (status = 200, body = AccountResponse),
        (status = 400, body = domain::ErrorBody, description = "invalid_json or validation_error"),
        (status = 413, body = domain::ErrorBody), (status = 415, body = domain::ErrorBody),
        (status = 422, body = domain::ErrorBody, description = "JSON of the wrong shape"),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn patch_account(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiJson(patch): ApiJson<AccountPatch>,
) -> AppResult<axum::Json<AccountResponse>> {
    let name = domain::validate_account_name(&patch.name)
        .map_err(|e| AppError::validation(format!("name: {e}")))?;
    store::accounts::rename(&state.db, &key.account_id, &name).await?;
    respond(&state, &key).await
}
