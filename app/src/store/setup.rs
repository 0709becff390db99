//! setup_sessions and connect_codes: the hosted connect flow's state.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;

#[derive(Clone, Debug)]
pub struct SetupSession {
    pub id: String,
    pub account_id: String,
    pub channel_type: String,
    pub redirect_uri: String,
    pub client_state: Option<String>,
    pub oauth_state_hash: Option<String>,
    /// `created`, `started`, `picking`, `completed`, `failed`.
    pub status: String,
    /// Ciphertext of the discovered assets while the user picks one.
    pub candidates: Option<String>,
    pub expires_at: i64,
    pub created_at: i64,
    /// Set when the session was started from an onboarding link (SPEC §6):
    /// it then finishes the link instead of handing out a connect code.
    pub onboarding_link_id: Option<String>,
}

const COLUMNS: &str = "id, account_id, channel_type, redirect_uri, client_state, oauth_state_hash, \
    status, candidates, expires_at, created_at, onboarding_link_id";

fn row(r: &AnyRow) -> Result<SetupSession, sqlx::Error> {
    Ok(SetupSession {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        channel_type: r.try_get("channel_type")?,
        redirect_uri: r.try_get("redirect_uri")?,
        client_state: r.try_get("client_state")?,
        oauth_state_hash: r.try_get("oauth_state_hash")?,
        status: r.try_get("status")?,
        candidates: r.try_get("candidates")?,
        expires_at: r.try_get("expires_at")?,
        created_at: r.try_get("created_at")?,
        onboarding_link_id: r.try_get("onboarding_link_id")?,
    })
}

pub async fn insert(db: &Db, s: &SetupSession) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO setup_sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&s.id)
    .bind(&s.account_id)
    .bind(&s.channel_type)
    .bind(&s.redirect_uri)
    .bind(&s.client_state)
    .bind(&s.oauth_state_hash)
    .bind(&s.status)
    .bind(&s.candidates)
    .bind(s.expires_at)
    .bind(s.created_at)
    .bind(&s.onboarding_link_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<SetupSession>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM setup_sessions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(row)
    .transpose()
}

pub async fn by_state_hash(db: &Db, hash: &str) -> Result<Option<SetupSession>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM setup_sessions WHERE oauth_state_hash = $1"
    ))
    .bind(hash)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(row)
    .transpose()
}

/// Moves the session from one of `from` to `to`; false when another request
/// got there first (double-submitted forms, replayed callbacks).
pub async fn transition(
    db: &Db,
    id: &str,
    from: &[&str],
    to: &str,
    oauth_state_hash: Option<&str>,
    candidates: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let finished = matches!(to, "completed" | "failed").then_some(now);
    let list = from
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let n = sqlx::query(&format!(
        "UPDATE setup_sessions SET status = $1, oauth_state_hash = COALESCE($2, oauth_state_hash), \
         candidates = $3, finished_at = $4 WHERE id = $5 AND status IN ({list})"
    ))
    .bind(to)
    .bind(oauth_state_hash)
    .bind(candidates)
    .bind(finished)
    .bind(id)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn insert_code(
    db: &Db,
    code_hash: &str,
    account_id: &str,
    channel_id: &str,
    expires_at: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO connect_codes (code_hash, account_id, channel_id, expires_at, used_at, created_at) \
         VALUES ($1, $2, $3, $4, NULL, $5)",
    )
    .bind(code_hash)
    .bind(account_id)
    .bind(channel_id)
    .bind(expires_at)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Spends a code of `account_id` in one statement: unknown, foreign, used and
/// expired codes all yield `None`, and a foreign attempt leaves the code intact.
pub async fn use_code(
    db: &Db,
    code_hash: &str,
    account_id: &str,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE connect_codes SET used_at = $1 WHERE code_hash = $2 AND account_id = $3 \
         AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(code_hash)
    .bind(account_id)
    .execute(&db.pool)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT channel_id FROM connect_codes WHERE code_hash = $1")
        .bind(code_hash)
        .fetch_optional(&db.pool)
        .await
}

/// The channel of a usable code of `account_id`, without spending it.
pub async fn peek_code(
    db: &Db,
    code_hash: &str,
    account_id: &str,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT channel_id FROM connect_codes WHERE code_hash = $1 AND account_id = $2 \
         AND used_at IS NULL AND expires_at > $3",
    )
    .bind(code_hash)
    .bind(account_id)
    .bind(now)
    .fetch_optional(&db.pool)
    .await
}
