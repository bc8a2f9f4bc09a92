//! How busy the connection pools are, read at the moment of asking (a metrics scrape):
//! sqlx counts open and idle connections itself, so nothing is tracked here.

use super::{Pools, Store};

/// One pool's connections: open ones, and how many of those are idle.
#[derive(Debug, Clone, Copy)]
pub struct PoolUsage {
    /// `writer` or `reader` for SQLite, `main` for PostgreSQL.
    pub name: &'static str,
    pub open: u32,
    pub idle: u32,
}

impl PoolUsage {
    /// Open connections serving a query or transaction now; on PostgreSQL also those kept
    /// out of the pool for Refresh's reads (`held_reads.rs`, one per core at most).
    pub fn in_use(&self) -> u32 {
        self.open.saturating_sub(self.idle)
    }
}

impl Store {
    pub fn pool_usage(&self) -> Vec<PoolUsage> {
        let usage = |name, open: u32, idle: usize| PoolUsage {
            name,
            open,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
        };
        match &self.pools {
            Pools::Sqlite { writer, reader } => vec![
                usage("writer", writer.size(), writer.num_idle()),
                usage("reader", reader.size(), reader.num_idle()),
            ],
            Pools::Postgres { pool } => vec![usage("main", pool.size(), pool.num_idle())],
        }
    }
}
