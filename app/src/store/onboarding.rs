//! onboarding_links and account_logos (SPEC §6).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;

#[derive(Clone, Debug)]
pub struct OnboardingLink {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub external_id: Option<String>,
    pub channel_type: String,
    pub redirect_url: Option<String>,
    pub webhook_url: Option<String>,
    /// Ciphertext.
    pub webhook_secret: Option<String>,
    /// JSON list, `None` when the link sets no events.
    pub webhook_events: Option<String>,
    /// `pending`, `completing` or `completed` (expiry is computed).
    pub status: String,
    pub channel_id: Option<String>,
    pub phone_number_id: Option<String>,
    pub phone_number: Option<String>,
    pub waba_id: Option<String>,
    pub is_phone_registered: Option<bool>,
    pub created_at: i64,
    pub completed_at: Option<i64>,
    pub expires_at: i64,
    /// When the current (or last) hosted flow took the link.
    pub claimed_at: Option<i64>,
}

const COLUMNS: &str = "id, account_id, name, external_id, channel_type, redirect_url, webhook_url, \
    webhook_secret, webhook_events, status, channel_id, phone_number_id, phone_number, waba_id, \
    is_phone_registered, created_at, completed_at, expires_at, claimed_at";

fn row(r: &AnyRow) -> Result<OnboardingLink, sqlx::Error> {
    let registered: Option<i64> = r.try_get("is_phone_registered")?;
    Ok(OnboardingLink {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        name: r.try_get("name")?,
        external_id: r.try_get("external_id")?,
        channel_type: r.try_get("channel_type")?,
        redirect_url: r.try_get("redirect_url")?,
        webhook_url: r.try_get("webhook_url")?,
        webhook_secret: r.try_get("webhook_secret")?,
        webhook_events: r.try_get("webhook_events")?,
        status: r.try_get("status")?,
        channel_id: r.try_get("channel_id")?,
        phone_number_id: r.try_get("phone_number_id")?,
        phone_number: r.try_get("phone_number")?,
        waba_id: r.try_get("waba_id")?,
        is_phone_registered: registered.map(|v| v != 0),
        created_at: r.try_get("created_at")?,
        completed_at: r.try_get("completed_at")?,
        expires_at: r.try_get("expires_at")?,
        claimed_at: r.try_get("claimed_at")?,
    })
}

pub async fn insert(db: &Db, l: &OnboardingLink) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO onboarding_links ({COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
    ))
    .bind(&l.id)
    .bind(&l.account_id)
    .bind(&l.name)
    .bind(&l.external_id)
    .bind(&l.channel_type)
    .bind(&l.redirect_url)
    .bind(&l.webhook_url)
    .bind(&l.webhook_secret)
    .bind(&l.webhook_events)
    .bind(&l.status)
    .bind(&l.channel_id)
    .bind(&l.phone_number_id)
    .bind(&l.phone_number)
    .bind(&l.waba_id)
    .bind(l.is_phone_registered.map(super::flag))
    .bind(l.created_at)
    .bind(l.completed_at)
    .bind(l.expires_at)
    .bind(l.claimed_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A link of `account_id` (another account's id is `None`, like a missing one).
pub async fn get(
    db: &Db,
    account_id: &str,
    id: &str,
) -> Result<Option<OnboardingLink>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM onboarding_links WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(row)
    .transpose()
}

/// Any account's link, for the hosted page (the id is the capability).
pub async fn get_any(db: &Db, id: &str) -> Result<Option<OnboardingLink>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM onboarding_links WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(row)
    .transpose()
}

/// Newest first.
pub async fn list(
    db: &Db,
    account_id: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<OnboardingLink>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM onboarding_links WHERE account_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(account_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(row).collect()
}

pub async fn count(db: &Db, account_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM onboarding_links WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(&db.pool)
        .await
}

/// Deletes a pending, unexpired link (a hold taken before `stale_before`
/// counts as pending); 0 when it is not (any more) pending.
pub async fn delete_pending(
    db: &Db,
    account_id: &str,
    id: &str,
    now: i64,
    stale_before: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(&format!(
        "DELETE FROM onboarding_links WHERE id = $1 AND account_id = $2 \
         AND expires_at > $3 AND {FREE}"
    ))
    .bind(id)
    .bind(account_id)
    .bind(now)
    .bind(stale_before)
    .execute(&db.pool)
    .await?
    .rows_affected())
}

/// Pending, or held by a flow that took it before `stale_before` (`$4`) and
/// never finished (its process stopped mid-connect).
const FREE: &str = "(status = 'pending' OR (status = 'completing' \
    AND (claimed_at IS NULL OR claimed_at < $4)))";

/// Takes a pending, unexpired link for one hosted flow, in one conditional
/// UPDATE (racing claims: the database lets exactly one through). Returns the
/// hold (its `claimed_at`), which [`complete`] and [`release`] must name;
/// `None` when another flow holds it (since `stale_before` or later), it was
/// completed, deleted or has expired.
pub async fn claim(
    db: &Db,
    id: &str,
    now: i64,
    stale_before: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let taken = sqlx::query(&format!(
        "UPDATE onboarding_links SET status = 'completing', claimed_at = $2 \
         WHERE id = $1 AND expires_at > $3 AND {FREE}"
    ))
    .bind(id)
    .bind(now)
    .bind(now)
    .bind(stale_before)
    .execute(&db.pool)
    .await?
    .rows_affected()
        == 1;
    Ok(taken.then_some(now))
}

/// Gives a claimed link back (its connect failed), so it can be tried again;
/// only while `hold` is still the link's hold (a flow that outlived its hold
/// cannot free a newer flow's).
pub async fn release(db: &Db, id: &str, hold: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE onboarding_links SET status = 'pending' \
         WHERE id = $1 AND status = 'completing' AND claimed_at = $2",
    )
    .bind(id)
    .bind(hold)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// What the link connected, recorded when it completes.
#[derive(Clone, Debug, Default)]
pub struct Completion {
    pub channel_id: String,
    pub phone_number_id: Option<String>,
    pub phone_number: Option<String>,
    pub waba_id: Option<String>,
    pub is_phone_registered: Option<bool>,
}

/// Completes the link held by `hold`; false when that hold is gone (the
/// link was taken over after the hold went stale), so a link completes once.
pub async fn complete(
    db: &Db,
    id: &str,
    hold: i64,
    c: &Completion,
    now: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE onboarding_links SET status = 'completed', channel_id = $1, phone_number_id = $2, \
         phone_number = $3, waba_id = $4, is_phone_registered = $5, completed_at = $6 \
         WHERE id = $7 AND status = 'completing' AND claimed_at = $8",
    )
    .bind(&c.channel_id)
    .bind(&c.phone_number_id)
    .bind(&c.phone_number)
    .bind(&c.waba_id)
    .bind(c.is_phone_registered.map(super::flag))
    .bind(now)
    .bind(id)
    .bind(hold)
    .execute(&db.pool)
    .await?
    .rows_affected()
        == 1)
}

// ---- account logos ----------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Logo {
    pub mime_type: String,
    /// Base64 of the image bytes.
    pub data: String,
    pub sha256: String,
    pub updated_at: i64,
}

pub async fn logo(db: &Db, account_id: &str) -> Result<Option<Logo>, sqlx::Error> {
    let r = sqlx::query(
        "SELECT mime_type, data, sha256, updated_at FROM account_logos WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(&db.pool)
    .await?;
    r.map(|r| {
        Ok(Logo {
            mime_type: r.try_get("mime_type")?,
            data: r.try_get("data")?,
            sha256: r.try_get("sha256")?,
            updated_at: r.try_get("updated_at")?,
        })
    })
    .transpose()
}

/// The logo's fingerprint only (cheap: for cache-busting URLs).
pub async fn logo_sha(db: &Db, account_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT sha256 FROM account_logos WHERE account_id = $1")
        .bind(account_id)
        .fetch_optional(&db.pool)
        .await
}

pub async fn put_logo(db: &Db, account_id: &str, l: &Logo) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM account_logos WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO account_logos (account_id, mime_type, data, sha256, updated_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(account_id)
    .bind(&l.mime_type)
    .bind(&l.data)
    .bind(&l.sha256)
    .bind(l.updated_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

pub async fn delete_logo(db: &Db, account_id: &str) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM account_logos WHERE account_id = $1")
            .bind(account_id)
            .execute(&db.pool)
            .await?
            .rows_affected(),
    )
}
