//! messages: what the business sent, keyed by Switchboard's UUID and Meta's id
//! so status webhooks map back to the id the customer got (SPEC §4.2, §5.1).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;

#[derive(Clone, Debug)]
pub struct Message {
    pub id: String,
    pub account_id: String,
    pub channel_id: String,
    pub meta_message_id: Option<String>,
    pub recipient: String,
    /// `text`, `template`, `image`, … as sent.
    pub kind: String,
    pub status: String,
    pub status_rank: i64,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, account_id, channel_id, meta_message_id, recipient, kind, status, \
    status_rank, error, created_at, updated_at";

fn row(r: &AnyRow) -> Result<Message, sqlx::Error> {
    Ok(Message {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        channel_id: r.try_get("channel_id")?,
        meta_message_id: r.try_get("meta_message_id")?,
        recipient: r.try_get("recipient")?,
        kind: r.try_get("kind")?,
        status: r.try_get("status")?,
        status_rank: r.try_get("status_rank")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn insert(db: &Db, m: &Message) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO messages (id, account_id, channel_id, meta_message_id, recipient, kind, \
         status, status_rank, error, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&m.id)
    .bind(&m.account_id)
    .bind(&m.channel_id)
    .bind(&m.meta_message_id)
    .bind(&m.recipient)
    .bind(&m.kind)
    .bind(&m.status)
    .bind(m.status_rank)
    .bind(&m.error)
    .bind(m.created_at)
    .bind(m.updated_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, account_id: &str, id: &str) -> Result<Option<Message>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM messages WHERE id = $1 AND account_id = $2");
    sqlx::query(&sql)
        .bind(id)
        .bind(account_id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| row(&r))
        .transpose()
}

pub async fn by_meta_id(
    tx: &mut sqlx::AnyConnection,
    channel_id: &str,
    meta_message_id: &str,
) -> Result<Option<Message>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM messages WHERE channel_id = $1 AND meta_message_id = $2");
    sqlx::query(&sql)
        .bind(channel_id)
        .bind(meta_message_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| row(&r))
        .transpose()
}

/// True while a send on the channel is at Meta (claimed, not yet answered):
/// a status for an unknown Meta id may belong to it.
pub async fn sending_on(
    tx: &mut sqlx::AnyConnection,
    channel_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM messages WHERE channel_id = $1 AND status = 'queued' \
         AND meta_message_id IS NULL AND lease_until > $2 LIMIT 1",
    )
    .bind(channel_id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(found.is_some())
}

/// Outbound messages to `recipient` created at or before `until` whose status
/// ranks below `rank` (not failed), oldest first: what a read or delivery
/// watermark newly covers.
pub async fn below_rank_until(
    tx: &mut sqlx::AnyConnection,
    channel_id: &str,
    recipient: &str,
    rank: i64,
    until: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM messages WHERE channel_id = $1 AND recipient = $2 \
         AND status_rank < $3 AND status <> 'failed' AND status <> 'queued' AND created_at <= $4 \
         ORDER BY created_at, id"
    );
    let rows = sqlx::query(&sql)
        .bind(channel_id)
        .bind(recipient)
        .bind(rank)
        .bind(until)
        .fetch_all(&mut *tx)
        .await?;
    rows.iter().map(row).collect()
}

/// Moves a message forward to `status` only if that ranks higher than what
/// it has; returns false when the status would go backwards.
pub async fn advance(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    status: &str,
    rank: i64,
    error: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE messages SET status = $1, status_rank = $2, error = COALESCE($3, error), \
         updated_at = $4 WHERE id = $5 AND status_rank < $2",
    )
    .bind(status)
    .bind(rank)
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---- the send path and its queue (SPEC §5.1) --------------------------------

/// A send about to be attempted: stored before Meta is called, so the
/// idempotency key is taken at once and a crash mid-call leaves a row the
/// queue worker picks up once `lease_until` passed.
#[derive(Clone, Debug)]
pub struct NewSend {
    pub id: String,
    pub account_id: String,
    pub channel_id: String,
    pub recipient: String,
    pub kind: String,
    /// The send as AES-GCM ciphertext (what the queue worker replays).
    pub request: String,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    /// Claim of the first attempt: also the `next_attempt_at` of crash recovery.
    pub lease_until: i64,
    pub created_at: i64,
}

/// Inserts a `queued` row; false when the idempotency key is already taken.
pub async fn insert_send(db: &Db, s: &NewSend) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO messages (id, account_id, channel_id, meta_message_id, recipient, kind, \
         status, status_rank, request, idempotency_key, request_hash, error, attempts, \
         next_attempt_at, lease_until, created_at, updated_at) \
         VALUES ($1, $2, $3, NULL, $4, $5, 'queued', 0, $6, $7, $8, NULL, 0, $9, $9, $10, $10) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&s.id)
    .bind(&s.account_id)
    .bind(&s.channel_id)
    .bind(&s.recipient)
    .bind(&s.kind)
    .bind(&s.request)
    .bind(&s.idempotency_key)
    .bind(&s.request_hash)
    .bind(s.lease_until)
    .bind(s.created_at)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What an earlier request with the same idempotency key left behind.
#[derive(Clone, Debug)]
pub struct Keyed {
    pub id: String,
    pub request_hash: Option<String>,
    pub status: String,
    pub meta_message_id: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub lease_until: Option<i64>,
    pub created_at: i64,
}

pub async fn by_idempotency_key(
    db: &Db,
    account_id: &str,
    key: &str,
) -> Result<Option<Keyed>, sqlx::Error> {
    let r = sqlx::query(
        "SELECT id, request_hash, status, meta_message_id, attempts, next_attempt_at, \
         lease_until, created_at FROM messages WHERE account_id = $1 AND idempotency_key = $2",
    )
    .bind(account_id)
    .bind(key)
    .fetch_optional(&db.pool)
    .await?;
    r.map(|r| {
        Ok(Keyed {
            id: r.try_get("id")?,
            request_hash: r.try_get("request_hash")?,
            status: r.try_get("status")?,
            meta_message_id: r.try_get("meta_message_id")?,
            attempts: r.try_get("attempts")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
            lease_until: r.try_get("lease_until")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .transpose()
}

/// Frees idempotency keys used before `before` (they live 24 hours), so the
/// unique index lets the key be used again.
pub async fn expire_idempotency_key(
    db: &Db,
    account_id: &str,
    key: &str,
    before: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE messages SET idempotency_key = NULL, request_hash = NULL \
         WHERE account_id = $1 AND idempotency_key = $2 AND created_at < $3",
    )
    .bind(account_id)
    .bind(key)
    .bind(before)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected())
}

/// Removes a send Meta refused on the first attempt: the caller got the
/// error, so nothing was sent and the idempotency key is free again.
pub async fn delete_unsent(db: &Db, id: &str, lease: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM messages WHERE id = $1 AND status = 'queued' AND meta_message_id IS NULL \
         AND lease_until = $2",
    )
    .bind(id)
    .bind(lease)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Meta accepted the send: `sent`, its id stored, the request cleared.
/// Only while the caller still holds the claim `lease`.
pub async fn mark_sent(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    lease: i64,
    meta_message_id: Option<&str>,
    attempts: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE messages SET status = 'sent', status_rank = 1, meta_message_id = $1, \
         request = NULL, error = NULL, attempts = $2, next_attempt_at = NULL, lease_until = NULL, \
         updated_at = $3 WHERE id = $4 AND status = 'queued' AND lease_until = $5",
    )
    .bind(meta_message_id)
    .bind(attempts)
    .bind(now)
    .bind(id)
    .bind(lease)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives up on a queued send: `failed` with `error`, the request cleared.
pub async fn mark_failed(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    lease: i64,
    error: &str,
    attempts: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE messages SET status = 'failed', status_rank = 4, request = NULL, error = $1, \
         attempts = $2, next_attempt_at = NULL, lease_until = NULL, updated_at = $3 \
         WHERE id = $4 AND status = 'queued' AND lease_until = $5",
    )
    .bind(error)
    .bind(attempts)
    .bind(now)
    .bind(id)
    .bind(lease)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A throughput or transient failure: try again at `next_attempt_at`.
pub async fn reschedule(
    db: &Db,
    id: &str,
    lease: i64,
    attempts: i64,
    next_attempt_at: i64,
    error: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE messages SET attempts = $1, next_attempt_at = $2, error = $3, lease_until = NULL, \
         updated_at = $4 WHERE id = $5 AND status = 'queued' AND lease_until = $6",
    )
    .bind(attempts)
    .bind(next_attempt_at)
    .bind(error)
    .bind(now)
    .bind(id)
    .bind(lease)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A queued send claimed by a worker.
#[derive(Clone, Debug)]
pub struct ClaimedSend {
    pub id: String,
    pub account_id: String,
    pub channel_id: String,
    pub recipient: String,
    pub request: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
    /// The claim; every later update names it, so a lost claim changes nothing.
    pub lease_until: i64,
}

/// Claims due queued sends by lease (the relay's pattern): several
/// processes on one PostgreSQL share the queue and a crashed worker's claims
/// come back when the lease passes.
pub async fn claim_due(
    db: &Db,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<ClaimedSend>, sqlx::Error> {
    let lock = if db.kind == super::DbKind::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE messages SET lease_until = $1 \
         WHERE id IN (SELECT id FROM messages WHERE status = 'queued' AND next_attempt_at <= $2 \
           AND (lease_until IS NULL OR lease_until < $2) \
           ORDER BY next_attempt_at, id LIMIT $3{lock}) \
         AND status = 'queued' AND (lease_until IS NULL OR lease_until < $2) \
         RETURNING id, account_id, channel_id, recipient, request, attempts, created_at, lease_until"
    );
    let rows = sqlx::query(&sql)
        .bind(now + lease_ms)
        .bind(now)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(ClaimedSend {
                id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
                channel_id: r.try_get("channel_id")?,
                recipient: r.try_get("recipient")?,
                request: r.try_get("request")?,
                attempts: r.try_get("attempts")?,
                created_at: r.try_get("created_at")?,
                lease_until: r.try_get("lease_until")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}
