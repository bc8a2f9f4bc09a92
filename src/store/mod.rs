//! Storage: users, sessions, the record of every issued token, API keys, signing keys, and
//! the count of failed logins per username.
//!
//! Methods are domain operations (`start_session`, `rotate_refresh`, `end_session`), not
//! CRUD: each one is a whole unit of work, in one transaction where it writes, so the core
//! never holds a transaction open (least of all across an argon2 hash). They take and
//! return the core's nouns ([`crate::auth::model`]) and nothing else of the core, so the
//! arrows run one way: adapters → core → storage → model.
//!
//! Two backends, picked by the database URL's scheme: an embedded SQLite file, or
//! PostgreSQL for several nodes on one database. Their SQL is the same text by default (`$1`
//! placeholders, `RETURNING` and `ON CONFLICT` mean the same in both), so each method is
//! written once, inside `on_writer!`/`on_reader!`, and compiled for each backend's
//! native pool. Where the dialects must differ (batched deletes, `SKIP LOCKED`,
//! `LISTEN/NOTIFY`), the same macros take one arm per backend, so a divergent query still
//! gets the "database is down" check. Only connecting and migrating live apart
//! (`sqlite.rs`, `postgres.rs`). The core only ever sees [`Store`].

use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::{PgPool, SqlitePool};

use crate::{
    auth::model::{KeyUser, Rotation, SessionUser},
    error::Error,
};

/// Runs `$body` with `$db` bound to the pool that takes writes, once per backend; fails at
/// once with UNAVAILABLE while the database is known to be down. With `sqlite: $db => …,
/// postgres: $db => …` each backend gets its own body, for SQL whose dialects differ.
macro_rules! on_writer {
    ($store:expr, $db:ident => $body:expr) => {
        on_writer!($store, sqlite: $db => $body, postgres: $db => $body)
    };
    ($store:expr, sqlite: $sqlite:ident => $on_sqlite:expr, postgres: $pg:ident => $on_pg:expr) => {{
        $store.refuse_if_down()?;
        writer_of!($store.pools, sqlite: $sqlite => $on_sqlite, postgres: $pg => $on_pg)
    }};
}

/// As [`on_writer!`], on `$pools` itself and without the "database is down" check: for
/// the work a batch does after its requests were each checked on the way in.
macro_rules! writer_of {
    ($pools:expr, $db:ident => $body:expr) => {
        writer_of!($pools, sqlite: $db => $body, postgres: $db => $body)
    };
    ($pools:expr, sqlite: $sqlite:ident => $on_sqlite:expr, postgres: $pg:ident => $on_pg:expr) => {
        match &$pools {
            $crate::store::Pools::Sqlite { writer: $sqlite, .. } => $on_sqlite,
            $crate::store::Pools::Postgres { pool: $pg } => $on_pg,
        }
    };
}

/// Runs `$body` with `$db` bound to the pool for reads, once per backend; fails at once with
/// UNAVAILABLE while the database is known to be down. Takes one arm per backend as
/// [`on_writer!`] does.
macro_rules! on_reader {
    ($store:expr, $db:ident => $body:expr) => {
        on_reader!($store, sqlite: $db => $body, postgres: $db => $body)
    };
    ($store:expr, sqlite: $sqlite:ident => $on_sqlite:expr, postgres: $pg:ident => $on_pg:expr) => {{
        $store.refuse_if_down()?;
        match &$store.pools {
            $crate::store::Pools::Sqlite { reader: $sqlite, .. } => $on_sqlite,
            $crate::store::Pools::Postgres { pool: $pg } => $on_pg,
        }
    }};
}

mod accounts;
mod api_keys;
mod batched;
mod checkpoints;
mod coalesced;
mod django_imports;
pub mod django_source;
mod faults;
mod held_reads;
mod inline_reads;
#[cfg(test)]
mod inline_reads_tests;
mod login_attempts;
mod passwords;
mod pool_usage;
mod postgres;
mod retention;
mod rows;
mod sessions;
mod signing_keys;
mod sqlite;
mod user_keys;
mod users;

pub use batched::BATCH_SIZE;
pub use pool_usage::PoolUsage;

/// The database in use: its pools, and whether it is known to be down.
pub struct Store {
    pools: Pools,
    /// Set while health checks find the database unreachable. Requests then fail at once
    /// instead of each waiting out the pool's acquire timeout; the next successful check
    /// clears it (health checks run every second).
    down: AtomicBool,
    /// The per-request reads of access tokens and API keys, coalesced.
    access_reads: coalesced::Coalescer<SessionUser>,
    key_reads: coalesced::Coalescer<KeyUser>,
    /// The refreshes of concurrent requests, spent together (`sessions/rotation_batch.rs`).
    rotations: batched::Batches<sessions::RotationRequest, Rotation>,
    /// PostgreSQL's reads on connections kept out of the pool (`held_reads.rs`); no slots
    /// on SQLite, which reads inline instead.
    held_reads: held_reads::HeldReads,
    /// A SQLite file's WAL checkpoints, run beside the writer while the store lives, and
    /// its liveness reads on the request's own thread (`inline_reads.rs`), which the
    /// coalesced reads above back up.
    on_disk: Option<sqlite::OnDisk>,
}

/// The pools, sized to the engine.
#[derive(Clone)]
pub enum Pools {
    /// SQLite allows one writer at a time: writes queue for a single connection (instead of
    /// failing with SQLITE_BUSY) while WAL lets several readers run beside it.
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    /// PostgreSQL: one pool, shared by reads and writes.
    Postgres { pool: PgPool },
}

/// Pool sizing for the server-based backend.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Connections one node keeps to PostgreSQL at most.
    pub max_connections: u32,
}

impl Store {
    /// Opens the database named by `url` (creating a SQLite file if needed) and migrates it.
    pub async fn connect(url: &str, pool: PoolSettings) -> Result<Self, Error> {
        let (pools, on_disk) = if url.starts_with("sqlite:") {
            sqlite::connect(url).await?
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (postgres::connect(url, pool).await?, None)
        } else {
            return Err(Error::Internal(
                "unsupported database URL scheme (expected sqlite:// or postgres://)".into(),
            ));
        };
        // One batched read in flight per two cores: fewer statements at a time make bigger
        // batches, and on two cores one at a time answered 30 % more GetMe on PostgreSQL
        // and REST `/auth/me/` on SQLite than one per core (BENCHMARKS.md).
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let in_flight = (cores / 2).max(1);
        let on = pools.clone();
        let access_reads = coalesced::Coalescer::start("access_token", in_flight, move |batch| {
            let pools = on.clone();
            async move { sessions::live_access_tokens(&pools, batch).await }
        });
        let on = pools.clone();
        let key_reads = coalesced::Coalescer::start("api_key", in_flight, move |batch| {
            let pools = on.clone();
            async move { api_keys::live_api_keys(&pools, batch).await }
        });
        // One batch of refreshes at a time: SQLite has one writer anyway, and on PostgreSQL
        // two batches of one node would only wait for each other's row locks.
        let on = pools.clone();
        let rotations = batched::Batches::start("refresh", 1, move |requests| {
            let pools = on.clone();
            async move { sessions::rotate_all(&pools, requests).await }
        });
        // On PostgreSQL, a slot per core for the reads that skip the pool's ping, while
        // three quarters of the pool stay the pool's.
        let held = match &pools {
            Pools::Postgres { .. } => {
                cores.min(usize::try_from(pool.max_connections / 4).unwrap_or(0))
            }
            Pools::Sqlite { .. } => 0,
        };
        Ok(Self {
            pools,
            down: AtomicBool::new(false),
            access_reads,
            key_reads,
            rotations,
            held_reads: held_reads::HeldReads::new(held),
            on_disk,
        })
    }

    /// Whether the database answers, for health checks. Runs even while the store is
    /// marked down: it is how an outage is found to be over.
    pub async fn ping(&self) -> Result<(), Error> {
        match &self.pools {
            Pools::Sqlite { reader, .. } => {
                sqlx::query("SELECT 1").execute(reader).await?;
            }
            Pools::Postgres { pool } => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// The engine and its version, e.g. `SQLite 3.46.0` or `PostgreSQL 15.18 (Debian …)`,
    /// for the startup log.
    pub async fn engine_version(&self) -> Result<String, Error> {
        let version: String = on_reader!(self,
            sqlite: db => sqlx::query_scalar("SELECT 'SQLite ' || sqlite_version()").fetch_one(db).await?,
            postgres: db => sqlx::query_scalar("SELECT 'PostgreSQL ' || current_setting('server_version')")
                .fetch_one(db)
                .await?
        );
        Ok(version)
    }

    /// Records what the last health check found: while down, requests are refused at once
    /// instead of each waiting out the pool's acquire timeout.
    pub fn mark_reachable(&self, reachable: bool) {
        self.down.store(!reachable, Ordering::Relaxed);
    }

    /// The live row behind `key` at `now`: read on this thread by `inline_sql` (`$1` the
    /// key, `$2` now) through `map` when SQLite can answer at once, else through
    /// `coalesced`.
    async fn live_row<Row, T>(
        &self,
        inline_sql: &'static str,
        map: fn(&rusqlite::Row<'_>) -> rusqlite::Result<Row>,
        coalesced: &coalesced::Coalescer<T>,
        key: &str,
        now: i64,
    ) -> Result<Option<T>, Error>
    where
        T: From<Row> + Clone + Send + 'static,
    {
        self.refuse_if_down()?;
        if let Some(found) = self.inline_read(inline_sql, (key, now), map) {
            return Ok(found.map(T::from));
        }
        coalesced.read(key.to_owned(), now).await
    }

    /// The row `sql` finds with `params`, read on this thread when SQLite can answer at
    /// once (`inline_reads.rs`); `None` when it cannot (or on PostgreSQL), and the caller
    /// must read it the usual way.
    fn inline_read<T>(
        &self,
        sql: &'static str,
        params: impl rusqlite::Params,
        map: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Option<T>> {
        let reads = &self.on_disk.as_ref()?.inline_reads;
        reads.read(sql, params, map)
    }

    fn refuse_if_down(&self) -> Result<(), Error> {
        if self.down.load(Ordering::Relaxed) {
            return Err(Error::Unavailable(
                "the last health check could not reach the database".into(),
            ));
        }
        Ok(())
    }
}
