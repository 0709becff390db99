//! templates: the local copy of a WABA's message templates, per account.
//! `components` is Meta's JSON array as text.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;

#[derive(Clone, Debug, PartialEq)]
pub struct TemplateRow {
    pub account_id: String,
    pub waba_id: String,
    pub meta_template_id: String,
    pub name: String,
    pub language: String,
    pub category: Option<String>,
    /// Meta's status: APPROVED, PENDING, REJECTED, PAUSED, …
    pub status: String,
    /// `POSITIONAL` or `NAMED`.
    pub parameter_format: String,
    pub components: String,
    pub rejected_reason: Option<String>,
    /// Meta's `quality_score` object as JSON text.
    pub quality_score: Option<String>,
    pub status_at: i64,
    pub synced_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "account_id, waba_id, meta_template_id, name, language, category, status, \
    parameter_format, components, rejected_reason, quality_score, status_at, synced_at, created_at, updated_at";

fn row(r: &AnyRow) -> Result<TemplateRow, sqlx::Error> {
    Ok(TemplateRow {
        account_id: r.try_get("account_id")?,
        waba_id: r.try_get("waba_id")?,
        meta_template_id: r.try_get("meta_template_id")?,
        name: r.try_get("name")?,
        language: r.try_get("language")?,
        category: r.try_get("category")?,
        status: r.try_get("status")?,
        parameter_format: r.try_get("parameter_format")?,
        components: r.try_get("components")?,
        rejected_reason: r.try_get("rejected_reason")?,
        quality_score: r.try_get("quality_score")?,
        status_at: r.try_get("status_at")?,
        synced_at: r.try_get("synced_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Inserts or replaces one template (keeps `created_at` of an existing row).
pub async fn upsert(conn: &mut sqlx::AnyConnection, t: &TemplateRow) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO templates ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (account_id, waba_id, meta_template_id) DO UPDATE SET \
         name = $4, language = $5, category = $6, status = $7, parameter_format = $8, components = $9, \
         rejected_reason = $10, quality_score = $11, status_at = $12, synced_at = $13, updated_at = $15"
    ))
    .bind(&t.account_id)
    .bind(&t.waba_id)
    .bind(&t.meta_template_id)
    .bind(&t.name)
    .bind(&t.language)
    .bind(&t.category)
    .bind(&t.status)
    .bind(&t.parameter_format)
    .bind(&t.components)
    .bind(&t.rejected_reason)
    .bind(&t.quality_score)
    .bind(t.status_at)
    .bind(t.synced_at)
    .bind(t.created_at)
    .bind(t.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A full sync: the WABA's templates become exactly `all` (templates deleted
/// at Meta disappear), in one transaction.
pub async fn replace_all(
    db: &Db,
    account_id: &str,
    waba_id: &str,
    all: &[TemplateRow],
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    let existing: Vec<String> = sqlx::query_scalar(
        "SELECT meta_template_id FROM templates WHERE account_id = $1 AND waba_id = $2",
    )
    .bind(account_id)
    .bind(waba_id)
    .fetch_all(&mut *tx)
    .await?;
    for id in existing
        .iter()
        .filter(|id| !all.iter().any(|t| &t.meta_template_id == *id))
    {
        sqlx::query(
            "DELETE FROM templates WHERE account_id = $1 AND waba_id = $2 AND meta_template_id = $3",
        )
        .bind(account_id)
        .bind(waba_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    for t in all {
        upsert(&mut tx, t).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn insert(db: &Db, t: &TemplateRow) -> Result<(), sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    upsert(&mut conn, t).await
}

/// The WABA's templates, newest first; `status` filters (Meta's spelling).
pub async fn list(
    db: &Db,
    account_id: &str,
    waba_id: &str,
    status: Option<&str>,
) -> Result<Vec<TemplateRow>, sqlx::Error> {
    let rows = match status {
        Some(s) => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM templates WHERE account_id = $1 AND waba_id = $2 AND status = $3 \
                 ORDER BY name, language"
            ))
            .bind(account_id)
            .bind(waba_id)
            .bind(s)
            .fetch_all(&db.pool)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM templates WHERE account_id = $1 AND waba_id = $2 ORDER BY name, language"
            ))
            .bind(account_id)
            .bind(waba_id)
            .fetch_all(&db.pool)
            .await?
        }
    };
    rows.iter().map(row).collect()
}

pub async fn get(
    db: &Db,
    account_id: &str,
    waba_id: &str,
    meta_template_id: &str,
) -> Result<Option<TemplateRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM templates WHERE account_id = $1 AND waba_id = $2 AND meta_template_id = $3"
    ))
    .bind(account_id)
    .bind(waba_id)
    .bind(meta_template_id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(row)
    .transpose()
}

/// Every language of `name`.
pub async fn by_name(
    db: &Db,
    account_id: &str,
    waba_id: &str,
    name: &str,
) -> Result<Vec<TemplateRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM templates WHERE account_id = $1 AND waba_id = $2 AND name = $3 ORDER BY language"
    ))
    .bind(account_id)
    .bind(waba_id)
    .bind(name)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(row).collect()
}

/// After an edit: new components (and category), back to review.
pub async fn edited(
    db: &Db,
    t: &TemplateRow,
    components: &str,
    category: Option<&str>,
    status_at: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE templates SET components = $1, category = COALESCE($2, category), status = 'PENDING', \
         rejected_reason = NULL, status_at = $3, updated_at = $7 \
         WHERE account_id = $4 AND waba_id = $5 AND meta_template_id = $6",
    )
    .bind(components)
    .bind(category)
    .bind(status_at)
    .bind(&t.account_id)
    .bind(&t.waba_id)
    .bind(&t.meta_template_id)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Removes one template, or every language of `name` when `meta_template_id` is `None`.
pub async fn delete(
    db: &Db,
    account_id: &str,
    waba_id: &str,
    name: &str,
    meta_template_id: Option<&str>,
) -> Result<u64, sqlx::Error> {
    let r = match meta_template_id {
        Some(id) => {
            sqlx::query(
                "DELETE FROM templates WHERE account_id = $1 AND waba_id = $2 AND meta_template_id = $3",
            )
            .bind(account_id)
            .bind(waba_id)
            .bind(id)
            .execute(&db.pool)
            .await?
        }
        None => {
            sqlx::query("DELETE FROM templates WHERE account_id = $1 AND waba_id = $2 AND name = $3")
                .bind(account_id)
                .bind(waba_id)
                .bind(name)
                .execute(&db.pool)
                .await?
        }
    };
    Ok(r.rows_affected())
}

/// Meta's status webhook, inside the ingest transaction: every account's
/// copy of the template takes the new status unless a sync learned a newer
/// one (`status_at` is compared at second precision, like Meta's `time`).
pub async fn apply_status(
    tx: &mut sqlx::AnyConnection,
    waba_id: &str,
    meta_template_id: &str,
    status: &str,
    rejected_reason: Option<&str>,
    occurred_at: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE templates SET status = $1, rejected_reason = $2, status_at = $3, updated_at = $4 \
         WHERE waba_id = $5 AND meta_template_id = $6 AND status_at <= $3",
    )
    .bind(status)
    .bind(rejected_reason)
    .bind(occurred_at)
    .bind(now)
    .bind(waba_id)
    .bind(meta_template_id)
    .execute(&mut *tx)
    .await?;
    Ok(r.rows_affected())
}
