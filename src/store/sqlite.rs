//! Opening the embedded backend: one SQLite file in WAL mode, migrated at start.
//!
//! `synchronous = NORMAL` is durable across process crashes in WAL mode; a power cut may
//! lose the last commits, never corrupt the file.

use std::{str::FromStr, time::Duration};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::Pools;
use crate::error::Error;

/// Readers beyond this add nothing on a small machine; each holds a page cache.
const MAX_READERS: u32 = 8;
/// How long a request waits for a connection before it is told the service is busy.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn connect(url: &str) -> Result<Pools, Error> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| Error::Internal(format!("database URL: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(ACQUIRE_TIMEOUT);
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options.clone())
        .await?;
    sqlx::migrate!("migrations/sqlite")
        .run(&writer)
        .await
        .map_err(|e| Error::Internal(format!("migrating the database: {e}")))?;
    let readers = std::thread::available_parallelism()
        .map_or(2, |n| n.get() as u32 * 2)
        .min(MAX_READERS);
    let reader = SqlitePoolOptions::new()
        .max_connections(readers)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options.read_only(true))
        .await?;
    Ok(Pools::Sqlite { writer, reader })
}
