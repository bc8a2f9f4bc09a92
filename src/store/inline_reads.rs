//! The per-request liveness reads on SQLite, answered on the request's own thread.
//!
//! sqlx runs every SQLite statement on a worker thread of the connection's own, so each
//! statement costs a hand-off there and another back. On two cores those wake-ups cost more
//! than the read itself: finding one token, its session, its user and its key by primary
//! key is a few microseconds of SQLite. So GetMe's read (and `/api/me/`'s, `/auth/me/`'s,
//! Refresh's read of its token's session, and Login's reads of the account and of its
//! throttle) first tries here: a few read-only connections of this module's own, each
//! behind a mutex, used synchronously by whichever thread serves the request.
//!
//! It never waits. A connection is only taken if it is free (`try_lock`), SQLite's busy
//! timeout is zero, and any error at all (busy, locked, I/O, a schema being changed) makes
//! the read go the usual way instead (through the coalesced reads of `store::coalesced`;
//! Refresh's and Login's through the reader pool), which waits, retries and turns faults into the
//! right [`Error`](crate::error::Error). So a
//! thread is held for one indexed lookup at most, and every failure is reported exactly
//! as before.
//!
//! Nothing gets staler: each read is one autocommit statement that starts after its
//! request arrived, so it sees every commit made before, by this node, another node's
//! admin shell or any other process on the file, exactly as the pool's statement would.

use std::{
    path::Path,
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use rusqlite::{Connection, OpenFlags, Params, Row};

use crate::error::Error;

/// Read-only connections on one SQLite file, each used by one thread at a time.
pub struct InlineReads {
    connections: Vec<Mutex<Connection>>,
    /// Where the next read starts looking for a free connection, so threads spread out.
    next: AtomicUsize,
}

impl InlineReads {
    /// Opens `count` read-only connections on `file`, which must exist and be migrated.
    pub fn open(file: &Path, count: usize) -> Result<Self, Error> {
        let connections = (0..count.max(1))
            .map(|_| open_one(file).map(Mutex::new))
            .collect::<Result<_, _>>()
            .map_err(|e| Error::Internal(format!("opening {} for reads: {e}", file.display())))?;
        Ok(Self {
            connections,
            next: AtomicUsize::new(0),
        })
    }

    /// The row `sql` finds with `params` (`$1`, `$2`, …), mapped by `map`; `Some(None)`
    /// when there is none. `None` when it could not be read here at once, and the caller
    /// must read it the usual way.
    pub fn read<T>(
        &self,
        sql: &'static str,
        params: impl Params,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Option<T>> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.connections.len();
        let connection = (0..count)
            .find_map(|offset| self.connections[(start + offset) % count].try_lock().ok())?;
        let mut statement = connection.prepare_cached(sql).ok()?;
        let mut rows = statement.query(params).ok()?;
        match rows.next() {
            Ok(Some(row)) => map(row).ok().map(Some),
            Ok(None) => Some(None),
            Err(_) => None,
        }
    }

    /// Takes every connection, as a read from every thread at once would: for tests of
    /// what happens when none is free.
    #[cfg(test)]
    pub fn hold_all(&self) -> Vec<std::sync::MutexGuard<'_, Connection>> {
        self.connections
            .iter()
            .map(|connection| connection.lock().expect("an unpoisoned connection"))
            .collect()
    }
}

fn open_one(file: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::ZERO)?;
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQL: &str = "SELECT name FROM things WHERE id = $1 AND until > $2";

    fn database() -> (tempfile::TempDir, std::path::PathBuf, Connection) {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("reads.sqlite3");
        let writer = Connection::open(&file).expect("open");
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE things (id TEXT PRIMARY KEY, name TEXT NOT NULL, until INTEGER);
                 INSERT INTO things VALUES ('a', 'first', 100);",
            )
            .expect("schema");
        (dir, file, writer)
    }

    fn name(row: &Row<'_>) -> rusqlite::Result<String> {
        row.get("name")
    }

    #[test]
    fn a_read_sees_the_commit_made_just_before_it_by_another_connection() {
        let (_dir, file, writer) = database();
        let reads = InlineReads::open(&file, 2).expect("open reads");
        assert_eq!(reads.read(SQL, ("a", 50), name), Some(Some("first".into())));
        writer
            .execute("UPDATE things SET name = 'second' WHERE id = 'a'", ())
            .expect("update");
        assert_eq!(
            reads.read(SQL, ("a", 50), name),
            Some(Some("second".into()))
        );
        writer
            .execute("DELETE FROM things WHERE id = 'a'", ())
            .expect("delete");
        assert_eq!(reads.read(SQL, ("a", 50), name), Some(None));
    }

    #[test]
    fn now_is_bound_as_the_second_parameter() {
        let (_dir, file, _writer) = database();
        let reads = InlineReads::open(&file, 1).expect("open reads");
        assert_eq!(reads.read(SQL, ("a", 99), name), Some(Some("first".into())));
        assert_eq!(reads.read(SQL, ("a", 100), name), Some(None));
    }

    #[test]
    fn with_every_connection_taken_a_read_gives_up_at_once() {
        let (_dir, file, _writer) = database();
        let reads = InlineReads::open(&file, 2).expect("open reads");
        let held = reads.hold_all();
        assert_eq!(reads.read(SQL, ("a", 50), name), None);
        drop(held);
        assert_eq!(reads.read(SQL, ("a", 50), name), Some(Some("first".into())));
    }

    #[test]
    fn a_database_locked_by_another_process_is_given_up_not_waited_for() {
        let (_dir, file, writer) = database();
        let reads = InlineReads::open(&file, 1).expect("open reads");
        // In exclusive locking mode the writer keeps the WAL to itself after its first
        // write: every other connection gets SQLITE_BUSY until it lets go.
        writer
            .execute_batch(
                "PRAGMA locking_mode = EXCLUSIVE;
                 UPDATE things SET name = 'held' WHERE id = 'a';",
            )
            .expect("take the lock");
        assert_eq!(reads.read(SQL, ("a", 50), name), None);
        let timeout: i64 = reads.hold_all()[0]
            .pragma_query_value(None, "busy_timeout", |row| row.get(0))
            .expect("busy_timeout");
        assert_eq!(
            timeout, 0,
            "a busy database is given up at once, not waited for"
        );
        drop(writer);
        assert_eq!(reads.read(SQL, ("a", 50), name), Some(Some("held".into())));
    }

    #[test]
    fn a_statement_that_cannot_run_is_given_up() {
        let (_dir, file, _writer) = database();
        let reads = InlineReads::open(&file, 1).expect("open reads");
        assert_eq!(
            reads.read(
                "SELECT name FROM nowhere WHERE id = $1 AND $2",
                ("a", 1),
                name
            ),
            None
        );
        assert_eq!(
            reads.read(SQL, ("a", 50), |row| row.get::<_, i64>("name")),
            None
        );
    }
}
