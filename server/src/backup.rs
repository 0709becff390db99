//! `switchboard backup` and `switchboard restore` for SQLite installations,
//! and the lock that keeps a restore away from a running server.
//!
//! A backup is SQLite's `VACUUM INTO`: one read transaction, so the copy is a
//! consistent snapshot of every committed write (the WAL included) while the
//! server keeps ingesting; writers are not blocked in WAL mode. A file copy
//! of a live database is never used: it can catch the main file and the WAL
//! at different moments and produce a corrupt or torn database.
//!
//! The serve lock: `switchboard serve` holds a shared advisory lock (`flock`)
//! on `<database>.lock` for as long as it runs; `restore` needs the exclusive
//! lock and gives up when it cannot take it at once. The kernel drops the
//! lock when the process ends, even on a crash or `kill -9`, so there is no
//! stale lock file to clean up, and several servers may share one file (each
//! holds a shared lock). A separate file is used because SQLite itself locks
//! the database file with POSIX locks, which closing any other descriptor of
//! that file in the same process would silently release.
//!
//! On PostgreSQL both commands explain the `pg_dump`/`pg_restore` recipe
//! instead (see docs/deploying.md).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use app::config::Config;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

/// The SQLite file `database_url` names; `None` for PostgreSQL.
pub fn sqlite_path(database_url: &str) -> anyhow::Result<Option<PathBuf>> {
    if !database_url.starts_with("sqlite:") {
        return Ok(None);
    }
    let opts = SqliteConnectOptions::from_str(database_url)
        .with_context(|| format!("SWITCHBOARD_DATABASE_URL: cannot read `{database_url}`"))?;
    let path = opts.get_filename().to_path_buf();
    anyhow::ensure!(
        !path.as_os_str().is_empty()
            && !database_url.contains(":memory:")
            && !database_url.contains("mode=memory"),
        "SWITCHBOARD_DATABASE_URL: an in-memory database has nothing to back up or restore"
    );
    Ok(Some(path))
}

fn lock_path(db: &Path) -> PathBuf {
    with_suffix(db, ".lock")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn open_lock_file(db: &Path) -> anyhow::Result<File> {
    if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let path = lock_path(db);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))
}

/// Held by a running `serve` (shared) or a `restore` (exclusive); released
/// when dropped or when the process ends.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
}

impl DatabaseLock {
    /// For `serve`: a shared lock on the SQLite file of `config` (nothing on
    /// PostgreSQL). Fails while a restore is replacing the file.
    pub fn for_serve(config: &Config) -> anyhow::Result<Option<DatabaseLock>> {
        // PostgreSQL, or an in-memory database no other process can see.
        let Ok(Some(db)) = sqlite_path(&config.database_url) else {
            return Ok(None);
        };
        let file = open_lock_file(&db)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Some(DatabaseLock { _file: file })),
            Err(TryLockError::WouldBlock) => bail!(
                "{}: a restore is replacing this database; start the server when it has finished",
                db.display()
            ),
            Err(TryLockError::Error(e)) => Err(e).context("locking the database"),
        }
    }

    /// For `restore`: the exclusive lock, or an error naming the running server.
    fn exclusive(db: &Path) -> anyhow::Result<DatabaseLock> {
        let file = open_lock_file(db)?;
        match file.try_lock() {
            Ok(()) => Ok(DatabaseLock { _file: file }),
            Err(TryLockError::WouldBlock) => bail!(
                "a Switchboard server is running on {} (it holds {}); stop it first, then restore",
                db.display(),
                lock_path(db).display()
            ),
            Err(TryLockError::Error(e)) => Err(e).context("locking the database"),
        }
    }
}

/// Where the key that decrypts a backup's stored secrets lives; a backup
/// never contains it.
pub fn secret_key_reminder(config: &Config) -> String {
    let source = if config.secret_key.is_some() {
        "SWITCHBOARD_SECRET_KEY (set in this environment)".to_string()
    } else {
        format!(
            "the key file {} (sandbox mode)",
            config.data_dir.join("secret.key").display()
        )
    };
    format!(
        "The backup does not contain the secret key. Channel tokens, webhook secrets and \
         message contents in it can only be read with the same key: {source}. \
         Keep a copy of that key apart from the backups."
    )
}

/// The PostgreSQL recipe, printed by both commands on a PostgreSQL installation.
pub fn postgres_recipe() -> &'static str {
    "This installation uses PostgreSQL: back it up and restore it with PostgreSQL's own tools.\n\
     \n\
     Backup (online, a consistent snapshot; run it from cron):\n\
     \x20 pg_dump --format=custom --file=switchboard-$(date +%F).dump \"$SWITCHBOARD_DATABASE_URL\"\n\
     \n\
     Restore (stop every `switchboard serve` first):\n\
     \x20 pg_restore --clean --if-exists --no-owner --dbname=\"$SWITCHBOARD_DATABASE_URL\" switchboard-2026-01-31.dump\n\
     \n\
     The dump does not contain SWITCHBOARD_SECRET_KEY; keep a copy of the key apart from the dumps.\n\
     See docs/deploying.md."
}

/// What a finished backup or restore reports.
#[derive(Debug)]
pub struct Report {
    pub path: PathBuf,
    pub bytes: u64,
    /// The newest migration in the copy.
    pub schema_version: i64,
    /// `restore` only: where the database it replaced was kept.
    pub previous: Option<PathBuf>,
}

async fn open(path: &Path, read_only: bool) -> anyhow::Result<SqliteConnection> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .read_only(read_only)
        .busy_timeout(Duration::from_secs(30));
    SqliteConnection::connect_with(&opts)
        .await
        .with_context(|| format!("cannot open {} as a SQLite database", path.display()))
}

/// `VACUUM INTO` `dest` from the open database, then flushed to disk (SQLite
/// does not fsync its output) and renamed into place, so `dest` is either
/// absent or complete.
async fn vacuum_into(conn: &mut SqliteConnection, dest: &Path) -> anyhow::Result<()> {
    let partial = with_suffix(dest, ".partial");
    let _ = std::fs::remove_file(&partial);
    sqlx::query("VACUUM INTO $1")
        .bind(partial.to_string_lossy().into_owned())
        .execute(&mut *conn)
        .await
        .with_context(|| format!("writing {}", partial.display()))?;
    File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, dest)
        .with_context(|| format!("renaming {} to {}", partial.display(), dest.display()))?;
    if let Some(dir) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        // Makes the rename itself durable.
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Checks that `path` is an intact Switchboard database this binary can run
/// (every migration in it is one this binary knows, unchanged); returns its
/// newest migration.
async fn verify(path: &Path) -> anyhow::Result<i64> {
    let mut conn = open(path, true).await?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .with_context(|| format!("{} is not a SQLite database", path.display()))?;
    anyhow::ensure!(
        integrity == "ok",
        "{} is damaged: {integrity}",
        path.display()
    );
    let applied: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(&mut conn)
    .await
    .with_context(|| format!("{} is not a Switchboard database", path.display()))?;
    for (version, checksum) in &applied {
        match app::store::MIGRATOR.iter().find(|m| m.version == *version) {
            Some(m) if m.checksum.as_ref() == checksum.as_slice() => {}
            Some(_) => bail!(
                "{}: migration {version} differs from this binary's; it was made by another build",
                path.display()
            ),
            None => bail!(
                "{}: migration {version} is newer than this binary ({}); restore it with the Switchboard version that made it",
                path.display(),
                app::VERSION
            ),
        }
    }
    conn.close().await.ok();
    Ok(applied.last().map(|(v, _)| *v).unwrap_or(0))
}

/// `switchboard backup <dest>`: a consistent snapshot of the running SQLite
/// database into the new file `dest`.
pub async fn backup(config: &Config, dest: &Path) -> anyhow::Result<Report> {
    let Some(db) = sqlite_path(&config.database_url)? else {
        bail!("{}", postgres_recipe());
    };
    anyhow::ensure!(
        db.exists(),
        "{}: no database there (check SWITCHBOARD_DATABASE_URL)",
        db.display()
    );
    anyhow::ensure!(
        !dest.exists(),
        "{} exists already; backups never overwrite, choose a new name",
        dest.display()
    );
    let mut conn = open(&db, false).await?;
    vacuum_into(&mut conn, dest).await?;
    conn.close().await.ok();
    let schema_version = verify(dest).await?;
    Ok(Report {
        path: dest.to_path_buf(),
        bytes: std::fs::metadata(dest)?.len(),
        schema_version,
        previous: None,
    })
}

/// `switchboard restore <src>`: replaces the configured SQLite database with
/// the backup `src`. Refuses while a server runs on it. The database it
/// replaces is kept beside it as `<database>.before-restore-<unix time>`.
/// Migrations newer than the backup run when the server starts.
pub async fn restore(config: &Config, src: &Path) -> anyhow::Result<Report> {
    let Some(db) = sqlite_path(&config.database_url)? else {
        bail!("{}", postgres_recipe());
    };
    anyhow::ensure!(src.is_file(), "{}: no such backup file", src.display());
    let schema_version = verify(src).await?;
    let _lock = DatabaseLock::exclusive(&db)?;
    let previous = if db.exists() {
        // Through SQLite, so whatever the WAL still holds is kept too.
        let kept = with_suffix(
            &db,
            &format!(
                ".before-restore-{}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or_default()
            ),
        );
        let mut conn = open(&db, false).await?;
        vacuum_into(&mut conn, &kept).await?;
        conn.close().await.ok();
        Some(kept)
    } else {
        None
    };
    let incoming = with_suffix(&db, ".restoring");
    let mut conn = open(src, true).await?;
    vacuum_into(&mut conn, &incoming).await?;
    conn.close().await.ok();
    // A WAL left beside the old file belongs to it; SQLite would replay it
    // into the restored one.
    for suffix in ["-wal", "-shm"] {
        let p = with_suffix(&db, suffix);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    std::fs::rename(&incoming, &db)
        .with_context(|| format!("moving the restored database to {}", db.display()))?;
    if let Some(dir) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    Ok(Report {
        bytes: std::fs::metadata(&db)?.len(),
        path: db,
        schema_version,
        previous,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_comes_from_the_database_url() {
        assert_eq!(
            sqlite_path("sqlite://data/switchboard.db").unwrap(),
            Some(PathBuf::from("data/switchboard.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:///var/lib/sb/s.db?mode=rwc").unwrap(),
            Some(PathBuf::from("/var/lib/sb/s.db"))
        );
        assert_eq!(sqlite_path("postgres://u@h/db").unwrap(), None);
        assert!(sqlite_path("sqlite::memory:").is_err());
    }
}
