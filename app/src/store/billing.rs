//! licenses, billing_customers, invoices, stripe_events, billing_sessions.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::Db;

#[derive(Clone, Debug, PartialEq)]
pub struct License {
    pub id: String,
    pub account_id: String,
    pub tier: String,
    /// `trial`, `stripe` or `enterprise`.
    pub source: String,
    /// `sandbox` or `stripe` for paid subscriptions.
    pub provider: Option<String>,
    /// `active` or `canceled`.
    pub status: String,
    pub quantity: i64,
    pub starts_at: i64,
    pub expires_at: i64,
    pub auto_renew: bool,
    pub subscription_ref: Option<String>,
    pub subscription_item_ref: Option<String>,
    pub note: Option<String>,
    pub canceled_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl License {
    /// Counts now: not canceled and not past its end.
    pub fn is_active(&self, now: i64) -> bool {
        self.status == "active" && self.expires_at > now
    }
    /// `active`, `expired` or `canceled`, as the API shows it.
    pub fn state(&self, now: i64) -> &'static str {
        if self.status == "canceled" {
            "canceled"
        } else if self.expires_at > now {
            "active"
        } else {
            "expired"
        }
    }
}

fn license(r: &AnyRow) -> Result<License, sqlx::Error> {
    Ok(License {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        tier: r.try_get("tier")?,
        source: r.try_get("source")?,
        provider: r.try_get("provider")?,
        status: r.try_get("status")?,
        quantity: r.try_get("quantity")?,
        starts_at: r.try_get("starts_at")?,
        expires_at: r.try_get("expires_at")?,
        auto_renew: r.try_get::<i64, _>("auto_renew")? != 0,
        subscription_ref: r.try_get("subscription_ref")?,
        subscription_item_ref: r.try_get("subscription_item_ref")?,
        note: r.try_get("note")?,
        canceled_at: r.try_get("canceled_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const LICENSE_COLS: &str = "id, account_id, tier, source, provider, status, quantity, starts_at, \
     expires_at, auto_renew, subscription_ref, subscription_item_ref, note, canceled_at, created_at, updated_at";

/// Inserts `l`; `false` when a row with its id (or subscription) already exists.
pub async fn insert_license<'e, E: Executor<'e, Database = Any>>(
    e: E,
    l: &License,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!(
        "INSERT INTO licenses ({LICENSE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT DO NOTHING"
    ))
    .bind(&l.id)
    .bind(&l.account_id)
    .bind(&l.tier)
    .bind(&l.source)
    .bind(&l.provider)
    .bind(&l.status)
    .bind(l.quantity)
    .bind(l.starts_at)
    .bind(l.expires_at)
    .bind(super::flag(l.auto_renew))
    .bind(&l.subscription_ref)
    .bind(&l.subscription_item_ref)
    .bind(&l.note)
    .bind(l.canceled_at)
    .bind(l.created_at)
    .bind(l.updated_at)
    .execute(e)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes every mutable field of `l` back.
pub async fn update_license<'e, E: Executor<'e, Database = Any>>(
    e: E,
    l: &License,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE licenses SET tier = $1, status = $2, quantity = $3, expires_at = $4, auto_renew = $5, \
         subscription_item_ref = $6, note = $7, canceled_at = $8, updated_at = $9 WHERE id = $10",
    )
    .bind(&l.tier)
    .bind(&l.status)
    .bind(l.quantity)
    .bind(l.expires_at)
    .bind(super::flag(l.auto_renew))
    .bind(&l.subscription_item_ref)
    .bind(&l.note)
    .bind(l.canceled_at)
    .bind(l.updated_at)
    .bind(&l.id)
    .execute(e)
    .await?;
    Ok(())
}

/// The account's licenses in creation order (the order channels take them in).
pub async fn licenses_of(db: &Db, account_id: &str) -> Result<Vec<License>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {LICENSE_COLS} FROM licenses WHERE account_id = $1 ORDER BY created_at, id"
    ))
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(license)
    .collect()
}

pub async fn license_by_subscription<'e, E: Executor<'e, Database = Any>>(
    e: E,
    subscription_ref: &str,
) -> Result<Option<License>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {LICENSE_COLS} FROM licenses WHERE subscription_ref = $1"
    ))
    .bind(subscription_ref)
    .fetch_optional(e)
    .await?
    .map(|r| license(&r))
    .transpose()
}

pub async fn license_by_id(
    db: &Db,
    account_id: &str,
    id: &str,
) -> Result<Option<License>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {LICENSE_COLS} FROM licenses WHERE account_id = $1 AND id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| license(&r))
    .transpose()
}

/// Ends the account's running trial early (a paid or granted license replaces it).
pub async fn end_trial<'e, E: Executor<'e, Database = Any>>(
    e: E,
    account_id: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE licenses SET status = 'canceled', canceled_at = $1, updated_at = $1 \
         WHERE account_id = $2 AND source = 'trial' AND status = 'active' AND expires_at > $1",
    )
    .bind(now)
    .bind(account_id)
    .execute(e)
    .await?
    .rows_affected())
}

/// Active channels of the account, oldest connection first: (id, type, name).
pub async fn active_channels(
    db: &Db,
    account_id: &str,
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, channel_type, name FROM channels WHERE account_id = $1 AND is_active = 1 \
         ORDER BY connected_at, id",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("channel_type")?,
                r.try_get("name")?,
            ))
        })
        .collect()
}

// ---- customers ------------------------------------------------------------

pub async fn customer_of(
    db: &Db,
    account_id: &str,
    provider: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT customer_ref FROM billing_customers WHERE account_id = $1 AND provider = $2",
    )
    .bind(account_id)
    .bind(provider)
    .fetch_optional(&db.pool)
    .await
}

pub async fn account_of_customer<'e, E: Executor<'e, Database = Any>>(
    e: E,
    provider: &str,
    customer_ref: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT account_id FROM billing_customers WHERE provider = $1 AND customer_ref = $2",
    )
    .bind(provider)
    .bind(customer_ref)
    .fetch_optional(e)
    .await
}

pub async fn remember_customer<'e, E: Executor<'e, Database = Any>>(
    e: E,
    account_id: &str,
    provider: &str,
    customer_ref: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO billing_customers (account_id, provider, customer_ref, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(account_id)
    .bind(provider)
    .bind(customer_ref)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

// ---- invoices -------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub struct Invoice {
    pub id: String,
    pub account_id: String,
    pub license_id: Option<String>,
    pub provider: String,
    pub external_ref: String,
    pub number: Option<String>,
    pub status: String,
    pub amount_cents: i64,
    pub currency: String,
    pub description: String,
    pub period_start: Option<i64>,
    pub period_end: Option<i64>,
    pub hosted_url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Inserts the invoice, or updates status, amount and link of the one with the
/// same provider reference.
pub async fn upsert_invoice<'e, E: Executor<'e, Database = Any>>(
    e: E,
    i: &Invoice,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO invoices (id, account_id, license_id, provider, external_ref, number, status, \
         amount_cents, currency, description, period_start, period_end, hosted_url, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (provider, external_ref) DO UPDATE SET status = excluded.status, \
         amount_cents = excluded.amount_cents, number = excluded.number, \
         hosted_url = excluded.hosted_url, license_id = excluded.license_id, updated_at = excluded.updated_at",
    )
    .bind(&i.id)
    .bind(&i.account_id)
    .bind(&i.license_id)
    .bind(&i.provider)
    .bind(&i.external_ref)
    .bind(&i.number)
    .bind(&i.status)
    .bind(i.amount_cents)
    .bind(&i.currency)
    .bind(&i.description)
    .bind(i.period_start)
    .bind(i.period_end)
    .bind(&i.hosted_url)
    .bind(i.created_at)
    .bind(i.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn invoices_of(
    db: &Db,
    account_id: &str,
    limit: i64,
) -> Result<Vec<Invoice>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT * FROM invoices WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Invoice {
                id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
                license_id: r.try_get("license_id")?,
                provider: r.try_get("provider")?,
                external_ref: r.try_get("external_ref")?,
                number: r.try_get("number")?,
                status: r.try_get("status")?,
                amount_cents: r.try_get("amount_cents")?,
                currency: r.try_get("currency")?,
                description: r.try_get("description")?,
                period_start: r.try_get("period_start")?,
                period_end: r.try_get("period_end")?,
                hosted_url: r.try_get("hosted_url")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect()
}

pub async fn count_invoices(db: &Db, account_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(&db.pool)
        .await
}

// ---- Stripe events --------------------------------------------------------

pub async fn event_seen(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stripe_events WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
    Ok(n > 0)
}

/// Records a Stripe event id; `false` when it was handled before.
pub async fn first_sight_of_event<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: &str,
    event_type: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO stripe_events (id, event_type, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(event_type)
    .bind(now)
    .execute(e)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---- sandbox sessions -----------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub id: String,
    pub account_id: String,
    /// `checkout` or `portal`.
    pub kind: String,
    pub tier: Option<String>,
    pub quantity: Option<i64>,
    /// `open`, `completed` or `expired`.
    pub status: String,
    pub license_id: Option<String>,
    pub expires_at: i64,
    pub completed_at: Option<i64>,
    pub created_at: i64,
}

pub async fn insert_session(db: &Db, s: &Session) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO billing_sessions (id, account_id, kind, tier, quantity, status, license_id, \
         expires_at, completed_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&s.id)
    .bind(&s.account_id)
    .bind(&s.kind)
    .bind(&s.tier)
    .bind(s.quantity)
    .bind(&s.status)
    .bind(&s.license_id)
    .bind(s.expires_at)
    .bind(s.completed_at)
    .bind(s.created_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn session(db: &Db, id: &str) -> Result<Option<Session>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM billing_sessions WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| {
        Ok(Session {
            id: r.try_get("id")?,
            account_id: r.try_get("account_id")?,
            kind: r.try_get("kind")?,
            tier: r.try_get("tier")?,
            quantity: r.try_get("quantity")?,
            status: r.try_get("status")?,
            license_id: r.try_get("license_id")?,
            expires_at: r.try_get("expires_at")?,
            completed_at: r.try_get("completed_at")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .transpose()
}

/// Marks an open checkout session completed; `false` when it was not open
/// (paid twice by a double click, or expired).
pub async fn complete_session<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: &str,
    license_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE billing_sessions SET status = 'completed', license_id = $1, completed_at = $2 \
         WHERE id = $3 AND status = 'open' AND expires_at > $2",
    )
    .bind(license_id)
    .bind(now)
    .bind(id)
    .execute(e)
    .await?;
    Ok(done.rows_affected() == 1)
}
