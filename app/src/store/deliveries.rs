//! deliveries and delivery_attempts: the customer relay's transactional outbox
//! (SPEC §4.3). Rows are written in the same transaction as their event;
//! workers claim due rows by lease.

use sqlx::Row;

use super::Db;

/// Delivery statuses as stored.
pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";
pub const EXHAUSTED: &str = "exhausted";
pub const HELD: &str = "held";

/// Lanes: first attempts and retries are claimed separately.
pub const LANE_FIRST: i64 = 0;
pub const LANE_RETRY: i64 = 1;

#[derive(Clone, Debug)]
pub struct NewDelivery {
    pub id: String,
    pub account_id: String,
    pub event_id: String,
    pub event: String,
    pub channel_id: Option<String>,
    pub endpoint_id: Option<String>,
    pub endpoint_url: String,
    pub retry_policy: String,
    /// `pending` (due at `next_attempt_at`) or `held`.
    pub status: &'static str,
    /// Ciphertext of the body.
    pub payload: String,
    pub next_attempt_at: Option<i64>,
    /// None while held: the deadline starts when the delivery is released.
    pub deadline_at: Option<i64>,
    pub created_at: i64,
}

pub async fn insert(tx: &mut sqlx::AnyConnection, d: &NewDelivery) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO deliveries (id, account_id, event_id, event, channel_id, endpoint_id, \
         endpoint_url, retry_policy, status, lane, attempts, payload, next_attempt_at, \
         deadline_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13, $14, $14)",
    )
    .bind(&d.id)
    .bind(&d.account_id)
    .bind(&d.event_id)
    .bind(&d.event)
    .bind(&d.channel_id)
    .bind(&d.endpoint_id)
    .bind(&d.endpoint_url)
    .bind(&d.retry_policy)
    .bind(d.status)
    .bind(LANE_FIRST)
    .bind(&d.payload)
    .bind(d.next_attempt_at)
    .bind(d.deadline_at)
    .bind(d.created_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Number of deliveries waiting for an attempt (for `/metrics`).
pub async fn queue_depth(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'failed')")
        .fetch_one(&db.pool)
        .await
}

// ---- the relay worker's side: claims by lease, outcomes, attempt log -------

/// A delivery claimed by a worker, with what an attempt needs.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: String,
    pub account_id: String,
    pub event_id: String,
    pub event: String,
    pub channel_id: Option<String>,
    pub endpoint_id: Option<String>,
    pub endpoint_url: String,
    pub retry_policy: String,
    pub attempts: i64,
    /// Ciphertext of the body; `None` only if something cleared it early.
    pub payload: Option<String>,
    pub deadline_at: Option<i64>,
    pub created_at: i64,
}

/// Claims up to `limit` due deliveries of `lane` whose lease is free or
/// expired: `lease_until = now + lease_ms`, `lease_owner = owner`. On
/// PostgreSQL the candidates are locked with `SKIP LOCKED`, so several
/// processes claim disjoint sets without waiting on each other.
pub async fn claim(
    db: &Db,
    lane: i64,
    owner: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let lock = if db.kind == super::DbKind::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE deliveries SET lease_until = $1, lease_owner = $2 \
         WHERE id IN (SELECT id FROM deliveries WHERE status IN ('pending', 'failed') \
           AND lane = $3 AND next_attempt_at <= $4 \
           AND (lease_until IS NULL OR lease_until < $4) \
           ORDER BY next_attempt_at, id LIMIT $5{lock}) \
         AND status IN ('pending', 'failed') AND (lease_until IS NULL OR lease_until < $4) \
         RETURNING id, account_id, event_id, event, channel_id, endpoint_id, endpoint_url, \
           retry_policy, attempts, payload, deadline_at, created_at"
    );
    let _turn = db.write_turn().await;
    let rows = sqlx::query(&sql)
        .bind(now + lease_ms)
        .bind(owner)
        .bind(lane)
        .bind(now)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(Claimed {
                id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
                event_id: r.try_get("event_id")?,
                event: r.try_get("event")?,
                channel_id: r.try_get("channel_id")?,
                endpoint_id: r.try_get("endpoint_id")?,
                endpoint_url: r.try_get("endpoint_url")?,
                retry_policy: r.try_get("retry_policy")?,
                attempts: r.try_get("attempts")?,
                payload: r.try_get("payload")?,
                deadline_at: r.try_get("deadline_at")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // RETURNING has no defined order; ids are UUID v7, so this is creation order.
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Extends a lease the worker still holds; false when it was lost.
pub async fn renew_lease(db: &Db, id: &str, owner: &str, until: i64) -> Result<bool, sqlx::Error> {
    let _turn = db.write_turn().await;
    let done = sqlx::query(
        "UPDATE deliveries SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 \
         AND status IN ('pending', 'failed')",
    )
    .bind(until)
    .bind(id)
    .bind(owner)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What one attempt saw (a `delivery_attempts` row).
#[derive(Clone, Debug)]
pub struct AttemptRow {
    pub delivery_id: String,
    pub attempt: i64,
    pub at: i64,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response: Option<String>,
}

/// The state a delivery moves to after an attempt.
#[derive(Clone, Debug)]
pub struct Outcome<'a> {
    pub status: &'a str,
    pub lane: i64,
    pub next_attempt_at: Option<i64>,
    /// True for `delivered` and `exhausted`: the ciphertext goes.
    pub clear_payload: bool,
    /// The URL the attempt went to (the channel's current one).
    pub endpoint_url: &'a str,
}

/// One attempt's outcome for [`record_attempts`].
#[derive(Clone, Debug)]
pub struct Recorded {
    pub row: AttemptRow,
    pub status: String,
    pub lane: i64,
    pub next_attempt_at: Option<i64>,
    pub clear_payload: bool,
    pub endpoint_url: String,
}

/// Writes attempt log rows and their deliveries' new states, releasing the
/// leases, for many attempts in one transaction (one commit, one fsync).
/// Each entry is written only if `owner` still holds its lease; the result
/// says which were.
pub async fn record_attempts(
    db: &Db,
    owner: &str,
    items: &[Recorded],
) -> Result<Vec<bool>, sqlx::Error> {
    let _turn = db.write_turn().await;
    let mut tx = db.begin().await?;
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        let a = &it.row;
        let done = sqlx::query(
            "UPDATE deliveries SET status = $1, lane = $2, attempts = $3, next_attempt_at = $4, \
             payload = CASE WHEN $5 = 1 THEN NULL ELSE payload END, endpoint_url = $6, \
             lease_until = NULL, lease_owner = NULL, updated_at = $7 \
             WHERE id = $8 AND lease_owner = $9",
        )
        .bind(&it.status)
        .bind(it.lane)
        .bind(a.attempt)
        .bind(it.next_attempt_at)
        .bind(super::flag(it.clear_payload))
        .bind(&it.endpoint_url)
        .bind(a.at)
        .bind(&a.delivery_id)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        let held = done.rows_affected() == 1;
        if held {
            sqlx::query(
                "INSERT INTO delivery_attempts (delivery_id, attempt, at, status_code, latency_ms, \
                 error, response) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(&a.delivery_id)
            .bind(a.attempt)
            .bind(a.at)
            .bind(a.status_code)
            .bind(a.latency_ms)
            .bind(&a.error)
            .bind(&a.response)
            .execute(&mut *tx)
            .await?;
        }
        out.push(held);
    }
    tx.commit().await?;
    Ok(out)
}

/// Gives back every lease `owner` holds (graceful shutdown).
pub async fn release_leases(db: &Db, owner: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE deliveries SET lease_until = NULL, lease_owner = NULL WHERE lease_owner = $1",
    )
    .bind(owner)
    .execute(&db.pool)
    .await?
    .rows_affected())
}

/// Moves an account's held deliveries of one retry policy to `pending`, due
/// now, with the deadline starting now, except those of the channels in
/// `keep` (active channels that hold no license). Returns how many moved. A
/// delivery whose event still waits for its media download stays not-due;
/// the media worker makes it due once the file is stored (or given up).
pub async fn release_held(
    db: &Db,
    account_id: &str,
    keep: &[String],
    retry_policy: &str,
    now: i64,
    deadline_at: i64,
) -> Result<u64, sqlx::Error> {
    let kept = if keep.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = (0..keep.len()).map(|i| format!("${}", i + 5)).collect();
        format!(
            " AND (channel_id IS NULL OR channel_id NOT IN ({}))",
            list.join(", ")
        )
    };
    let sql = format!(
        "UPDATE deliveries SET status = 'pending', lane = 0, \
         next_attempt_at = CASE WHEN EXISTS (SELECT 1 FROM media_jobs j \
           WHERE j.event_id = deliveries.event_id AND j.state = 'waiting') THEN NULL ELSE $1 END, \
         deadline_at = $2, updated_at = $1 \
         WHERE account_id = $3 AND status = 'held' AND retry_policy = $4{kept}"
    );
    let mut q = sqlx::query(&sql)
        .bind(now)
        .bind(deadline_at)
        .bind(account_id)
        .bind(retry_policy);
    for id in keep {
        q = q.bind(id);
    }
    Ok(q.execute(&db.pool).await?.rows_affected())
}

/// Accounts that have held deliveries.
pub async fn accounts_with_held(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT DISTINCT account_id FROM deliveries WHERE status = 'held'")
        .fetch_all(&db.pool)
        .await
}
