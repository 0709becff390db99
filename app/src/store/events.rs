//! events: normalised channel and account events (SPEC §4.2, §6) and the raw
//! Meta payloads they came from. `payload` columns hold ciphertext.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;

#[derive(Clone, Debug)]
pub struct Event {
    pub id: String,
    pub account_id: String,
    pub channel_id: Option<String>,
    pub event: String,
    pub dedupe_key: Option<String>,
    /// Ciphertext of the customer JSON.
    pub payload: String,
    pub inbound_payload_id: Option<String>,
    pub occurred_at: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "id, account_id, channel_id, event, dedupe_key, payload, \
    inbound_payload_id, occurred_at, created_at";

fn row(r: &AnyRow) -> Result<Event, sqlx::Error> {
    Ok(Event {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        channel_id: r.try_get("channel_id")?,
        event: r.try_get("event")?,
        dedupe_key: r.try_get("dedupe_key")?,
        payload: r.try_get("payload")?,
        inbound_payload_id: r.try_get("inbound_payload_id")?,
        occurred_at: r.try_get("occurred_at")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Inserts `e` unless an event with the same dedupe key exists for the same
/// channel (or account, for account events). Returns false for a duplicate.
pub async fn insert(tx: &mut sqlx::AnyConnection, e: &Event) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO events (id, account_id, channel_id, event, dedupe_key, payload, \
         inbound_payload_id, occurred_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
    )
    .bind(&e.id)
    .bind(&e.account_id)
    .bind(&e.channel_id)
    .bind(&e.event)
    .bind(&e.dedupe_key)
    .bind(&e.payload)
    .bind(&e.inbound_payload_id)
    .bind(e.occurred_at)
    .bind(e.created_at)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(db: &Db, account_id: &str, id: &str) -> Result<Option<Event>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM events WHERE id = $1 AND account_id = $2");
    sqlx::query(&sql)
        .bind(id)
        .bind(account_id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| row(&r))
        .transpose()
}

/// The channel's event stored under `dedupe_key` (e.g. an inbound message by
/// Meta's id), if any.
pub async fn by_dedupe_key(
    db: &Db,
    channel_id: &str,
    dedupe_key: &str,
) -> Result<Option<Event>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM events WHERE channel_id = $1 AND dedupe_key = $2");
    sqlx::query(&sql)
        .bind(channel_id)
        .bind(dedupe_key)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| row(&r))
        .transpose()
}

/// Events of a channel created in `[since, until)`, oldest first, for replay.
pub async fn for_channel_between(
    db: &Db,
    channel_id: &str,
    since: i64,
    until: i64,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE channel_id = $1 AND created_at >= $2 \
         AND created_at < $3 ORDER BY id LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(channel_id)
        .bind(since)
        .bind(until)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(row).collect()
}

/// A raw Meta payload as it arrived (signature already verified).
#[derive(Clone, Debug)]
pub struct InboundPayload {
    pub id: String,
    pub meta_app_id: Option<String>,
    pub object: Option<String>,
    /// Ciphertext of the raw body (the caller encrypts; SPEC §14).
    pub body: String,
    pub orphaned: bool,
    /// JSON array of the asset ids no active channel holds.
    pub orphan_assets: Option<String>,
    pub received_at: i64,
}

pub async fn insert_payload(
    tx: &mut sqlx::AnyConnection,
    p: &InboundPayload,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO inbound_payloads (id, meta_app_id, object, body, orphaned, orphan_assets, \
         received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&p.id)
    .bind(&p.meta_app_id)
    .bind(&p.object)
    .bind(&p.body)
    .bind(super::flag(p.orphaned))
    .bind(&p.orphan_assets)
    .bind(p.received_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Orphaned payloads, newest first, for operators.
pub async fn orphans(db: &Db, limit: i64) -> Result<Vec<InboundPayload>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, meta_app_id, object, body, orphaned, orphan_assets, received_at \
         FROM inbound_payloads WHERE orphaned = 1 ORDER BY received_at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(InboundPayload {
                id: r.try_get("id")?,
                meta_app_id: r.try_get("meta_app_id")?,
                object: r.try_get("object")?,
                body: r.try_get("body")?,
                orphaned: r.try_get::<i64, _>("orphaned")? != 0,
                orphan_assets: r.try_get("orphan_assets")?,
                received_at: r.try_get("received_at")?,
            })
        })
        .collect()
}
