//! Retention: deleting the records of sessions, tokens and API keys that ended long ago, so
//! the tables hold what is live plus a bounded tail, not every login ever made.
//!
//! One function serves both callers: `authd tokens purge --older-than …` once, and
//! `authd serve` every `--prune-interval` with `--retention`. "Now" is the core's clock, so
//! tests move time instead of waiting. The work is cut into batches of [`PURGE_BATCH`]
//! rows, each its own short transaction, so a large backlog never holds the database's
//! write lock for long: other writers get their turn between batches. Expired login-attempt
//! rows go too, by the throttle's own rule ([`super::throttle::FORGET_AFTER`]).

use super::{Auth, model::Purged, throttle::FORGET_AFTER};
use crate::error::Error;

/// Rows deleted per transaction.
pub const PURGE_BATCH: i64 = 500;

impl Auth {
    /// Deletes every session, token and API key record that ended more than `older_than`
    /// seconds ago, and forgotten login attempts; says how many of each.
    pub async fn purge_ended(&self, older_than: i64) -> Result<Purged, Error> {
        let now = self.clock.now();
        let before = now.saturating_sub(older_than);
        let mut purged = Purged::default();
        purged.tokens += batches(|| self.store.delete_expired_tokens(before, PURGE_BATCH)).await?;
        loop {
            let (sessions, tokens) = self
                .store
                .delete_ended_sessions(before, PURGE_BATCH)
                .await?;
            purged.sessions += sessions;
            purged.tokens += tokens;
            if sessions < PURGE_BATCH.unsigned_abs() {
                break;
            }
            tokio::task::yield_now().await;
        }
        purged.api_keys +=
            batches(|| self.store.delete_ended_api_keys(before, PURGE_BATCH)).await?;
        purged.login_attempts = self
            .store
            .forget_login_failures(now.saturating_sub(FORGET_AFTER), now)
            .await?;
        Ok(purged)
    }
}

/// Runs `batch` until one deletes fewer than a whole batch; the total deleted.
async fn batches<F, Fut>(mut batch: F) -> Result<u64, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, Error>>,
{
    let mut total = 0;
    loop {
        let deleted = batch().await?;
        total += deleted;
        if deleted < PURGE_BATCH.unsigned_abs() {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}
