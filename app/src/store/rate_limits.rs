//! The per-API-key rate limit's buckets in the database (PostgreSQL), so the
//! limit holds across processes. One statement per request: an upsert that
//! reads and moves the bucket atomically under the row's lock.

use super::Db;

/// Spends one request from `key_id`'s bucket at `now_us` when it holds one,
/// and answers the bucket's theoretical arrival time after the request and
/// whether the request was let through. `interval_us` is the time one request
/// takes to refill, `window_us` the time an empty bucket takes to fill.
pub async fn take(
    db: &Db,
    key_id: &str,
    now_us: i64,
    interval_us: i64,
    window_us: i64,
) -> Result<(i64, bool), sqlx::Error> {
    // GCRA: the bucket starts from `max(tat, now)`; the request fits when
    // one more interval stays within the window. Every SET expression reads
    // the row as it was, so the flag and the new time agree.
    let (tat, allowed): (i64, i64) = sqlx::query_as(
        "INSERT INTO api_rate_limits (key_id, tat_us, last_allowed) VALUES ($1, $2 + $3, 1) \
         ON CONFLICT (key_id) DO UPDATE SET \
           tat_us = CASE \
             WHEN (CASE WHEN api_rate_limits.tat_us > $2 THEN api_rate_limits.tat_us ELSE $2 END) + $3 - $2 <= $4 \
             THEN (CASE WHEN api_rate_limits.tat_us > $2 THEN api_rate_limits.tat_us ELSE $2 END) + $3 \
             ELSE api_rate_limits.tat_us END, \
           last_allowed = CASE \
             WHEN (CASE WHEN api_rate_limits.tat_us > $2 THEN api_rate_limits.tat_us ELSE $2 END) + $3 - $2 <= $4 \
             THEN 1 ELSE 0 END \
         RETURNING tat_us, last_allowed",
    )
    .bind(key_id)
    .bind(now_us)
    .bind(interval_us)
    .bind(window_us)
    .fetch_one(&db.pool)
    .await?;
    Ok((tat, allowed == 1))
}

/// PostgreSQL: the buckets skip the write-ahead log. Losing them in a crash
/// only refills every bucket, and each request then costs no log flush.
/// Checked first, so a running installation never takes the table lock again.
pub async fn prepare(db: &Db) -> Result<(), sqlx::Error> {
    if db.kind != super::DbKind::Postgres {
        return Ok(());
    }
    let logged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_class WHERE relname = 'api_rate_limits' \
         AND relpersistence = 'p' AND pg_table_is_visible(oid)",
    )
    .fetch_one(&db.pool)
    .await?;
    if logged > 0 {
        sqlx::query("ALTER TABLE api_rate_limits SET UNLOGGED")
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}
