//! alert_marks: "at most one per key per window" for operational mails.

use super::Db;

/// Takes the mark `key` unless it was taken less than `window_ms` ago.
/// True means the caller may send; concurrent callers cannot both win.
pub async fn take(db: &Db, key: &str, now: i64, window_ms: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO alert_marks (key, sent_at) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET sent_at = $2 WHERE alert_marks.sent_at <= $3",
    )
    .bind(key)
    .bind(now)
    .bind(now - window_ms)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
