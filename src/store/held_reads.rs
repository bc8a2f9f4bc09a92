//! PostgreSQL reads on a few connections the store keeps out of its pool.
//!
//! sqlx pings every connection as it goes back to its pool, a round trip the pool's
//! options cannot turn off. Refresh reads its token's session on every request, one
//! statement of its own, so on PostgreSQL each refresh paid two round trips for that read:
//! the statement and the ping after it. A read made here is one: the connection stays in
//! its slot between reads, so it never goes back to the pool and is never pinged for it.
//!
//! It never waits for a slot or for the pool. A slot is taken only if free (`try_lock`),
//! and an empty one is filled only with a connection the pool has idle, which is pinged
//! first. When no slot is free, none can be filled, or the statement fails, the caller
//! reads through the pool as before, which waits, retries and turns faults into the right
//! [`Error`](crate::error::Error). A connection
//! that failed a statement, or whose read was given up half-way, leaves its slot for the
//! pool, which checks it on the way back. So a read costs at most one failed attempt more,
//! never a different answer. A connection idle for [`PING_AFTER_IDLE`] goes back to the
//! pool too, and the slot takes one out again, pinged: the promise of `postgres.rs` (a
//! connection that died while idle is replaced before its next use) holds here as well.
//!
//! Nothing gets staler: each read is one autocommit statement, sent after its request
//! arrived, on a connection with no transaction open.

use std::{
    future::Future,
    pin::Pin,
    sync::atomic::{AtomicUsize, Ordering},
    time::Instant,
};

use sqlx::{Connection, PgConnection, PgPool, Postgres, pool::PoolConnection};
use tokio::sync::Mutex;

use super::postgres::PING_AFTER_IDLE;

/// A connection kept in a slot, and when its last read ended.
struct Kept {
    connection: PoolConnection<Postgres>,
    last_used: Instant,
}

/// A statement run on a kept connection.
pub type Statement<'c, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'c>>;

/// Slots of connections kept out of the pool, each used by one read at a time.
pub struct HeldReads {
    slots: Vec<Mutex<Option<Kept>>>,
    /// Where the next read starts looking for a free slot, so reads spread out.
    next: AtomicUsize,
}

impl HeldReads {
    /// `count` slots (none: every read goes through the pool). A slot takes its connection
    /// out of the pool at its first read.
    pub fn new(count: usize) -> Self {
        Self {
            slots: (0..count).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// What `statement` returns on a kept connection; `None` when no slot is free, no
    /// connection could be had, or the statement failed, and the caller must read through
    /// the pool.
    pub async fn read<T>(
        &self,
        pool: &PgPool,
        statement: impl for<'c> FnOnce(&'c mut PgConnection) -> Statement<'c, T>,
    ) -> Option<T> {
        let count = self.slots.len();
        if count == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut slot =
            (0..count).find_map(|offset| self.slots[(start + offset) % count].try_lock().ok())?;
        // Idle too long: back to the pool, which pings it before anyone uses it again.
        if slot
            .as_ref()
            .is_some_and(|kept| kept.last_used.elapsed() >= PING_AFTER_IDLE)
        {
            slot.take();
        }
        if slot.is_none() {
            // Only a connection the pool has idle, pinged first (it may have sat idle for
            // long): a slot never waits for the pool, so a read never waits twice.
            let mut connection = pool.try_acquire()?;
            connection.ping().await.ok()?;
            *slot = Some(Kept {
                connection,
                last_used: Instant::now(),
            });
        }
        // Until the statement has answered, the slot counts as broken: a read given up
        // half-way (its request gone) leaves the connection to the pool, not to the next
        // read.
        let mut kept = slot.take()?;
        let answer = statement(&mut kept.connection).await.ok()?;
        kept.last_used = Instant::now();
        *slot = Some(kept);
        Some(answer)
    }
}
