//! Time as a parameter: expiry, the JWKS refresh schedule and the ValidateToken cache all
//! read a [`Clock`], so a test can move it instead of sleeping.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    /// The current time, in whole seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The system's clock, the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
            })
    }
}
