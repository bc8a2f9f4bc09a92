//! The per-account login throttle: after a few consecutive failed logins for one username,
//! each further attempt must wait, longer and longer, before its password is even checked.
//!
//! Kanidm's soft lock is the model, with the count kept in the database (`login_attempts`)
//! so that every node on one PostgreSQL database sees one count. The decisions:
//! - **Claimed before argon2.** Each attempt is claimed by one conditional upsert
//!   (`Store::claim_login_attempt`) that counts it as failed at once; a success then resets
//!   the count. From the [`HOLD_FROM`]th failure on, the claim also holds the username for
//!   a second, so of any number of parallel attempts at most [`HOLD_FROM`] are checked.
//!   Refused attempts cost one read and no argon2, and change nothing.
//! - **Every username, real or not.** The count is keyed by the normalised username, so an
//!   unknown name is throttled exactly like a known one: the answer, its `retry-after` and
//!   its timing say nothing about which usernames exist.
//! - **The schedule** is [`wait_after`]: free for a few typos, then 1 s, 3 s, 5 s, 10 s,
//!   30 s, 1 min, 2 min, then 5 min per attempt. NIST SP 800-63B §5.2.2 allows no more than
//!   100 consecutive failures: the hundredth makes the username wait a day, after which its
//!   failures are forgotten. Failures are also forgotten after a day without attempts.
//!   There is no permanent lock: nothing here needs an administrator to undo.

use super::{
    Auth, Context,
    model::{AttemptRule, LoginClaim},
};
use crate::error::Error;

/// Consecutive failures after which the next attempt waits: the first count with a wait.
pub const HOLD_FROM: i64 = 5;
/// Consecutive failures a username may collect before it waits [`FORGET_AFTER`].
pub const MAX_FAILURES: i64 = 100;
/// Seconds without an attempt after which a username's failures are forgotten.
pub const FORGET_AFTER: i64 = 86_400;
/// Seconds a claim from the [`HOLD_FROM`]th failure on holds the username while its
/// password is checked: the shortest wait of the schedule.
const HOLD: i64 = 1;
/// How often forgotten rows are deleted (by whichever login comes first).
pub(super) const PRUNE_INTERVAL: i64 = 3600;

/// What the store is told to do with each claim.
const RULE: AttemptRule = AttemptRule {
    hold_from: HOLD_FROM,
    hold: HOLD,
    forget_after: FORGET_AFTER,
};

/// Seconds the next attempt must wait after `failures` consecutive failed ones.
pub const fn wait_after(failures: i64) -> i64 {
    match failures {
        i64::MIN..HOLD_FROM => 0,
        HOLD_FROM => 1,
        6 => 3,
        7 => 5,
        8 => 10,
        9 => 30,
        10 => 60,
        11 => 120,
        12..MAX_FAILURES => 300,
        MAX_FAILURES.. => FORGET_AFTER,
    }
}

impl Auth {
    /// Claims the right to check a password for `username_key`: the attempt's number among
    /// consecutive failures, or `Throttled` with how long to wait.
    pub(super) async fn claim_password_check(
        &self,
        ctx: &Context,
        username_key: &str,
    ) -> Result<i64, Error> {
        self.prune_login_attempts(ctx.now).await;
        match self
            .store
            .claim_login_attempt(username_key, ctx.now, RULE)
            .await?
        {
            LoginClaim::Claimed { failures } => Ok(failures),
            LoginClaim::Refused { not_before } => {
                super::events::throttled("account");
                if let Some(refusals) = self.lines.throttled_logins.sample(ctx.now) {
                    tracing::info!(
                        event = "login.throttled",
                        refusals,
                        "login attempts refused while throttled"
                    );
                }
                let retry_after = not_before.saturating_sub(ctx.now).max(1);
                Err(Error::Throttled {
                    retry_after: retry_after.unsigned_abs(),
                })
            }
        }
    }

    /// Records a claimed check that failed: the next attempt waits as [`wait_after`] says
    /// (the claim already held it for [`HOLD`]). A match is settled by its caller
    /// (`sessions::Matched`), which forgets the failures.
    pub(super) async fn settle_failed_check(
        &self,
        ctx: &Context,
        username_key: &str,
        failures: i64,
    ) -> Result<(), Error> {
        let wait = wait_after(failures);
        if wait > HOLD {
            tracing::info!(
                event = "login.delayed",
                failures,
                wait,
                "login failures: next attempt delayed"
            );
            self.store
                .delay_login_attempts(username_key, ctx.now.saturating_add(wait))
                .await?;
        }
        Ok(())
    }

    /// Deletes forgotten rows at most once per [`PRUNE_INTERVAL`]; a failure to do so is
    /// logged, never the request's problem.
    async fn prune_login_attempts(&self, now: i64) {
        if !self.pruning.due(now) {
            return;
        }
        match self
            .store
            .forget_login_failures(now.saturating_sub(FORGET_AFTER), now)
            .await
        {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "forgot old login failures"),
            Err(error) => tracing::warn!(error = %error.with_cause(), "pruning login failures"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_typos_are_free_then_the_wait_grows_to_five_minutes() {
        let waits: Vec<i64> = (0..=13).map(wait_after).collect();
        assert_eq!(waits, [0, 0, 0, 0, 0, 1, 3, 5, 10, 30, 60, 120, 300, 300]);
        assert_eq!(wait_after(99), 300);
    }

    #[test]
    fn the_hundredth_failure_waits_a_day_and_nothing_waits_longer() {
        assert_eq!(wait_after(100), 86_400);
        assert_eq!(wait_after(10_000), 86_400);
        assert!((0..1_000).all(|failures| wait_after(failures) <= FORGET_AFTER));
    }

    #[test]
    fn the_wait_never_shrinks_as_failures_grow() {
        assert!((0..200).all(|failures| wait_after(failures) <= wait_after(failures + 1)));
    }

    #[test]
    fn the_claims_hold_starts_with_the_first_wait_and_is_never_longer_than_a_wait() {
        assert_eq!(wait_after(HOLD_FROM - 1), 0);
        assert!(wait_after(HOLD_FROM) > 0);
        assert!((HOLD_FROM..200).all(|failures| wait_after(failures) >= HOLD));
        // A new row is claimed with no hold, so the first failure must be free.
        const { assert!(HOLD_FROM > 1) };
    }

    #[test]
    fn a_hundred_failures_take_hours_not_minutes() {
        // At the schedule's pace, the hundredth consecutive failure comes after about seven
        // hours of trying; with the day-long wait after it, at most 100 fit in a day.
        let seconds: i64 = (1..MAX_FAILURES).map(wait_after).sum();
        assert_eq!(seconds, 26_629);
    }
}
