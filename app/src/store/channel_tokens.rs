//! The token columns of `channels` as the refresh job uses them (SPEC §5.5):
//! which tokens are due, the claim that keeps two processes from refreshing
//! the same token, and the outcome.

use sqlx::Row;

use super::Db;
use super::channels::Channel;

/// A channel whose token expires before `until`, with the job's bookkeeping.
#[derive(Clone, Debug)]
pub struct Due {
    pub channel_id: String,
    pub account_id: String,
    pub token_expires_at: i64,
    pub refresh_failed_at: Option<i64>,
    pub refresh_error: Option<String>,
}

/// Active channels whose token expires at or before `until` (expired ones too).
pub async fn due(db: &Db, until: i64) -> Result<Vec<Due>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, account_id, token_expires_at, token_refresh_failed_at, token_refresh_error \
         FROM channels WHERE is_active = 1 AND token_expires_at IS NOT NULL AND token_expires_at <= $1 \
         ORDER BY token_expires_at",
    )
    .bind(until)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Due {
                channel_id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
                token_expires_at: r.try_get("token_expires_at")?,
                refresh_failed_at: r.try_get("token_refresh_failed_at")?,
                refresh_error: r.try_get("token_refresh_error")?,
            })
        })
        .collect()
}

/// Claims the channel's token for one look by this process: false when
/// another process looked at it since `stale_before`.
pub async fn claim(
    db: &Db,
    channel_id: &str,
    now: i64,
    stale_before: i64,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE channels SET token_checked_at = $1 WHERE id = $2 AND is_active = 1 \
         AND (token_checked_at IS NULL OR token_checked_at <= $3)",
    )
    .bind(now)
    .bind(channel_id)
    .bind(stale_before)
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Stores a refreshed token (ciphertext) and its new expiry (`None`: never).
pub async fn refreshed(
    db: &Db,
    c: &Channel,
    token_ciphertext: &str,
    expires_at: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE channels SET access_token = $1, token_expires_at = $2, token_refresh_failed_at = NULL, \
         token_refresh_error = NULL, updated_at = $3 WHERE id = $4 AND access_token = $5",
    )
    .bind(token_ciphertext)
    .bind(expires_at)
    .bind(now)
    .bind(&c.id)
    .bind(&c.access_token)
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Remembers why a refresh could not be done, so it is tried again later.
pub async fn refresh_failed(
    db: &Db,
    channel_id: &str,
    error: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE channels SET token_refresh_failed_at = $1, token_refresh_error = $2 WHERE id = $3",
    )
    .bind(now)
    .bind(error)
    .bind(channel_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}
