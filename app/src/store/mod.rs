//! The only place with SQL. One set of queries runs on SQLite and PostgreSQL through
//! sqlx's `Any` driver: `$1` placeholders, TEXT ids, BIGINT millisecond timestamps.

pub mod accounts;
pub mod alert_marks;
pub mod billing;
pub mod channel_tokens;
pub mod channels;
pub mod contacts;
pub mod deliveries;
pub mod delivery_log;
pub mod early_statuses;
pub mod event_endpoints;
pub mod events;
pub mod invites;
pub mod keys;
pub mod locks;
pub mod mails;
pub mod media;
pub mod messages;
pub mod meta_apps;
pub mod onboarding;
pub mod rate_limits;
pub mod redirects;
pub mod sessions;
pub mod settings;
pub mod setup;
pub mod templates;
pub mod throttle;
pub mod tokens;
pub mod two_step_pins;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub kind: DbKind,
    /// SQLite takes one writer at a time; the hot writers (ingest, relay)
    /// queue here instead of in SQLite's busy handler, which sleeps.
    write_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

impl Db {
    /// Opens the pool. SQLite gets WAL, `synchronous=FULL` (an acknowledged write
    /// survives power loss), a busy timeout and foreign keys on every connection.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let kind = if url.starts_with("sqlite:") {
            DbKind::Sqlite
        } else {
            DbKind::Postgres
        };
        let url = match kind {
            DbKind::Sqlite => prepare_sqlite_url(url)?,
            DbKind::Postgres => url.to_string(),
        };
        let opts = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if kind == DbKind::Sqlite { 8 } else { 10 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if kind == DbKind::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                             PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .after_release(move |conn, _| {
                Box::pin(async move {
                    // SQLite rolls a transaction back by itself on some
                    // errors (a full disk); the driver's ROLLBACK then fails
                    // and it keeps counting the transaction as open, so every
                    // later BEGIN on this connection would fail. A connection
                    // that still counts one (rare: only after a dropped
                    // transaction) waits for its queued rollback (the ping)
                    // and is closed, not reused, if it still counts it.
                    if kind == DbKind::Sqlite && conn.is_in_transaction() {
                        conn.ping().await?;
                        return Ok(!conn.is_in_transaction());
                    }
                    Ok(true)
                })
            })
            .connect_with(opts)
            .await?;
        Ok(Db {
            pool,
            kind,
            write_gate: Default::default(),
        })
    }

    /// On SQLite: this process's turn to write, taken before a write
    /// transaction of the ingest or the relay (fair, no sleeping on a busy
    /// lock). `None` on PostgreSQL, where writers do not exclude each other.
    pub async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.kind {
            DbKind::Sqlite => Some(self.write_gate.lock().await),
            DbKind::Postgres => None,
        }
    }

    /// A write transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock is
    /// taken (waiting in the busy handler) before the first statement, so a
    /// transaction that reads before it writes cannot fail half-way with
    /// "database is locked" because another connection wrote in between.
    /// Inside it, use only its connection: a second pool connection would
    /// wait for the lock this transaction holds.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.kind {
            DbKind::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            DbKind::Postgres => self.pool.begin().await,
        }
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        MIGRATOR.run(&self.pool).await
    }

    /// True when every migration this binary knows is applied (for `/readyz`).
    pub async fn migrations_applied(&self) -> Result<bool, sqlx::Error> {
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(applied as usize >= MIGRATOR.iter().count())
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// Makes sure the SQLite file can be created: parent directory and `mode=rwc`.
fn prepare_sqlite_url(url: &str) -> Result<String, sqlx::Error> {
    let path_part = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if !path_part.is_empty()
        && !path_part.starts_with(":memory:")
        && let Some(parent) = std::path::Path::new(path_part).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
    }
    if url.contains("mode=") {
        Ok(url.to_string())
    } else if url.contains('?') {
        Ok(format!("{url}&mode=rwc"))
    } else {
        Ok(format!("{url}?mode=rwc"))
    }
}

/// Bool columns are INTEGER 0/1 on both databases.
pub fn flag(b: bool) -> i64 {
    i64::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write that fails because the disk is full must not leave its
    /// connection unable to begin the next transaction.
    #[tokio::test]
    async fn connections_survive_a_transaction_sqlite_rolled_back_itself() {
        let path = std::env::temp_dir().join(format!(
            "switchboard-full-{}-{}.db",
            std::process::id(),
            rand::random::<u32>()
        ));
        let db = Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (v TEXT)")
            .execute(&db.pool)
            .await
            .unwrap();
        let size = db.pool.options().get_max_connections();
        let cap = |limit: Option<i64>| {
            let db = db.clone();
            async move {
                let mut conns = Vec::new();
                for _ in 0..size {
                    conns.push(db.pool.acquire().await.unwrap());
                }
                for c in &mut conns {
                    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
                        .fetch_one(&mut **c)
                        .await
                        .unwrap();
                    let max = limit.map_or(1_073_741_823, |extra| pages + extra);
                    sqlx::query(&format!("PRAGMA max_page_count = {max}"))
                        .execute(&mut **c)
                        .await
                        .unwrap();
                }
            }
        };
        cap(Some(0)).await;
        let big = "x".repeat(64 * 1024);
        for _ in 0..size {
            let mut tx = db.begin().await.unwrap();
            let r = sqlx::query("INSERT INTO t (v) VALUES (?)")
                .bind(&big)
                .execute(&mut *tx)
                .await;
            assert!(r.is_err(), "the capped database refuses the write");
        }
        cap(None).await;
        for i in 0..size * 2 {
            let mut tx = db
                .begin()
                .await
                .unwrap_or_else(|e| panic!("begin {i} after the disk had space again: {e}"));
            sqlx::query("INSERT INTO t (v) VALUES ('ok')")
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        db.pool.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(
            prepare_sqlite_url("sqlite::memory:").unwrap(),
            "sqlite::memory:?mode=rwc"
        );
        assert_eq!(
            prepare_sqlite_url("sqlite://x.db?mode=ro").unwrap(),
            "sqlite://x.db?mode=ro"
        );
    }
}
