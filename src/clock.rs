//! Time as a parameter of the core.
//!
//! Token expiry, session expiry and every stored timestamp come from a [`Clock`], never from
//! the system directly, so tests move time forward with a [`ManualClock`] instead of sleeping.
//! Times are whole seconds since the Unix epoch (JWT `iat`/`exp` are whole seconds too).

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The real time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        system_now()
    }
}

fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// A clock that only moves when told to; clones share one time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Starts at the current real time, so tokens it stamps look ordinary.
    pub fn starting_now() -> Self {
        Self(Arc::new(AtomicI64::new(system_now())))
    }

    /// Starts at `seconds` since the Unix epoch, so what it stamps is known in advance.
    pub fn starting_at(seconds: i64) -> Self {
        Self(Arc::new(AtomicI64::new(seconds)))
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
