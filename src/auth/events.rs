//! What the core counts: the domain's events as Prometheus series, named here once.
//!
//! The `metrics` macros are a facade: recording is an atomic add on whatever recorder the
//! process installed (none: nothing), so the core counts where it decides, beside the audit
//! line it writes, instead of teaching transports what a login outcome is. Every label value
//! comes from a fixed set below: no user, address or token ever becomes a label. What the
//! series mean and how they are exposed is `telemetry`'s business.

use metrics::{counter, gauge, histogram};

use crate::error::Error;

/// Password logins (gRPC `Login`, `/auth/login/`, `/api/token/`) by `outcome`.
pub const LOGINS: &str = "authd_logins_total";
/// Requests refused for waiting time, by `limit`: `account` (the login throttle) or
/// `client` (the per-address budget).
pub const THROTTLED: &str = "authd_throttled_total";
/// Requests shed because password hashing was at its limit, by `reason`: `queue_full`
/// or `wait_timeout`.
pub const SHED: &str = "authd_shed_total";
/// Spent refresh tokens presented again while their session was live (sessions revoked).
pub const REFRESH_REUSE: &str = "authd_refresh_reuse_detected_total";
/// Requests waiting for a hashing slot now.
pub const HASH_QUEUE_DEPTH: &str = "authd_hash_queue_depth";
/// How long requests waited for a hashing slot, admitted or not.
pub const HASH_WAIT: &str = "authd_hash_wait_seconds";
/// Requests answered together by one batch of statements, by `queue`: recorded by the
/// store, which batches them, and named here with the rest of the core's series.
pub const DB_BATCH_SIZE: &str = crate::store::BATCH_SIZE;

/// Counts one password login by how it ended, and writes the audit line of a success (a
/// failure's line is written where the failure is decided).
pub(super) fn login_attempt<T>(result: &Result<T, Error>) {
    let outcome = match result {
        Ok(_) => {
            tracing::info!(event = "login.succeeded", "login succeeded");
            "success"
        }
        Err(error) => login_failure(error),
    };
    counter!(LOGINS, "outcome" => outcome).increment(1);
}

/// The `outcome` label of a failed login.
fn login_failure(error: &Error) -> &'static str {
    match error {
        Error::InvalidCredentials => "invalid_credentials",
        Error::Throttled { .. } => "throttled",
        Error::Overloaded { .. } => "overloaded",
        Error::InvalidInput(_) => "invalid_input",
        Error::Unavailable(_) => "unavailable",
        Error::Internal(_) => "error",
        // Not answers a login gives today; counted apart should one appear.
        Error::AlreadyExists(_)
        | Error::MissingCredentials
        | Error::MalformedCredentials(_)
        | Error::InvalidToken
        | Error::WrongTokenType
        | Error::NotFound => "other",
    }
}

/// One request refused by the per-account throttle (`account`) or the per-address
/// budget (`client`).
pub(super) fn throttled(limit: &'static str) {
    counter!(THROTTLED, "limit" => limit).increment(1);
}

/// One request shed by the hashing line: it was full (`queue_full`) or the wait for a
/// slot ran out (`wait_timeout`).
pub(super) fn shed(reason: &'static str) {
    counter!(SHED, "reason" => reason).increment(1);
}

pub(super) fn refresh_reuse() {
    counter!(REFRESH_REUSE).increment(1);
}

/// A request joins (`+1.0`) or leaves (`-1.0`) the wait for a hashing slot.
pub(super) fn hash_waiting(change: f64) {
    gauge!(HASH_QUEUE_DEPTH).increment(change);
}

pub(super) fn hash_waited(seconds: f64) {
    histogram!(HASH_WAIT).record(seconds);
}
