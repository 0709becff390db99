//! Team invitations.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;
use crate::domain::Role;

#[derive(Clone, Debug)]
pub struct Invite {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub role: Role,
    pub expires_at: i64,
    pub created_at: i64,
}

fn invite(r: &AnyRow) -> Result<Invite, sqlx::Error> {
    Ok(Invite {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        email: r.try_get("email")?,
        role: Role::parse(&r.try_get::<String, _>("role")?).unwrap_or(Role::Member),
        expires_at: r.try_get("expires_at")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn insert(
    db: &Db,
    i: &Invite,
    token_hash: &str,
    invited_by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO invites (id, account_id, email, role, token_hash, invited_by, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&i.id)
    .bind(&i.account_id)
    .bind(&i.email)
    .bind(i.role.as_str())
    .bind(token_hash)
    .bind(invited_by)
    .bind(i.expires_at)
    .bind(i.created_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn open_for_account(
    db: &Db,
    account_id: &str,
    now: i64,
) -> Result<Vec<Invite>, sqlx::Error> {
    sqlx::query(
        "SELECT * FROM invites WHERE account_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
         AND expires_at > $2 ORDER BY created_at DESC",
    )
    .bind(account_id)
    .bind(now)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(invite)
    .collect()
}

pub async fn open_by_token(
    db: &Db,
    token_hash: &str,
    now: i64,
) -> Result<Option<Invite>, sqlx::Error> {
    sqlx::query(
        "SELECT * FROM invites WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| invite(&r))
    .transpose()
}

/// Marks an invite accepted; false when someone else used it first.
pub async fn accept(tx: &mut sqlx::AnyConnection, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("UPDATE invites SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(tx)
        .await?
        .rows_affected()
        == 1)
}

/// Withdraws the open invitations of one address to one account (a new one replaces them).
pub async fn revoke_open_for_email(
    db: &Db,
    account_id: &str,
    email: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE invites SET revoked_at = $1 WHERE account_id = $2 AND email = $3 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(account_id)
    .bind(email)
    .execute(&db.pool)
    .await?
    .rows_affected())
}

pub async fn revoke(db: &Db, account_id: &str, id: &str, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE invites SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(account_id)
    .execute(&db.pool)
    .await?
    .rows_affected())
}
