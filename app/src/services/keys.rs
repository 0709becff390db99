//! API keys: creation (shown once), listing, revocation and authentication.

use crate::clock::rfc3339;
use crate::crypto;
use crate::domain::{self, ApiKeyView, CreatedKey};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{self, keys::ApiKey};

/// Who is calling the REST API.
#[derive(Clone, Debug)]
pub struct KeyContext {
    pub key_id: String,
    pub key_name: String,
    pub account_id: String,
}

pub fn view(k: &ApiKey) -> ApiKeyView {
    ApiKeyView {
        id: k.id.clone(),
        name: k.name.clone(),
        masked: domain::masked_key(&k.prefix, &k.last4),
        created_at: rfc3339(k.created_at),
        last_used_at: k.last_used_at.map(rfc3339),
        revoked: k.revoked_at.is_some(),
    }
}

pub async fn create(
    state: &AppState,
    account_id: &str,
    name: &str,
    created_by: Option<&str>,
) -> AppResult<CreatedKey> {
    let name = domain::validate_key_name(name).map_err(AppError::validation)?;
    let prefix = domain::key_prefix(state.config.sandbox());
    let secret = format!("{prefix}{}", crypto::random_base62(domain::KEY_BODY_LEN));
    let key = ApiKey {
        id: super::new_id(),
        account_id: account_id.to_string(),
        name,
        prefix: prefix.to_string(),
        last4: secret[secret.len() - 4..].to_string(),
        created_at: state.now(),
        last_used_at: None,
        revoked_at: None,
    };
    store::keys::insert(&state.db, &key, &crypto::sha256_hex(&secret), created_by).await?;
    Ok(CreatedKey {
        key: view(&key),
        secret,
    })
}

pub async fn list(state: &AppState, account_id: &str) -> AppResult<Vec<ApiKeyView>> {
    Ok(store::keys::list(&state.db, account_id)
        .await?
        .iter()
        .map(view)
        .collect())
}

pub async fn revoke(state: &AppState, account_id: &str, key_id: &str) -> AppResult<()> {
    match store::keys::revoke(&state.db, account_id, key_id, state.now()).await? {
        0 => Err(AppError::not_found("API key")),
        _ => Ok(()),
    }
}

/// Resolves a presented key. Unknown, malformed and revoked keys are indistinguishable
/// to the caller.
pub async fn authenticate(state: &AppState, presented: &str) -> AppResult<KeyContext> {
    let invalid =
        || AppError::unauthorized("invalid_api_key", "the API key is not valid or was revoked");
    if !domain::looks_like_key(presented) {
        return Err(invalid());
    }
    let hash = crypto::sha256_hex(presented);
    let Some((key, stored_hash)) = store::keys::active_by_hash(&state.db, &hash).await? else {
        return Err(invalid());
    };
    // The index found the row; the constant-time compare keeps the final check
    // free of early exits whatever the database's collation does.
    if !crypto::constant_time_eq(stored_hash.as_bytes(), hash.as_bytes()) {
        return Err(invalid());
    }
    store::keys::touch(&state.db, &key.id, state.now()).await?;
    Ok(KeyContext {
        key_id: key.id,
        key_name: key.name,
        account_id: key.account_id,
    })
}

fn require_manager(me: &domain::Me) -> AppResult<()> {
    if me.role.can_manage() {
        Ok(())
    } else {
        Err(AppError::forbidden_role(
            "only owners and admins can manage API keys",
        ))
    }
}

/// Creation from the Portal: the role rule applies.
pub async fn create_as(state: &AppState, me: &domain::Me, name: &str) -> AppResult<CreatedKey> {
    require_manager(me)?;
    create(state, &me.account_id, name, Some(&me.user_id)).await
}

pub async fn revoke_as(state: &AppState, me: &domain::Me, key_id: &str) -> AppResult<()> {
    require_manager(me)?;
    revoke(state, &me.account_id, key_id).await
}
