//! accounts, users, memberships.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;
use crate::domain::Role;

#[derive(Clone, Debug)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub trial_ends_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub email_verified_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Clone, Debug)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub joined_at: i64,
}

fn user(r: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        email_verified_at: r.try_get("email_verified_at")?,
        created_at: r.try_get("created_at")?,
    })
}

fn role(s: String) -> Role {
    Role::parse(&s).unwrap_or(Role::Member)
}

pub async fn insert_account(tx: &mut sqlx::AnyConnection, a: &Account) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO accounts (id, name, trial_ends_at, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&a.id)
    .bind(&a.name)
    .bind(a.trial_ends_at)
    .bind(a.created_at)
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn insert_user(tx: &mut sqlx::AnyConnection, u: &User) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, email_verified_at, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&u.id)
    .bind(&u.email)
    .bind(&u.password_hash)
    .bind(u.email_verified_at)
    .bind(u.created_at)
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn insert_membership(
    tx: &mut sqlx::AnyConnection,
    account_id: &str,
    user_id: &str,
    role: Role,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn account(db: &Db, id: &str) -> Result<Option<Account>, sqlx::Error> {
    let row = sqlx::query("SELECT id, name, trial_ends_at, created_at FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| {
        Ok(Account {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            trial_ends_at: r.try_get("trial_ends_at")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .transpose()
}

pub async fn user_by_email(db: &Db, email: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query("SELECT * FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| user(&r))
        .transpose()
}

pub async fn user_by_id(db: &Db, id: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query("SELECT * FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| user(&r))
        .transpose()
}

pub async fn set_password(db: &Db, user_id: &str, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn mark_verified(db: &Db, user_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET email_verified_at = $1 WHERE id = $2 AND email_verified_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The user's first membership (accounts joined earliest first).
pub async fn primary_membership(
    db: &Db,
    user_id: &str,
) -> Result<Option<(String, Role)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT account_id, role FROM memberships WHERE user_id = $1 ORDER BY created_at, account_id LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| Ok((r.try_get("account_id")?, role(r.try_get("role")?))))
        .transpose()
}

pub async fn membership_role(
    db: &Db,
    account_id: &str,
    user_id: &str,
) -> Result<Option<Role>, sqlx::Error> {
    let row = sqlx::query("SELECT role FROM memberships WHERE account_id = $1 AND user_id = $2")
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| Ok(role(r.try_get("role")?))).transpose()
}

pub async fn members(db: &Db, account_id: &str) -> Result<Vec<Member>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT m.user_id, u.email, m.role, m.created_at FROM memberships m \
         JOIN users u ON u.id = m.user_id WHERE m.account_id = $1 ORDER BY m.created_at, u.email",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Member {
                user_id: r.try_get("user_id")?,
                email: r.try_get("email")?,
                role: role(r.try_get("role")?),
                joined_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

pub async fn set_role(
    db: &Db,
    account_id: &str,
    user_id: &str,
    role: Role,
) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE memberships SET role = $1 WHERE account_id = $2 AND user_id = $3")
            .bind(role.as_str())
            .bind(account_id)
            .bind(user_id)
            .execute(&db.pool)
            .await?
            .rows_affected(),
    )
}

pub async fn remove_member(db: &Db, account_id: &str, user_id: &str) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM memberships WHERE account_id = $1 AND user_id = $2")
            .bind(account_id)
            .bind(user_id)
            .execute(&db.pool)
            .await?
            .rows_affected(),
    )
}

/// Emails of the people who receive operational mail for an account.
pub async fn manager_emails(db: &Db, account_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.account_id = $1 AND m.role IN ('owner', 'admin') ORDER BY u.email",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await
}

pub async fn rename(db: &Db, account_id: &str, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(account_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}
