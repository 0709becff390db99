//! Installation-wide values generated once and kept (e.g. sandbox app credentials).

use super::Db;

pub async fn get(db: &Db, name: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
        .bind(name)
        .fetch_optional(&db.pool)
        .await
}

/// Returns the stored value, or stores `candidate` and returns it. Safe when two
/// processes start at once: the first insert wins and both read the same value.
pub async fn get_or_insert(db: &Db, name: &str, candidate: &str) -> Result<String, sqlx::Error> {
    sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(candidate)
        .execute(&db.pool)
        .await?;
    Ok(get(db, name)
        .await?
        .unwrap_or_else(|| candidate.to_string()))
}
