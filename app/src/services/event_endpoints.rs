//! Account event endpoints (SPEC §6): where `channel.connected`,
//! `delivery.exhausted` and the other account events go. Same signing, retry
//! and log as channel webhooks; the secret is generated here, stored
//! encrypted and shown once.

use serde::Serialize;

use crate::clock::rfc3339;
use crate::domain::events::ACCOUNT_EVENTS;
use crate::domain::retry::RetryPolicy;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{self, event_endpoints::EventEndpoint};

/// Most endpoints one account may have; more is a mistake, not a need.
pub const MAX_PER_ACCOUNT: usize = 20;

/// An endpoint as the API shows it; never with its secret.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EventEndpointView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    /// `standard` (20 minutes) or `extended` (24 hours).
    pub retry_policy: String,
    pub created_at: String,
}

/// The create answer: the endpoint plus its signing secret, shown this once.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedEndpoint {
    #[serde(flatten)]
    pub endpoint: EventEndpointView,
    /// 64 lowercase hex characters; only in this response.
    pub secret: String,
}

pub struct NewEndpoint {
    pub url: String,
    pub events: Vec<String>,
    pub retry_policy: Option<String>,
}

pub fn view(e: &EventEndpoint) -> EventEndpointView {
    EventEndpointView {
        id: e.id.clone(),
        url: e.url.clone(),
        events: e.event_list(),
        retry_policy: e.retry_policy.clone(),
        created_at: rfc3339(e.created_at),
    }
}

/// Checks a list of account event names, deduplicated in the given order; the
/// error names the first unknown event.
pub fn validate_events(events: &[String]) -> AppResult<Vec<String>> {
    if events.is_empty() {
        return Err(AppError::validation(format!(
            "events must name at least one event (one of: {})",
            ACCOUNT_EVENTS.join(", ")
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for e in events {
        if !ACCOUNT_EVENTS.contains(&e.as_str()) {
            return Err(AppError::bad_request(
                "invalid_event",
                format!(
                    "events: `{e}` is not an account event (allowed: {})",
                    ACCOUNT_EVENTS.join(", ")
                ),
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

/// The webhook URL rules of §3.1, with the error naming this API's field.
async fn check_url(state: &AppState, url: &str) -> AppResult<String> {
    let url = url.trim().to_string();
    super::webhook_target::check(&state.config, &url)
        .await
        .map_err(|e| match e {
            AppError::Client {
                status,
                code,
                detail,
                retry_after,
            } => AppError::Client {
                status,
                code,
                detail: detail.replace("webhook_url", "url"),
                retry_after,
            },
            other => other,
        })?;
    Ok(url)
}

pub async fn create(
    state: &AppState,
    account_id: &str,
    input: NewEndpoint,
) -> AppResult<CreatedEndpoint> {
    let url = check_url(state, &input.url).await?;
    let events = validate_events(&input.events)?;
    let policy = match input.retry_policy.as_deref() {
        None => RetryPolicy::Standard,
        Some(raw) => RetryPolicy::parse(raw).ok_or_else(|| {
            AppError::validation(format!(
                "retry_policy must be `standard` or `extended`, got `{raw}`"
            ))
        })?,
    };
    let full = || {
        AppError::validation(format!(
            "an account can have at most {MAX_PER_ACCOUNT} event endpoints; delete one first"
        ))
    };
    if store::event_endpoints::list(&state.db, account_id)
        .await?
        .len()
        >= MAX_PER_ACCOUNT
    {
        return Err(full());
    }
    let secret = super::channels::random_secret();
    let row = EventEndpoint {
        id: super::new_id(),
        account_id: account_id.to_string(),
        url,
        secret: state.cipher.encrypt(secret.as_bytes()),
        events: serde_json::to_string(&events).unwrap_or_else(|_| "[]".into()),
        retry_policy: policy.as_str().to_string(),
        is_active: true,
        created_at: state.now(),
        deleted_at: None,
    };
    // The look above answers early; this counts again under the account lock.
    if !store::event_endpoints::insert_capped(&state.db, &row, MAX_PER_ACCOUNT as i64).await? {
        return Err(full());
    }
    Ok(CreatedEndpoint {
        endpoint: view(&row),
        secret,
    })
}

pub async fn list(state: &AppState, account_id: &str) -> AppResult<Vec<EventEndpointView>> {
    Ok(store::event_endpoints::list(&state.db, account_id)
        .await?
        .iter()
        .map(view)
        .collect())
}

pub async fn get(state: &AppState, account_id: &str, id: &str) -> AppResult<EventEndpointView> {
    store::event_endpoints::get(&state.db, account_id, id)
        .await?
        .map(|e| view(&e))
        .ok_or_else(|| AppError::not_found("event endpoint"))
}

/// Deletes the endpoint; queued deliveries to it are given up at their next attempt.
pub async fn delete(state: &AppState, account_id: &str, id: &str) -> AppResult<()> {
    match store::event_endpoints::delete(&state.db, account_id, id, state.now()).await? {
        0 => Err(AppError::not_found("event endpoint")),
        _ => Ok(()),
    }
}

/// The signing secret in clear, for the relay.
pub fn secret(state: &AppState, e: &EventEndpoint) -> AppResult<String> {
    let bytes = state
        .cipher
        .decrypt(&e.secret)
        .map_err(|err| AppError::Internal(format!("event endpoint {} secret: {err}", e.id)))?;
    String::from_utf8(bytes).map_err(|err| AppError::Internal(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_checked_and_deduplicated() {
        let ok = validate_events(&[
            "channel.connected".into(),
            "delivery.exhausted".into(),
            "channel.connected".into(),
        ])
        .unwrap();
        assert_eq!(ok, vec!["channel.connected", "delivery.exhausted"]);
        let e = validate_events(&["message.received".into()]).unwrap_err();
        assert_eq!(e.code(), "invalid_event");
        assert!(e.public_detail().contains("message.received"));
        assert_eq!(validate_events(&[]).unwrap_err().code(), "validation_error");
    }
}
