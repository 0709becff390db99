//! The read side of the relay (SPEC §4.3): the delivery log with its attempts,
//! what retry and replay need to know about targets, and the retention purge.
//! Rows are written by `store::deliveries` (fan-out) and the relay worker.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;
use super::deliveries::{FAILED, PENDING};
use super::events::Event;

/// One delivery as the log shows it (the queued ciphertext is left out).
#[derive(Clone, Debug)]
pub struct DeliveryRow {
    pub id: String,
    pub account_id: String,
    pub event_id: String,
    pub event: String,
    pub channel_id: Option<String>,
    pub endpoint_id: Option<String>,
    pub endpoint_url: String,
    pub retry_policy: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, account_id, event_id, event, channel_id, endpoint_id, endpoint_url, \
    retry_policy, status, attempts, next_attempt_at, created_at";

fn delivery(r: &AnyRow) -> Result<DeliveryRow, sqlx::Error> {
    Ok(DeliveryRow {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        event_id: r.try_get("event_id")?,
        event: r.try_get("event")?,
        channel_id: r.try_get("channel_id")?,
        endpoint_id: r.try_get("endpoint_id")?,
        endpoint_url: r.try_get("endpoint_url")?,
        retry_policy: r.try_get("retry_policy")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        created_at: r.try_get("created_at")?,
    })
}

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

/// Filters of the log; `None` means any.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub channel_id: Option<String>,
    pub status: Option<String>,
    pub event: Option<String>,
}

/// The account's deliveries, newest first (ids are UUID v7, so id order is
/// creation order), strictly older than `before_id` when given.
pub async fn list(
    db: &Db,
    account_id: &str,
    f: &Filter,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    let mut sql = format!("SELECT {COLUMNS} FROM deliveries WHERE account_id = $1");
    let mut binds: Vec<&str> = vec![account_id];
    for (cond, value) in [
        ("channel_id =", f.channel_id.as_deref()),
        ("status =", f.status.as_deref()),
        ("event =", f.event.as_deref()),
        ("id <", before_id),
    ] {
        if let Some(value) = value {
            binds.push(value);
            sql.push_str(&format!(" AND {cond} ${}", binds.len()));
        }
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", binds.len() + 1));
    let mut q = sqlx::query(&sql);
    for v in &binds {
        q = q.bind(*v);
    }
    q.bind(limit)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(delivery)
        .collect()
}

/// The account's delivery `id` (another account's is as absent as an unknown one).
pub async fn get(db: &Db, account_id: &str, id: &str) -> Result<Option<DeliveryRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM deliveries WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(delivery)
    .transpose()
}

/// Attempts of the given deliveries, in attempt order.
pub async fn attempts_of(db: &Db, delivery_ids: &[String]) -> Result<Vec<AttemptRow>, sqlx::Error> {
    if delivery_ids.is_empty() {
        return Ok(vec![]);
    }
    let marks: Vec<String> = (1..=delivery_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT delivery_id, attempt, at, status_code, latency_ms, error, response \
         FROM delivery_attempts WHERE delivery_id IN ({}) ORDER BY delivery_id, attempt",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for id in delivery_ids {
        q = q.bind(id);
    }
    q.fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(AttemptRow {
                delivery_id: r.try_get("delivery_id")?,
                attempt: r.try_get("attempt")?,
                at: r.try_get("at")?,
                status_code: r.try_get("status_code")?,
                latency_ms: r.try_get("latency_ms")?,
                error: r.try_get("error")?,
                response: r.try_get("response")?,
            })
        })
        .collect()
}

/// A channel's retry policy (`standard` when the column holds anything else).
pub async fn channel_retry_policy(db: &Db, channel_id: &str) -> Result<String, sqlx::Error> {
    let p: Option<String> = sqlx::query_scalar("SELECT retry_policy FROM channels WHERE id = $1")
        .bind(channel_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(p.unwrap_or_else(|| "standard".into()))
}

/// An account event endpoint's current URL and retry policy, unless deleted.
pub async fn live_endpoint(
    db: &Db,
    account_id: &str,
    endpoint_id: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT url, retry_policy FROM event_endpoints WHERE id = $1 AND account_id = $2 \
         AND is_active = 1 AND deleted_at IS NULL",
    )
    .bind(endpoint_id)
    .bind(account_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| Ok((r.try_get("url")?, r.try_get("retry_policy")?)))
        .transpose()
}

/// What replay picks: a channel's events created in `[since, until)`, oldest
/// first, optionally only some event names and only events whose latest
/// delivery has `last_status`. At most `limit` rows.
pub async fn replay_candidates(
    db: &Db,
    channel_id: &str,
    since: i64,
    until: i64,
    events: &[String],
    last_status: Option<&str>,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    let mut sql = String::from(
        "SELECT e.id, e.account_id, e.channel_id, e.event, e.dedupe_key, e.payload, \
         e.inbound_payload_id, e.occurred_at, e.created_at FROM events e \
         WHERE e.channel_id = $1 AND e.created_at >= $2 AND e.created_at < $3",
    );
    let mut n = 3;
    if !events.is_empty() {
        let marks: Vec<String> = (0..events.len())
            .map(|i| format!("${}", n + 1 + i))
            .collect();
        n += events.len();
        sql.push_str(&format!(" AND e.event IN ({})", marks.join(", ")));
    }
    if last_status.is_some() {
        n += 1;
        sql.push_str(&format!(
            " AND (SELECT d.status FROM deliveries d WHERE d.event_id = e.id \
             ORDER BY d.id DESC LIMIT 1) = ${n}"
        ));
    }
    sql.push_str(&format!(" ORDER BY e.created_at, e.id LIMIT ${}", n + 1));
    let mut q = sqlx::query(&sql).bind(channel_id).bind(since).bind(until);
    for e in events {
        q = q.bind(e);
    }
    if let Some(s) = last_status {
        q = q.bind(s);
    }
    q.bind(limit)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
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
        })
        .collect()
}

/// What one purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub events: u64,
    pub deliveries: u64,
    pub attempts: u64,
    pub inbound_payloads: u64,
}

/// Rows per purge transaction, so a large backlog never holds a long lock.
const PURGE_BATCH: i64 = 500;

/// Deletes events created before `cutoff` with their deliveries and attempts,
/// and raw Meta payloads received before it. Events with a delivery still in
/// flight (pending or failed with a retry scheduled) wait for a later run, so
/// the relay never loses a row under its lease.
pub async fn purge_before(db: &Db, cutoff: i64) -> Result<Purged, sqlx::Error> {
    let mut total = Purged::default();
    loop {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT e.id FROM events e WHERE e.created_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status IN ($2, $3)) \
             ORDER BY e.created_at LIMIT $4",
        )
        .bind(cutoff)
        .bind(PENDING)
        .bind(FAILED)
        .bind(PURGE_BATCH)
        .fetch_all(&db.pool)
        .await?;
        if ids.is_empty() {
            break;
        }
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let list = marks.join(", ");
        let mut tx = db.begin().await?;
        let statements = [
            format!(
                "DELETE FROM delivery_attempts WHERE delivery_id IN \
                 (SELECT id FROM deliveries WHERE event_id IN ({list}))"
            ),
            format!("DELETE FROM deliveries WHERE event_id IN ({list})"),
            format!("DELETE FROM events WHERE id IN ({list})"),
        ];
        let mut counts = [0u64; 3];
        for (i, sql) in statements.iter().enumerate() {
            let mut q = sqlx::query(sql);
            for id in &ids {
                q = q.bind(id);
            }
            counts[i] = q.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        total.attempts += counts[0];
        total.deliveries += counts[1];
        total.events += counts[2];
        if (ids.len() as i64) < PURGE_BATCH {
            break;
        }
    }
    loop {
        let done = sqlx::query(
            "DELETE FROM inbound_payloads WHERE id IN \
             (SELECT id FROM inbound_payloads WHERE received_at < $1 LIMIT $2)",
        )
        .bind(cutoff)
        .bind(PURGE_BATCH)
        .execute(&db.pool)
        .await?
        .rows_affected();
        total.inbound_payloads += done;
        if done < PURGE_BATCH as u64 {
            break;
        }
    }
    Ok(total)
}
