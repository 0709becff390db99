//! redirect_uris: an account's allowed return addresses for the hosted flow.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;

#[derive(Clone, Debug)]
pub struct RedirectUri {
    pub id: String,
    pub account_id: String,
    pub uri_pattern: String,
    pub created_at: i64,
}

fn row(r: &AnyRow) -> Result<RedirectUri, sqlx::Error> {
    Ok(RedirectUri {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        uri_pattern: r.try_get("uri_pattern")?,
        created_at: r.try_get("created_at")?,
    })
}

/// What [`insert_capped`] did.
pub enum Inserted {
    New,
    /// The account already had this pattern: that row.
    Existing(RedirectUri),
    /// The account already has `max` patterns.
    Full,
}

/// Inserts `r` unless the account already has the same pattern or `max`
/// patterns. Look and insert run in one transaction under the account lock,
/// so racing creates can neither pass the cap nor store a pattern twice.
pub async fn insert_capped(db: &Db, r: &RedirectUri, max: usize) -> Result<Inserted, sqlx::Error> {
    let mut tx = db.begin().await?;
    super::locks::account(&mut tx, &r.account_id).await?;
    let existing: Vec<RedirectUri> = sqlx::query(
        "SELECT id, account_id, uri_pattern, created_at FROM redirect_uris \
         WHERE account_id = $1 ORDER BY created_at, id",
    )
    .bind(&r.account_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(row)
    .collect::<Result<_, _>>()?;
    if let Some(same) = existing
        .into_iter()
        .find(|e| e.uri_pattern == r.uri_pattern)
    {
        return Ok(Inserted::Existing(same));
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM redirect_uris WHERE account_id = $1")
        .bind(&r.account_id)
        .fetch_one(&mut *tx)
        .await?;
    if n as usize >= max {
        return Ok(Inserted::Full);
    }
    sqlx::query(
        "INSERT INTO redirect_uris (id, account_id, uri_pattern, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&r.id)
    .bind(&r.account_id)
    .bind(&r.uri_pattern)
    .bind(r.created_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Inserted::New)
}

pub async fn list(db: &Db, account_id: &str) -> Result<Vec<RedirectUri>, sqlx::Error> {
    sqlx::query(
        "SELECT id, account_id, uri_pattern, created_at FROM redirect_uris \
         WHERE account_id = $1 ORDER BY created_at, id",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(row)
    .collect()
}

pub async fn delete(db: &Db, account_id: &str, id: &str) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM redirect_uris WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .execute(&db.pool)
            .await?
            .rows_affected(),
    )
}
