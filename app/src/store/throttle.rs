//! Throttle hits in the database, so that every limit holds across processes.
//! A bucket is an opaque key (`login:ip:…`, `mail:addr:…`); the rules that
//! name buckets and their limits live in `services::throttle`.

use super::Db;

pub async fn record(db: &Db, bucket: &str, now: i64, expires_at: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO throttle_hits (id, bucket, at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(bucket)
        .bind(now)
        .bind(expires_at)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Hits of `bucket` after `since`, and the time of the oldest of them.
pub async fn hits_since(
    db: &Db,
    bucket: &str,
    since: i64,
) -> Result<(i64, Option<i64>), sqlx::Error> {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM throttle_hits WHERE bucket = $1 AND at > $2",
    )
    .bind(bucket)
    .bind(since)
    .fetch_one(&db.pool)
    .await?;
    Ok((row.try_get("n")?, row.try_get("oldest")?))
}

pub async fn clear(db: &Db, bucket: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM throttle_hits WHERE bucket = $1")
        .bind(bucket)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Forgets hits that expired before `before` (housekeeping).
pub async fn purge_before(db: &Db, before: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM throttle_hits WHERE expires_at < $1")
        .bind(before)
        .execute(&db.pool)
        .await?;
    Ok(())
}
