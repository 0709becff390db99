//! Failed log-in counting in the database, so the limit holds across processes.

use super::Db;

pub async fn record_failure(db: &Db, key: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO login_failures (id, throttle_key, at) VALUES ($1, $2, $3)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(key)
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Failures since `since` and the time of the oldest of them.
pub async fn failures_since(
    db: &Db,
    key: &str,
    since: i64,
) -> Result<(i64, Option<i64>), sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM login_failures WHERE throttle_key = $1 AND at > $2",
    )
    .bind(key)
    .bind(since)
    .fetch_one(&db.pool)
    .await?;
    let oldest: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(at) FROM login_failures WHERE throttle_key = $1 AND at > $2",
    )
    .bind(key)
    .bind(since)
    .fetch_one(&db.pool)
    .await?;
    Ok((count, oldest))
}

pub async fn clear(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
        .bind(key)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn purge_before(db: &Db, before: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE at < $1")
        .bind(before)
        .execute(&db.pool)
        .await?;
    Ok(())
}
