//! Storage: users, sessions, the record of every issued token, API keys and signing keys.
//!
//! Methods are domain operations (`start_session`, `rotate_refresh`, `end_session`), not
//! CRUD: each one is a whole unit of work, in one transaction where it writes, so the core
//! never holds a transaction open (least of all across an argon2 hash).
//!
//! Two backends, picked by the database URL's scheme: an embedded SQLite file, or
//! PostgreSQL for several nodes on one database. Their SQL is the same text (`$1`
//! placeholders, `RETURNING` and `ON CONFLICT` mean the same in both), so each method is
//! written once, inside [`on_writer!`]/[`on_reader!`], and compiled for each backend's
//! native pool; only connecting and migrating differ (`sqlite.rs`, `postgres.rs`). The core
//! only ever sees [`Store`].

use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::{PgPool, SqlitePool};

use crate::error::Error;

/// Runs `$body` with `$db` bound to the pool that takes writes, once per backend; fails at
/// once with UNAVAILABLE while the database is known to be down.
macro_rules! on_writer {
    ($store:expr, $db:ident => $body:expr) => {{
        $store.refuse_if_down()?;
        match &$store.pools {
            $crate::store::Pools::Sqlite { writer: $db, .. } => $body,
            $crate::store::Pools::Postgres { pool: $db } => $body,
        }
    }};
}

/// Runs `$body` with `$db` bound to the pool for reads, once per backend; fails at once with
/// UNAVAILABLE while the database is known to be down.
macro_rules! on_reader {
    ($store:expr, $db:ident => $body:expr) => {{
        $store.refuse_if_down()?;
        match &$store.pools {
            $crate::store::Pools::Sqlite { reader: $db, .. } => $body,
            $crate::store::Pools::Postgres { pool: $db } => $body,
        }
    }};
}

mod keys;
mod postgres;
mod sessions;
mod sqlite;
mod users;

/// A user as every transport shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub created_at: i64,
}

/// The columns a [`UserRecord`] is read from, in order.
type UserRow = (i64, String, Option<String>, i64);

impl From<UserRow> for UserRecord {
    fn from((id, username, email, created_at): UserRow) -> Self {
        Self {
            id,
            username,
            email,
            created_at,
        }
    }
}

/// A user about to be inserted; the `_key` fields are the case-folded unique forms.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub username_key: &'a str,
    pub email: Option<&'a str>,
    pub email_key: Option<&'a str>,
    pub password_hash: &'a str,
    pub created_at: i64,
}

/// What login needs to check a password.
pub struct StoredCredentials {
    pub user: UserRecord,
    pub password_hash: String,
    pub is_active: bool,
}

/// A field that must be unique among users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    Username,
    Email,
}

/// The outcome of inserting a user: created, or beaten to a unique value.
pub enum Inserted {
    User(UserRecord),
    Duplicate(UniqueField),
}

/// The outcome of spending a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live and unspent; it is now spent and the new pair is recorded.
    Rotated,
    /// The token had already been spent: its session is now revoked.
    Reused,
    /// Unknown token, expired, or its session was already over.
    Rejected,
}

/// The database in use: its pools, and whether it is known to be down.
pub struct Store {
    pools: Pools,
    /// Set while health checks find the database unreachable. Requests then fail at once
    /// instead of each waiting out the pool's acquire timeout; the next successful check
    /// clears it (health checks run every second).
    down: AtomicBool,
}

/// The pools, sized to the engine.
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
        let pools = if url.starts_with("sqlite:") {
            sqlite::connect(url).await?
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            postgres::connect(url, pool).await?
        } else {
            return Err(Error::Internal(
                "unsupported database URL scheme (expected sqlite:// or postgres://)".into(),
            ));
        };
        Ok(Self {
            pools,
            down: AtomicBool::new(false),
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

    /// Records what the last health check found: while down, requests are refused at once
    /// instead of each waiting out the pool's acquire timeout.
    pub fn mark_reachable(&self, reachable: bool) {
        self.down.store(!reachable, Ordering::Relaxed);
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
