//! The two-step verification PIN Switchboard chose when it registered a
//! WhatsApp number at connect (SPEC §13), kept sealed on the channel row and
//! handed out once.

use sqlx::Row;

use super::Db;

/// Keeps a freshly set PIN (already sealed) as not yet shown, and drops the
/// cached health, which still says the number is not registered.
pub async fn store(db: &Db, channel_id: &str, sealed_pin: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE channels SET two_step_pin = $1, two_step_pin_shown_at = NULL, \
         health = NULL, health_checked_at = NULL WHERE id = $2",
    )
    .bind(sealed_pin)
    .bind(channel_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The sealed PIN of the account's channel if it was never shown, marking it
/// shown in the same conditional UPDATE: of two racing readers one gets it.
pub async fn take_unshown(
    db: &Db,
    account_id: &str,
    channel_id: &str,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE channels SET two_step_pin_shown_at = $1 WHERE id = $2 AND account_id = $3 \
         AND two_step_pin IS NOT NULL AND two_step_pin_shown_at IS NULL",
    )
    .bind(now)
    .bind(channel_id)
    .bind(account_id)
    .execute(&db.pool)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(None);
    }
    let row = sqlx::query("SELECT two_step_pin FROM channels WHERE id = $1")
        .bind(channel_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<String>, _>("two_step_pin")?,
        None => None,
    })
}
