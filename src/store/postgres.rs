//! Opening the server backend: a pool to PostgreSQL, migrated at start.
//!
//! Every node runs the migrations at start; sqlx holds a PostgreSQL advisory lock while it
//! does, so nodes starting together migrate once. The pool reconnects by itself after the
//! server goes away and comes back; while it is gone, requests wait at most
//! `ACQUIRE_TIMEOUT` for a connection and then fail as UNAVAILABLE.

use std::{str::FromStr, time::Duration};

use sqlx::{
    Connection,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use super::{PoolSettings, Pools};
use crate::error::Error;

const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a connection may sit idle before it is pinged again on its way out of the pool:
/// under load connections come back within milliseconds and are used as they are; on an
/// idle node the health check's statement, once a second, pings first.
pub(super) const PING_AFTER_IDLE: Duration = Duration::from_millis(100);

pub async fn connect(url: &str, settings: PoolSettings) -> Result<Pools, Error> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| Error::Internal(format!("database URL: {e}")))?
        .application_name("authd");
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // A connection that died with the server is found and replaced before use: sqlx
        // pings each connection as it goes back to the pool, and this pings it again
        // before use if it has sat idle since. Not before every use, as sqlx's own
        // `test_before_acquire` would: that was a round trip more for every statement
        // under load (BENCHMARKS.md), to check a connection found alive a moment before.
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await?;
    sqlx::migrate!("migrations/postgres")
        .run(&pool)
        .await
        .map_err(|e| Error::Internal(format!("migrating the database: {e}")))?;
    Ok(Pools::Postgres { pool })
}
