//! Portable row locks for "count, then write" rules (license slots, per-account
//! caps). A read followed by a write is not enough on its own: two requests
//! can both read "one slot left" and both write. Inside a transaction from
//! [`super::Db::begin`], [`account`] makes every such rule of one account run
//! one at a time:
//!
//! - on SQLite the transaction is `BEGIN IMMEDIATE`, so it already holds the
//!   database's write lock; the touch is a no-op there;
//! - on PostgreSQL `SELECT … FOR UPDATE` is not portable, so the account row is
//!   touched with an `UPDATE` that changes nothing: it takes the row lock until
//!   commit, and a second transaction's touch waits for it. At READ COMMITTED
//!   every later statement of the waiter sees what the first one committed.
//!
//! Take the lock first, then count, then write, then commit; never call
//! anything slow (Meta, a customer's endpoint) while holding it.

/// Locks the account row for the rest of the transaction. False when the
/// account does not exist.
pub async fn account(tx: &mut sqlx::AnyConnection, account_id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("UPDATE accounts SET name = name WHERE id = $1")
        .bind(account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1)
}
