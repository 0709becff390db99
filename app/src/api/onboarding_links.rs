//! `POST/GET /api/v1/onboarding-links`, `GET/DELETE /api/v1/onboarding-links/{id}`
//! (SPEC §6): hosted sign-up links for the customer's own end users.

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;

use super::extract::{ApiJson, ApiPath};
use crate::domain;
use crate::domain::onboarding::{OnboardingLinkList, OnboardingLinkView};
use crate::error::{AppError, AppResult};
use crate::services::keys::KeyContext;
use crate::services::onboarding::{self, DEFAULT_LIMIT, NewLink};
use crate::state::AppState;

/// Creates a link (pro tier). The answer carries `webhook_secret` once: the
/// one passed, or a generated 64-hex one when `webhook_url` came without it.
#[utoipa::path(post, path = "/api/v1/onboarding-links", tag = "onboarding-links",
    request_body = NewLink,
    responses(
        (status = 201, body = OnboardingLinkView),
        (status = 400, body = domain::ErrorBody, description = "validation_error, redirect_uri_not_allowed, invalid_event, invalid_webhook_url, webhook_target_forbidden, invalid_webhook_secret"),
        (status = 402, body = domain::ErrorBody, description = "plan_required: onboarding links need the pro tier"),
        (status = 422, body = domain::ErrorBody),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiJson(body): ApiJson<NewLink>,
) -> AppResult<(StatusCode, axum::Json<OnboardingLinkView>)> {
    let link =
        onboarding::create(&state, &key.account_id, body, domain::SECRET_MAX_LEN_API).await?;
    Ok((StatusCode::CREATED, axum::Json(link)))
}

/// `page` and `limit` as positive integers; anything else is a 400 naming the
/// parameter (not axum's plain-text rejection).
fn paging(query: Option<&str>) -> AppResult<(i64, i64)> {
    let mut page = 1;
    let mut limit = DEFAULT_LIMIT;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let slot = match k.as_ref() {
            "page" => &mut page,
            "limit" => &mut limit,
            _ => continue,
        };
        *slot = v.trim().parse::<i64>().map_err(|_| {
            AppError::validation(format!("{k} must be a positive integer, got `{v}`"))
        })?;
    }
    Ok((page, limit))
}

/// The account's links, newest first: `?page=1&limit=50` (limit 1–100).
#[utoipa::path(get, path = "/api/v1/onboarding-links", tag = "onboarding-links",
    params(
        ("page" = Option<i64>, Query, description = "From 1 (default 1)"),
        ("limit" = Option<i64>, Query, description = "1–100 (default 50)"),
    ),
    responses((status = 200, body = OnboardingLinkList), (status = 400, body = domain::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    RawQuery(query): RawQuery,
) -> AppResult<axum::Json<OnboardingLinkList>> {
    let (page, limit) = paging(query.as_deref())?;
    Ok(axum::Json(
        onboarding::list(&state, &key.account_id, page, limit).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/onboarding-links/{id}", tag = "onboarding-links",
    params(("id" = String, Path, description = "Onboarding link id (UUID)")),
    responses((status = 200, body = OnboardingLinkView), (status = 404, body = domain::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath(id): ApiPath<String>,
) -> AppResult<axum::Json<OnboardingLinkView>> {
    Ok(axum::Json(
        onboarding::get(&state, &key.account_id, &id).await?,
    ))
}

/// Deletes a pending link; a completed or expired one answers 409 `link_not_pending`.
#[utoipa::path(delete, path = "/api/v1/onboarding-links/{id}", tag = "onboarding-links",
    params(("id" = String, Path, description = "Onboarding link id (UUID)")),
    responses(
        (status = 204),
        (status = 404, body = domain::ErrorBody),
        (status = 409, body = domain::ErrorBody, description = "link_not_pending"),
    ),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(key): Extension<KeyContext>,
    ApiPath(id): ApiPath<String>,
) -> AppResult<StatusCode> {
    onboarding::delete(&state, &key.account_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    #[test]
    fn paging_defaults_and_errors() {
        assert_eq!(super::paging(None).unwrap(), (1, 50));
        assert_eq!(super::paging(Some("page=3&limit=10")).unwrap(), (3, 10));
        let e = super::paging(Some("page=abc")).unwrap_err();
        assert_eq!(e.code(), "validation_error");
        assert!(e.public_detail().contains("page"));
    }
}
