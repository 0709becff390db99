//! An account's redirect URI patterns (SPEC §3.2.1): where the hosted connect
//! flow may send a browser back to. Validation and matching live in
//! [`crate::domain::redirect`]; this module stores and applies them.

use crate::clock::rfc3339;
use crate::domain::RedirectView;
use crate::domain::redirect::{RedirectPattern, find_match};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{
    self,
    redirects::{Inserted, RedirectUri},
};

/// Upper bound per account, so matching stays a short scan.
pub const MAX_PER_ACCOUNT: usize = 100;

fn view(r: &RedirectUri) -> RedirectView {
    RedirectView {
        id: r.id.clone(),
        uri_pattern: r.uri_pattern.clone(),
        created_at: rfc3339(r.created_at),
    }
}

/// Plain http is accepted for localhost only in sandbox mode (local development).
fn parse(state: &AppState, raw: &str) -> Result<RedirectPattern, String> {
    RedirectPattern::parse(raw, state.config.sandbox())
}

pub async fn create(state: &AppState, account_id: &str, raw: &str) -> AppResult<RedirectView> {
    let pattern =
        parse(state, raw).map_err(|e| AppError::bad_request("invalid_redirect_pattern", e))?;
    let r = RedirectUri {
        id: super::new_id(),
        account_id: account_id.to_string(),
        uri_pattern: pattern.as_str().to_string(),
        created_at: state.now(),
    };
    // Same pattern and cap are decided under the account lock (racing creates).
    match store::redirects::insert_capped(&state.db, &r, MAX_PER_ACCOUNT).await? {
        Inserted::New => Ok(view(&r)),
        Inserted::Existing(same) => Ok(view(&same)),
        Inserted::Full => Err(AppError::bad_request(
            "invalid_redirect_pattern",
            format!("an account can have at most {MAX_PER_ACCOUNT} redirect URIs"),
        )),
    }
}

pub async fn list(state: &AppState, account_id: &str) -> AppResult<Vec<RedirectView>> {
    Ok(store::redirects::list(&state.db, account_id)
        .await?
        .iter()
        .map(view)
        .collect())
}

pub async fn delete(state: &AppState, account_id: &str, id: &str) -> AppResult<()> {
    match store::redirects::delete(&state.db, account_id, id).await? {
        0 => Err(AppError::not_found("redirect URI")),
        _ => Ok(()),
    }
}

/// 400 `redirect_uri_not_allowed` unless one of the account's patterns fits.
pub async fn require_allowed(state: &AppState, account_id: &str, candidate: &str) -> AppResult<()> {
    let patterns: Vec<RedirectPattern> = store::redirects::list(&state.db, account_id)
        .await?
        .iter()
        .filter_map(|r| parse(state, &r.uri_pattern).ok())
        .collect();
    if find_match(&patterns, candidate).is_some() {
        Ok(())
    } else {
        Err(AppError::bad_request(
            "redirect_uri_not_allowed",
            format!(
                "redirect_uri `{}` matches none of the account's redirect URIs; add it with POST /api/v1/redirects",
                crate::domain::shown(candidate)
            ),
        ))
    }
}
