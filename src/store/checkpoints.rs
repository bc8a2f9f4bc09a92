//! Checkpointing SQLite's write-ahead log beside the writer, not inside its commits.
//!
//! By default the connection whose commit takes the WAL past 1,000 pages copies them into
//! the database file and syncs it, inside that commit. authd has one writer connection, so
//! every refresh, login and logout queued behind such a commit waited for the copy too:
//! with checkpoints out of the writer's way, Refresh ran 11–17 % faster (BENCHMARKS.md).
//! Here a connection of its own runs a PASSIVE checkpoint every [`INTERVAL`], which never
//! blocks the writer or a reader, and the writer's own automatic checkpoint is pushed out
//! to [`WRITER_FALLBACK_PAGES`]: a bound on the WAL should this task ever fall behind.

use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::oneshot;

/// How often the checkpoint runs. Under load each run copies what the last interval
/// wrote; idle, it finds nothing to copy and returns at once.
const INTERVAL: Duration = Duration::from_millis(100);

/// The WAL size (pages of 4 KiB) at which the writer checkpoints by itself after all.
pub const WRITER_FALLBACK_PAGES: &str = "10000";

/// The running checkpoint task; dropping this stops it.
pub struct Running {
    _stop: oneshot::Sender<()>,
}

/// Starts checkpointing through `pool`, a connection that may write the database file.
pub fn start(pool: SqlitePool) -> Running {
    let (stop, mut stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = ticks.tick() => {}
            }
            if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                // The writer's own checkpoint still bounds the WAL; say so once a minute at most.
                tracing::warn!(error = %error, "checkpointing the SQLite WAL failed");
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                }
            }
        }
        pool.close().await;
    });
    Running { _stop: stop }
}

#[cfg(test)]
mod tests {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

    use super::*;

    fn options(path: &std::path::Path) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .pragma("wal_autocheckpoint", WRITER_FALLBACK_PAGES)
    }

    async fn pool(path: &std::path::Path) -> SqlitePool {
        SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options(path))
            .await
            .unwrap()
    }

    /// Writes 8 MiB in one transaction: 2,000 pages, past SQLite's default checkpoint
    /// size but short of the writer's fallback.
    async fn write_8_mib(writer: &SqlitePool) {
        sqlx::query("CREATE TABLE blobs (b BLOB)")
            .execute(writer)
            .await
            .unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2048)
             INSERT INTO blobs SELECT randomblob(4096) FROM n",
        )
        .execute(writer)
        .await
        .unwrap();
    }

    fn file_size(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    #[tokio::test]
    async fn the_wal_reaches_the_database_file_without_the_writer_checkpointing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let writer = pool(&path).await;
        let running = start(pool(&path).await);
        write_8_mib(&writer).await;
        let mut waited = Duration::ZERO;
        while file_size(&path) < 8 << 20 && waited < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            waited += Duration::from_millis(50);
        }
        assert!(
            file_size(&path) >= 8 << 20,
            "the database file is {} bytes",
            file_size(&path)
        );
        drop(running);
    }

    #[tokio::test]
    async fn without_the_task_the_writer_leaves_the_pages_in_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let writer = pool(&path).await;
        write_8_mib(&writer).await;
        tokio::time::sleep(INTERVAL * 5).await;
        assert!(file_size(&path) < 1 << 20, "{} bytes", file_size(&path));
    }
}
