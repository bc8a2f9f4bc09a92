//! Opening the server backend: a pool to PostgreSQL, migrated at start.
//!
//! Every node runs the migrations at start; sqlx holds a PostgreSQL advisory lock while it
//! does, so nodes starting together migrate once. The pool reconnects by itself after the
//! server goes away and comes back; while it is gone, requests wait at most
//! `ACQUIRE_TIMEOUT` for a connection and then fail as UNAVAILABLE.

use std::{str::FromStr, time::Duration};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{PoolSettings, Pools};
use crate::error::Error;

const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn connect(url: &str, settings: PoolSettings) -> Result<Pools, Error> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| Error::Internal(format!("database URL: {e}")))?
        .application_name("authd");
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // A connection that died with the server is found and replaced before use.
        .test_before_acquire(true)
        .connect_with(options)
        .await?;
    sqlx::migrate!("migrations/postgres")
        .run(&pool)
        .await
        .map_err(|e| Error::Internal(format!("migrating the database: {e}")))?;
    Ok(Pools::Postgres { pool })
}
