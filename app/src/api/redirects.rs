//! `POST/GET /api/v1/redirects`, `DELETE /api/v1/redirects/{id}`.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::extract::{ApiJson, ApiPath};
use crate::domain::{self, RedirectView};
use crate::error::AppResult;
use crate::services::keys::KeyContext;
use crate::services::redirects;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedirectCreate {
    /// An https URL; `*` may stand for one whole leftmost host label.
    pub uri_pattern: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RedirectList {
    pub redirects: Vec<RedirectView>,
    pub total: usize,
}

/// Adds an allowed redirect URI pattern (adding an existing one returns it).
#[utoipa::path(post, path = "/api/v1/redirects", tag = "redirects", request_body = RedirectCreate,
    responses(
        (status = 201, body = RedirectView),
        (status = 400, body = domain::ErrorBody, description = "invalid_redirect_pattern"),
        (status = 422, body = domain::ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiJson(body): ApiJson<RedirectCreate>,
) -> AppResult<(StatusCode, axum::Json<RedirectView>)> {
    let r = redirects::create(&state, &key.account_id, &body.uri_pattern).await?;
    Ok((StatusCode::CREATED, axum::Json(r)))
}

#[utoipa::path(get, path = "/api/v1/redirects", tag = "redirects",
    responses((status = 200, body = RedirectList)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
) -> AppResult<axum::Json<RedirectList>> {
    let redirects = redirects::list(&state, &key.account_id).await?;
    Ok(axum::Json(RedirectList {
        total: redirects.len(),
        redirects,
    }))
}

#[utoipa::path(delete, path = "/api/v1/redirects/{id}", tag = "redirects",
    params(("id" = String, Path, description = "Redirect URI id")),
    responses((status = 204), (status = 404, body = domain::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath(id): ApiPath<String>,
) -> AppResult<StatusCode> {
    redirects::delete(&state, &key.account_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
