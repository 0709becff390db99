//! The mail outbox. A mail's single-use link is never stored readable: the
//! body keeps a slot and `link_sealed` the link encrypted with the
//! installation's key (see `services::email`).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;

#[derive(Clone, Debug)]
pub struct Mail {
    pub id: String,
    pub account_id: Option<String>,
    pub to_addr: String,
    pub subject: String,
    /// The body as written, with `services::email::LINK_SLOT` where a link goes.
    pub body_text: String,
    /// The link, encrypted with the installation's cipher.
    pub link_sealed: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub error: Option<String>,
}

fn mail(r: &AnyRow) -> Result<Mail, sqlx::Error> {
    Ok(Mail {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        to_addr: r.try_get("to_addr")?,
        subject: r.try_get("subject")?,
        body_text: r.try_get("body_text")?,
        link_sealed: r.try_get("link_sealed")?,
        created_at: r.try_get("created_at")?,
        sent_at: r.try_get("sent_at")?,
        error: r.try_get("error")?,
    })
}

pub async fn insert(db: &Db, m: &Mail) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mails (id, account_id, to_addr, subject, body_text, link_sealed, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&m.id)
    .bind(&m.account_id)
    .bind(&m.to_addr)
    .bind(&m.subject)
    .bind(&m.body_text)
    .bind(&m.link_sealed)
    .bind(m.created_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn mark_sent(db: &Db, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE mails SET sent_at = $1, error = NULL WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn mark_failed(db: &Db, id: &str, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE mails SET error = $1 WHERE id = $2")
        .bind(error)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Newest first: mails sent to `to_addr`, and nothing else (a mail "about"
/// an account is still only its addressee's to read).
pub async fn to_address(db: &Db, to_addr: &str, limit: i64) -> Result<Vec<Mail>, sqlx::Error> {
    sqlx::query("SELECT * FROM mails WHERE to_addr = $1 ORDER BY created_at DESC, id DESC LIMIT $2")
        .bind(to_addr)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(mail)
        .collect()
}
