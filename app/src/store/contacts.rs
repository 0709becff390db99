//! contacts: end users who wrote to a channel, and when they last did (the
//! 24-hour window of SPEC §5.1 is measured from `last_inbound_at`).

use super::Db;

/// Records an inbound message from `contact_id`; never moves the time back.
pub async fn seen(
    tx: &mut sqlx::AnyConnection,
    channel_id: &str,
    contact_id: &str,
    name: Option<&str>,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO contacts (channel_id, contact_id, name, last_inbound_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (channel_id, contact_id) DO UPDATE SET \
         name = COALESCE(excluded.name, contacts.name), \
         last_inbound_at = CASE WHEN excluded.last_inbound_at > contacts.last_inbound_at \
           THEN excluded.last_inbound_at ELSE contacts.last_inbound_at END",
    )
    .bind(channel_id)
    .bind(contact_id)
    .bind(name)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// When `contact_id` last wrote to the channel, if ever.
pub async fn last_inbound_at(
    db: &Db,
    channel_id: &str,
    contact_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT last_inbound_at FROM contacts WHERE channel_id = $1 AND contact_id = $2",
    )
    .bind(channel_id)
    .bind(contact_id)
    .fetch_optional(&db.pool)
    .await
}
