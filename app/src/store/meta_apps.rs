//! meta_apps: customers' own Meta apps (manual connections). Secret columns
//! hold ciphertext; the caller encrypts.

use super::Db;

#[derive(Clone, Debug)]
pub struct MetaApp {
    pub id: String,
    pub account_id: String,
    pub meta_app_id: String,
    pub app_secret: String,
    pub verify_token: String,
    pub verify_token_hash: String,
}

/// The id of the account's own record of `meta_app_id`, if any.
pub async fn of_account(
    db: &Db,
    account_id: &str,
    meta_app_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM meta_apps WHERE account_id = $1 AND meta_app_id = $2")
        .bind(account_id)
        .bind(meta_app_id)
        .fetch_optional(&db.pool)
        .await
}

/// Stores a new record; returns its id. A racing insert of the same
/// account and app (unique index) yields the row that won.
pub async fn insert(db: &Db, app: &MetaApp, now: i64) -> Result<String, sqlx::Error> {
    sqlx::query(
        "INSERT INTO meta_apps (id, account_id, meta_app_id, app_secret, verify_token, \
         verify_token_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (account_id, meta_app_id) DO NOTHING",
    )
    .bind(&app.id)
    .bind(&app.account_id)
    .bind(&app.meta_app_id)
    .bind(&app.app_secret)
    .bind(&app.verify_token)
    .bind(&app.verify_token_hash)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(of_account(db, &app.account_id, &app.meta_app_id)
        .await?
        .unwrap_or_else(|| app.id.clone()))
}

/// Replaces the secrets of record `id` (only ever the caller's own record:
/// the id comes from [`of_account`]).
pub async fn update_secrets(db: &Db, id: &str, app: &MetaApp, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE meta_apps SET app_secret = $1, verify_token = $2, verify_token_hash = $3, \
         updated_at = $4 WHERE id = $5 AND account_id = $6",
    )
    .bind(&app.app_secret)
    .bind(&app.verify_token)
    .bind(&app.verify_token_hash)
    .bind(now)
    .bind(id)
    .bind(&app.account_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Removes record `id` unless a channel was connected through it.
pub async fn delete_unused(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM meta_apps WHERE id = $1 \
         AND NOT EXISTS (SELECT 1 FROM channels WHERE meta_app_ref = $1)",
    )
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Inserts or refreshes the account's record of `meta_app_id`; returns its id.
pub async fn upsert(db: &Db, app: &MetaApp, now: i64) -> Result<String, sqlx::Error> {
    match of_account(db, &app.account_id, &app.meta_app_id).await? {
        Some(id) => {
            update_secrets(db, &id, app, now).await?;
            Ok(id)
        }
        None => insert(db, app, now).await,
    }
}

/// The Meta app id behind a stored app record.
pub async fn meta_app_id(db: &Db, id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT meta_app_id FROM meta_apps WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await
}

/// Every stored record of a Meta app (one per account that connected it by
/// hand); the per-app webhook path tries their secrets, and a payload then
/// reaches only channels connected through a record whose secret verified it.
pub async fn by_meta_app_id(db: &Db, meta_app_id: &str) -> Result<Vec<MetaApp>, sqlx::Error> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT id, account_id, meta_app_id, app_secret, verify_token, verify_token_hash \
         FROM meta_apps WHERE meta_app_id = $1 ORDER BY created_at",
    )
    .bind(meta_app_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MetaApp {
                id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
                meta_app_id: r.try_get("meta_app_id")?,
                app_secret: r.try_get("app_secret")?,
                verify_token: r.try_get("verify_token")?,
                verify_token_hash: r.try_get("verify_token_hash")?,
            })
        })
        .collect()
}

/// True when some account registered `meta_app_id` with this verify token
/// (looked up by its SHA-256, so no row is decrypted).
pub async fn verify_token_known(
    db: &Db,
    meta_app_id: &str,
    verify_token_hash: &str,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM meta_apps WHERE meta_app_id = $1 AND verify_token_hash = $2",
    )
    .bind(meta_app_id)
    .bind(verify_token_hash)
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}
