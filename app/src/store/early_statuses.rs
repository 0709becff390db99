//! early_statuses: WhatsApp statuses parked until their send records Meta's
//! message id (see migration 0011). Taking deletes, so a status is applied
//! by exactly one of the send path and the age sweep.

use sqlx::Row;

use super::Db;

use crate::domain::events::{Billing, MessageStatus, MetaErrorRef};

/// What else Meta said with a parked status (migration 0016): its pricing
/// and conversation, and Meta's item for channels that want it raw.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Details {
    #[serde(default, flatten)]
    pub billing: Billing,
    /// Ciphertext of the JSON of Meta's item; `None` unless `include_raw`.
    #[serde(default)]
    pub raw: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EarlyStatus {
    pub id: String,
    pub channel_id: String,
    pub meta_message_id: String,
    pub payload_id: String,
    pub status: MessageStatus,
    pub recipient: String,
    pub occurred_at: i64,
    pub errors: Vec<MetaErrorRef>,
    pub received_at: i64,
    pub details: Details,
}

const COLUMNS: &str = "id, channel_id, meta_message_id, payload_id, status, recipient, occurred_at, errors, received_at, details";

pub async fn park(tx: &mut sqlx::AnyConnection, s: &EarlyStatus) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO early_statuses ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(&s.id)
    .bind(&s.channel_id)
    .bind(&s.meta_message_id)
    .bind(&s.payload_id)
    .bind(s.status.as_str())
    .bind(&s.recipient)
    .bind(s.occurred_at)
    .bind(serde_json::to_string(&s.errors).unwrap_or_else(|_| "[]".into()))
    .bind(s.received_at)
    .bind(serde_json::to_string(&s.details).ok())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Removes and returns the statuses parked for one message, oldest first.
pub async fn take(
    tx: &mut sqlx::AnyConnection,
    channel_id: &str,
    meta_message_id: &str,
) -> Result<Vec<EarlyStatus>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "DELETE FROM early_statuses WHERE channel_id = $1 AND meta_message_id = $2 \
         RETURNING {COLUMNS}"
    ))
    .bind(channel_id)
    .bind(meta_message_id)
    .fetch_all(&mut *tx)
    .await?;
    sorted(rows.iter().map(row).collect())
}

/// True when any status is parked (a cheap look before a write transaction).
pub async fn any(db: &Db) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM early_statuses LIMIT 1")
        .fetch_optional(&db.pool)
        .await?;
    Ok(found.is_some())
}

/// Removes and returns up to `limit` statuses that need not wait any longer:
/// parked before `before`, or whose send has recorded its Meta id by now
/// (the send's transaction and the parking one crossed).
pub async fn take_due(
    tx: &mut sqlx::AnyConnection,
    before: i64,
    limit: i64,
) -> Result<Vec<EarlyStatus>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "DELETE FROM early_statuses WHERE id IN \
           (SELECT e.id FROM early_statuses e WHERE e.received_at < $1 OR EXISTS \
              (SELECT 1 FROM messages m WHERE m.channel_id = e.channel_id \
               AND m.meta_message_id = e.meta_message_id) \
            ORDER BY e.received_at LIMIT $2) \
         RETURNING {COLUMNS}"
    ))
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    sorted(rows.iter().map(row).collect())
}

/// In the order Meta reported them, a lower status first on a tie.
fn sorted(rows: Result<Vec<EarlyStatus>, sqlx::Error>) -> Result<Vec<EarlyStatus>, sqlx::Error> {
    let mut rows = rows?;
    rows.sort_by(|a, b| {
        (a.occurred_at, a.status.rank(), &a.id).cmp(&(b.occurred_at, b.status.rank(), &b.id))
    });
    Ok(rows)
}

fn row(r: &sqlx::any::AnyRow) -> Result<EarlyStatus, sqlx::Error> {
    let status: String = r.try_get("status")?;
    let errors: String = r.try_get("errors")?;
    let details: Option<String> = r.try_get("details")?;
    Ok(EarlyStatus {
        id: r.try_get("id")?,
        channel_id: r.try_get("channel_id")?,
        meta_message_id: r.try_get("meta_message_id")?,
        payload_id: r.try_get("payload_id")?,
        status: MessageStatus::parse(&status).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown parked status {status:?}").into())
        })?,
        recipient: r.try_get("recipient")?,
        occurred_at: r.try_get("occurred_at")?,
        errors: serde_json::from_str(&errors).unwrap_or_default(),
        received_at: r.try_get("received_at")?,
        details: details
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or_default(),
    })
}
