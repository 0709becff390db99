//! event_endpoints: an account's webhook endpoints for account events
//! (SPEC §6). `secret` holds ciphertext; `events` a JSON array. Deleting is
//! soft (`deleted_at`), because deliveries keep referring to the row.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, flag};

#[derive(Clone, Debug)]
pub struct EventEndpoint {
    pub id: String,
    pub account_id: String,
    pub url: String,
    /// Ciphertext of the signing secret.
    pub secret: String,
    /// JSON array of event names.
    pub events: String,
    pub retry_policy: String,
    pub is_active: bool,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
}

impl EventEndpoint {
    pub fn event_list(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }
}

const COLUMNS: &str =
    "id, account_id, url, secret, events, retry_policy, is_active, created_at, deleted_at";

fn row(r: &AnyRow) -> Result<EventEndpoint, sqlx::Error> {
    Ok(EventEndpoint {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        url: r.try_get("url")?,
        secret: r.try_get("secret")?,
        events: r.try_get("events")?,
        retry_policy: r.try_get("retry_policy")?,
        is_active: r.try_get::<i64, _>("is_active")? != 0,
        created_at: r.try_get("created_at")?,
        deleted_at: r.try_get("deleted_at")?,
    })
}

/// Inserts `e` unless the account already has `max` endpoints (deleted ones
/// do not count); false when full. Count and insert run in one transaction
/// under the account lock, so racing creates cannot pass the cap.
pub async fn insert_capped(db: &Db, e: &EventEndpoint, max: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    super::locks::account(&mut tx, &e.account_id).await?;
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM event_endpoints WHERE account_id = $1 AND deleted_at IS NULL",
    )
    .bind(&e.account_id)
    .fetch_one(&mut *tx)
    .await?;
    if n >= max {
        return Ok(false);
    }
    insert(&mut tx, e).await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn insert(tx: &mut sqlx::AnyConnection, e: &EventEndpoint) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO event_endpoints ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&e.id)
    .bind(&e.account_id)
    .bind(&e.url)
    .bind(&e.secret)
    .bind(&e.events)
    .bind(&e.retry_policy)
    .bind(flag(e.is_active))
    .bind(e.created_at)
    .bind(e.deleted_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The account's endpoint `id` unless deleted; another account's id is as
/// absent as an unknown one.
pub async fn get(
    db: &Db,
    account_id: &str,
    id: &str,
) -> Result<Option<EventEndpoint>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM event_endpoints WHERE id = $1 AND account_id = $2 \
         AND deleted_at IS NULL"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(row)
    .transpose()
}

/// The endpoint as the relay sees it, deleted or not.
pub async fn by_id(db: &Db, id: &str) -> Result<Option<EventEndpoint>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM event_endpoints WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(row)
    .transpose()
}

/// The account's endpoints that are not deleted, oldest first.
pub async fn list(db: &Db, account_id: &str) -> Result<Vec<EventEndpoint>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM event_endpoints WHERE account_id = $1 AND deleted_at IS NULL \
         ORDER BY created_at, id"
    ))
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(row)
    .collect()
}

/// Soft delete; returns the number of rows changed (0 for unknown ids).
pub async fn delete(db: &Db, account_id: &str, id: &str, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE event_endpoints SET is_active = 0, deleted_at = $1 \
         WHERE id = $2 AND account_id = $3 AND deleted_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(account_id)
    .execute(&db.pool)
    .await?
    .rows_affected())
}
