//! Opening the embedded backend: one SQLite file in WAL mode, migrated at start.
//!
//! `synchronous = NORMAL` is durable across process crashes in WAL mode; a power cut may
//! lose the last commits, never corrupt the file. The WAL is copied into the file by a
//! connection of its own, not by the writer's commits (`checkpoints.rs`).
//!
//! The file holds password hashes and the (encrypted) signing key, so it is owner-only
//! whatever the umask: authd creates it 0600 itself before SQLite opens it (sqlx would
//! create it with the umask's mode), and SQLite gives the `-wal` and `-shm` files it makes
//! later the database file's mode. A file left too open by an older version, or by hand,
//! is tightened at start, with a warning.

use std::{
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
    str::FromStr,
    time::Duration,
};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{Pools, checkpoints, inline_reads::InlineReads};
use crate::error::Error;

/// Readers beyond this add nothing on a small machine; each holds a page cache.
const MAX_READERS: u32 = 8;
/// How long a request waits for a connection before it is told the service is busy.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a database file has beyond the pools: its checkpoints and its inline reads. An
/// in-memory database has neither (it is private to the connection that made it).
pub struct OnDisk {
    /// Kept only to be dropped with the store, which stops the checkpoints.
    pub _checkpoints: checkpoints::Running,
    pub inline_reads: InlineReads,
}

pub async fn connect(url: &str) -> Result<(Pools, Option<OnDisk>), Error> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| Error::Internal(format!("database URL: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(ACQUIRE_TIMEOUT);
    let file = options.get_filename().to_path_buf();
    let on_disk = file.as_os_str() != ":memory:";
    if on_disk {
        create_owner_only(&file)?;
    }
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(
            options
                .clone()
                .pragma("wal_autocheckpoint", checkpoints::WRITER_FALLBACK_PAGES)
                // A statement that writes several rows inside a transaction (a batch of
                // refreshes: BENCHMARKS.md) copies the pages it changes to a statement
                // journal, so that it can be undone alone. Past 64 KiB SQLite moves that
                // journal to a temporary file, created, written and deleted for every such
                // statement: a quarter of the writer's time under Refresh load. In memory
                // it is as large as the pages one statement touches.
                .pragma("temp_store", "memory"),
        )
        .await?;
    sqlx::migrate!("migrations/sqlite")
        .run(&writer)
        .await
        .map_err(|e| Error::Internal(format!("migrating the database: {e}")))?;
    if on_disk {
        // The writer has opened the WAL, so `-wal` and `-shm` exist now.
        for suffix in ["-wal", "-shm"] {
            let mut companion = file.clone().into_os_string();
            companion.push(suffix);
            restrict(Path::new(&companion))?;
        }
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let readers = (cores as u32 * 2).min(MAX_READERS);
    let reader = SqlitePoolOptions::new()
        .max_connections(readers)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options.clone().read_only(true))
        .await?;
    let on_disk = if on_disk {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Some(OnDisk {
            _checkpoints: checkpoints::start(pool),
            // One per core: a thread holds one only for the length of one statement.
            inline_reads: InlineReads::open(&file, cores)?,
        })
    } else {
        None
    };
    Ok((Pools::Sqlite { writer, reader }, on_disk))
}

/// Creates the database file owner-only if it does not exist, and makes an existing one so.
fn create_owner_only(file: &Path) -> Result<(), Error> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(OWNER_ONLY)
        .open(file)
        .map_err(|e| Error::Internal(format!("creating {}: {e}", file.display())))?;
    restrict(file)
}

/// Owner read and write, nothing for group or others.
const OWNER_ONLY: u32 = 0o600;

/// Takes group and other permissions off `file` if it exists and has any.
fn restrict(file: &Path) -> Result<(), Error> {
    let mode = match std::fs::metadata(file) {
        Ok(metadata) => metadata.permissions().mode() & 0o777,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::Internal(format!("reading {}: {e}", file.display()))),
    };
    if mode & 0o077 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode & 0o700))
        .map_err(|e| Error::Internal(format!("restricting {}: {e}", file.display())))?;
    tracing::warn!(
        file = %file.display(),
        was = format!("{mode:o}"),
        now = format!("{:o}", mode & 0o700),
        "the database file was readable by other users; made it owner-only"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_writer_keeps_its_statement_journals_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("db.sqlite3").display());
        let (pools, _on_disk) = connect(&url).await.unwrap();
        let Pools::Sqlite { writer, .. } = pools else {
            panic!("a sqlite:// URL opens SQLite pools");
        };
        // 2 is MEMORY: temporary files, statement journals among them, stay in memory.
        let temp_store: i64 = sqlx::query_scalar("PRAGMA temp_store")
            .fetch_one(&writer)
            .await
            .unwrap();
        assert_eq!(temp_store, 2);
    }
}
