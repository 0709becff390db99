//! API keys: only a SHA-256 hash and the last four characters are stored.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;

#[derive(Clone, Debug)]
pub struct ApiKey {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub prefix: String,
    pub last4: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

fn key(r: &AnyRow) -> Result<ApiKey, sqlx::Error> {
    Ok(ApiKey {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        name: r.try_get("name")?,
        prefix: r.try_get("prefix")?,
        last4: r.try_get("last4")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

const COLUMNS: &str = "id, account_id, name, prefix, last4, created_at, last_used_at, revoked_at";

pub async fn insert(
    db: &Db,
    k: &ApiKey,
    key_hash: &str,
    created_by: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_keys (id, account_id, name, key_hash, prefix, last4, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&k.id)
    .bind(&k.account_id)
    .bind(&k.name)
    .bind(key_hash)
    .bind(&k.prefix)
    .bind(&k.last4)
    .bind(created_by)
    .bind(k.created_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The active key with this hash. The hash is the unique index, so the look-up
/// itself never compares secret material byte by byte.
pub async fn active_by_hash(
    db: &Db,
    key_hash: &str,
) -> Result<Option<(ApiKey, String)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, key_hash FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
    ))
    .bind(key_hash)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| Ok((key(&r)?, r.try_get("key_hash")?)))
        .transpose()
}

pub async fn list(db: &Db, account_id: &str) -> Result<Vec<ApiKey>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE account_id = $1 ORDER BY (revoked_at IS NOT NULL), created_at DESC"
    ))
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(key)
    .collect()
}

pub async fn count_active(db: &Db, account_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL")
        .bind(account_id)
        .fetch_one(&db.pool)
        .await
}

pub async fn revoke(db: &Db, account_id: &str, id: &str, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .bind(account_id)
        .execute(&db.pool)
        .await?
        .rows_affected())
}

/// Records use at most once a minute per key, so hot keys do not turn every
/// read into a write.
pub async fn touch(db: &Db, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
        .bind(now)
        .bind(id)
        .bind(now - 60_000)
        .execute(&db.pool)
        .await?;
    Ok(())
}
