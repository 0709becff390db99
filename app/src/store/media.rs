//! media, media_jobs, media_uploads (SPEC §4.4): stored files, the downloads
//! of inbound media (claimed by lease like deliveries), and uploads to Meta.
//! Also the payload rewrites of an event whose media arrived: the event row
//! and its deliveries still holding ciphertext.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;

pub const IN: &str = "in";
pub const OUT: &str = "out";

pub const PENDING: &str = "pending";
pub const STORED: &str = "stored";
pub const FAILED: &str = "failed";

/// Job states: deliveries wait (`waiting`), the event went out with
/// `media.error` and attempts go on (`retrying`), finished (`done`, `failed`).
pub const WAITING: &str = "waiting";
pub const RETRYING: &str = "retrying";
pub const DONE: &str = "done";

#[derive(Clone, Debug, PartialEq)]
pub struct MediaRow {
    pub id: String,
    pub account_id: String,
    pub channel_id: Option<String>,
    pub direction: String,
    pub kind: String,
    pub status: String,
    pub object_key: String,
    pub mime_type: Option<String>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub filename: Option<String>,
    pub created_at: i64,
    pub stored_at: Option<i64>,
}

const COLUMNS: &str = "id, account_id, channel_id, direction, kind, status, object_key, \
    mime_type, size, sha256, filename, created_at, stored_at";

fn row(r: &AnyRow) -> Result<MediaRow, sqlx::Error> {
    Ok(MediaRow {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        channel_id: r.try_get("channel_id")?,
        direction: r.try_get("direction")?,
        kind: r.try_get("kind")?,
        status: r.try_get("status")?,
        object_key: r.try_get("object_key")?,
        mime_type: r.try_get("mime_type")?,
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
        filename: r.try_get("filename")?,
        created_at: r.try_get("created_at")?,
        stored_at: r.try_get("stored_at")?,
    })
}

pub async fn insert(conn: &mut sqlx::AnyConnection, m: &MediaRow) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO media ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(&m.id)
    .bind(&m.account_id)
    .bind(&m.channel_id)
    .bind(&m.direction)
    .bind(&m.kind)
    .bind(&m.status)
    .bind(&m.object_key)
    .bind(&m.mime_type)
    .bind(m.size)
    .bind(&m.sha256)
    .bind(&m.filename)
    .bind(m.created_at)
    .bind(m.stored_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<MediaRow>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM media WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(row)
        .transpose()
}

/// The bytes are in the store: what they turned out to be.
pub async fn mark_stored(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    mime_type: &str,
    size: i64,
    sha256: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE media SET status = 'stored', mime_type = $1, size = $2, sha256 = $3, \
         stored_at = $4 WHERE id = $5",
    )
    .bind(mime_type)
    .bind(size)
    .bind(sha256)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn mark_failed(conn: &mut sqlx::AnyConnection, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE media SET status = 'failed' WHERE id = $1 AND status = 'pending'")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Stored bytes and file count of an account (the dashboard's figure).
pub async fn usage(db: &Db, account_id: &str) -> Result<(i64, i64), sqlx::Error> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes, COUNT(*) AS files \
         FROM media WHERE account_id = $1 AND status = 'stored'",
    )
    .bind(account_id)
    .fetch_one(&db.pool)
    .await?;
    Ok((r.try_get("bytes")?, r.try_get("files")?))
}

// ---- downloads of inbound media -------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub media_id: String,
    pub event_id: String,
    pub channel_id: String,
    pub source_kind: String,
    pub source: String,
    pub expected_sha256: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub created_at: i64,
}

pub async fn insert_job(conn: &mut sqlx::AnyConnection, j: &Job) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO media_jobs (media_id, event_id, channel_id, source_kind, source, \
         expected_sha256, state, attempts, next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9)",
    )
    .bind(&j.media_id)
    .bind(&j.event_id)
    .bind(&j.channel_id)
    .bind(&j.source_kind)
    .bind(&j.source)
    .bind(&j.expected_sha256)
    .bind(&j.state)
    .bind(j.attempts)
    .bind(j.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Claims up to `limit` due jobs whose lease is free (SKIP LOCKED on
/// PostgreSQL, as the relay does).
pub async fn claim_jobs(
    db: &Db,
    owner: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<Job>, sqlx::Error> {
    let _turn = db.write_turn().await;
    let lock = if db.kind == super::DbKind::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE media_jobs SET lease_until = $1, lease_owner = $2 \
         WHERE media_id IN (SELECT media_id FROM media_jobs WHERE state IN ('waiting', 'retrying') \
           AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
           ORDER BY next_attempt_at LIMIT $4{lock}) \
         AND (lease_until IS NULL OR lease_until < $3) \
         RETURNING media_id, event_id, channel_id, source_kind, source, expected_sha256, state, \
           attempts, created_at"
    );
    let rows = sqlx::query(&sql)
        .bind(now + lease_ms)
        .bind(owner)
        .bind(now)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Job {
                media_id: r.try_get("media_id")?,
                event_id: r.try_get("event_id")?,
                channel_id: r.try_get("channel_id")?,
                source_kind: r.try_get("source_kind")?,
                source: r.try_get("source")?,
                expected_sha256: r.try_get("expected_sha256")?,
                state: r.try_get("state")?,
                attempts: r.try_get("attempts")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// A job's new state after an attempt; releases the lease. False when the
/// lease was lost meanwhile (nothing written).
#[allow(clippy::too_many_arguments)]
pub async fn finish_attempt(
    conn: &mut sqlx::AnyConnection,
    media_id: &str,
    owner: &str,
    state: &str,
    attempts: i64,
    next_attempt_at: Option<i64>,
    last_error: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE media_jobs SET state = $1, attempts = $2, next_attempt_at = $3, last_error = $4, \
         lease_until = NULL, lease_owner = NULL, updated_at = $5 \
         WHERE media_id = $6 AND lease_owner = $7",
    )
    .bind(state)
    .bind(attempts)
    .bind(next_attempt_at)
    .bind(last_error)
    .bind(now)
    .bind(media_id)
    .bind(owner)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn release_job_leases(db: &Db, owner: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE media_jobs SET lease_until = NULL, lease_owner = NULL WHERE lease_owner = $1",
    )
    .bind(owner)
    .execute(&db.pool)
    .await?
    .rows_affected())
}

/// `(state, last_error)` of the job of a media file, for tests and the Portal.
pub async fn job_state(
    db: &Db,
    media_id: &str,
) -> Result<Option<(String, i64, Option<String>)>, sqlx::Error> {
    let r = sqlx::query("SELECT state, attempts, last_error FROM media_jobs WHERE media_id = $1")
        .bind(media_id)
        .fetch_optional(&db.pool)
        .await?;
    r.map(|r| {
        Ok((
            r.try_get("state")?,
            r.try_get("attempts")?,
            r.try_get("last_error")?,
        ))
    })
    .transpose()
}

// ---- the event and its deliveries -------------------------------------------------

/// Deliveries of `event_id` not yet attempted wait for the media: they get no
/// `next_attempt_at`, so the relay does not claim them.
pub async fn hold_deliveries(
    conn: &mut sqlx::AnyConnection,
    event_id: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE deliveries SET next_attempt_at = NULL \
         WHERE event_id = $1 AND status = 'pending' AND attempts = 0",
    )
    .bind(event_id)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Makes the waiting deliveries of `event_id` due now; returns how many.
pub async fn release_deliveries(
    conn: &mut sqlx::AnyConnection,
    event_id: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE deliveries SET next_attempt_at = $1, updated_at = $1 \
         WHERE event_id = $2 AND status = 'pending' AND next_attempt_at IS NULL",
    )
    .bind(now)
    .bind(event_id)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// The event's payload ciphertext.
pub async fn event_payload(
    conn: &mut sqlx::AnyConnection,
    event_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT payload FROM events WHERE id = $1")
        .bind(event_id)
        .fetch_optional(&mut *conn)
        .await
}

/// Replaces the payload of the event and of every delivery of it that still
/// holds one (queued, held or retrying); `encrypt` is called once per row so
/// every ciphertext gets its own nonce.
pub async fn rewrite_payloads(
    conn: &mut sqlx::AnyConnection,
    event_id: &str,
    encrypt: impl Fn() -> String,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE events SET payload = $1 WHERE id = $2")
        .bind(encrypt())
        .bind(event_id)
        .execute(&mut *conn)
        .await?;
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM deliveries WHERE event_id = $1 AND payload IS NOT NULL \
         AND status IN ('pending', 'failed', 'held')",
    )
    .bind(event_id)
    .fetch_all(&mut *conn)
    .await?;
    for id in ids {
        sqlx::query("UPDATE deliveries SET payload = $1 WHERE id = $2")
            .bind(encrypt())
            .bind(&id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

// ---- uploads to Meta ------------------------------------------------------------

pub async fn upload_of(
    db: &Db,
    media_id: &str,
    channel_id: &str,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT meta_media_id FROM media_uploads WHERE media_id = $1 AND channel_id = $2 \
         AND expires_at > $3",
    )
    .bind(media_id)
    .bind(channel_id)
    .bind(now)
    .fetch_optional(&db.pool)
    .await
}

pub async fn remember_upload(
    db: &Db,
    media_id: &str,
    channel_id: &str,
    meta_media_id: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM media_uploads WHERE media_id = $1 AND channel_id = $2")
        .bind(media_id)
        .bind(channel_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO media_uploads (media_id, channel_id, meta_media_id, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(media_id)
    .bind(channel_id)
    .bind(meta_media_id)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

// ---- retention ----------------------------------------------------------------------

/// Up to `limit` files created before `cutoff`: `(id, object_key)`.
pub async fn expired(
    db: &Db,
    cutoff: i64,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, object_key FROM media WHERE created_at < $1 ORDER BY created_at LIMIT $2",
    )
    .bind(cutoff)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("object_key")?)))
        .collect()
}

/// Removes the rows of `ids` (jobs, uploads, files).
pub async fn delete(db: &Db, ids: &[String]) -> Result<u64, sqlx::Error> {
    if ids.is_empty() {
        return Ok(0);
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let list = marks.join(", ");
    let mut tx = db.begin().await?;
    let mut n = 0;
    for table in ["media_jobs", "media_uploads"] {
        let sql = format!("DELETE FROM {table} WHERE media_id IN ({list})");
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(id);
        }
        q.execute(&mut *tx).await?;
    }
    let sql = format!("DELETE FROM media WHERE id IN ({list})");
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id);
    }
    n += q.execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(n)
}
