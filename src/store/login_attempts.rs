//! Login attempts per username key: the claim that decides, before a password is checked,
//! whether it may be; the wait a failure earns; the reset a success earns; pruning.
//!
//! The claim is one conditional upsert, never a read followed by a write (a lockout that
//! reads the count and then writes it lets parallel attempts all read the same count, as
//! GHSA-7h8m-vrxx-vr4m showed). Concurrent claims on one key serialise on its row in both
//! engines, and each sees the row the one before it left, so the hold a claim sets stops
//! the next. A read on the reader pool comes first only to refuse, without taking the
//! writer, the attempts an attack sends while the username is already waiting.

use super::Store;
use crate::{
    auth::model::{AttemptRule, LoginClaim},
    error::Error,
};

/// A success: the username key's (`$1`) failures are forgotten.
pub(super) const FORGET_FAILURES: &str = "DELETE FROM login_attempts WHERE username_key = $1";
pub(super) const NOT_BEFORE: &str =
    "SELECT next_attempt_at FROM login_attempts WHERE username_key = $1";

impl Store {
    /// Claims a login attempt for `username_key` at `now`, counting it as a failure until
    /// the password is known to match; refused, with the time to come back, while the
    /// username must wait.
    pub async fn claim_login_attempt(
        &self,
        username_key: &str,
        now: i64,
        rule: AttemptRule,
    ) -> Result<LoginClaim, Error> {
        // $1 key, $2 now, $3 hold_from, $4 hold, $5 forget_after. A row whose last attempt
        // is `forget_after` old starts over at one failure. Unqualified columns in SET mean
        // the existing row in both engines; they are qualified anyway for the reader.
        const CLAIM: &str = "INSERT INTO login_attempts
                 (username_key, failures, last_attempt_at, next_attempt_at)
             VALUES ($1, 1, $2, $2)
             ON CONFLICT (username_key) DO UPDATE SET
                 failures = CASE
                     WHEN login_attempts.last_attempt_at <= $2 - $5 THEN 1
                     ELSE login_attempts.failures + 1 END,
                 next_attempt_at = CASE
                     WHEN login_attempts.last_attempt_at <= $2 - $5 THEN $2
                     WHEN login_attempts.failures + 1 >= $3 THEN $2 + $4
                     ELSE $2 END,
                 last_attempt_at = $2
             WHERE login_attempts.next_attempt_at <= $2
             RETURNING failures";
        if let Some(not_before) = self.login_not_before(username_key).await?
            && not_before > now
        {
            return Ok(LoginClaim::Refused { not_before });
        }
        let claimed: Option<i64> = on_writer!(self, db => {
            sqlx::query_scalar(CLAIM)
                .bind(username_key)
                .bind(now)
                .bind(rule.hold_from)
                .bind(rule.hold)
                .bind(rule.forget_after)
                .fetch_optional(db)
                .await?
        });
        match claimed {
            Some(failures) => Ok(LoginClaim::Claimed { failures }),
            // Another attempt claimed it between the read and the upsert: its hold is the
            // answer (or, if that attempt already succeeded and reset it, "now").
            None => Ok(LoginClaim::Refused {
                not_before: self.login_not_before(username_key).await?.unwrap_or(now),
            }),
        }
    }

    /// When `username_key`'s next attempt may be checked, if it has a row; read inline on
    /// SQLite when a connection is free (`store::inline_reads`), as every login's.
    pub(super) async fn login_not_before(&self, username_key: &str) -> Result<Option<i64>, Error> {
        self.refuse_if_down()?;
        if let Some(not_before) = self.inline_read(NOT_BEFORE, (username_key,), |row| row.get(0)) {
            return Ok(not_before);
        }
        let not_before: Option<i64> = on_reader!(self, db => {
            sqlx::query_scalar(NOT_BEFORE).bind(username_key).fetch_optional(db).await?
        });
        Ok(not_before)
    }

    /// No attempt for `username_key` is checked before `until` (a wait only grows here).
    pub async fn delay_login_attempts(&self, username_key: &str, until: i64) -> Result<(), Error> {
        const SQL: &str = "UPDATE login_attempts SET next_attempt_at = $2
                           WHERE username_key = $1 AND next_attempt_at < $2";
        on_writer!(self, db => {
            sqlx::query(SQL).bind(username_key).bind(until).execute(db).await?;
        });
        Ok(())
    }

    /// A successful login: the username's failures are forgotten.
    pub async fn record_login_success(&self, username_key: &str) -> Result<(), Error> {
        on_writer!(self, db => {
            sqlx::query(FORGET_FAILURES).bind(username_key).execute(db).await?;
        });
        Ok(())
    }

    /// Deletes the rows whose last attempt was at or before `last_attempt_before` and
    /// which no longer hold anyone back at `now`: they would start over anyway.
    pub async fn forget_login_failures(
        &self,
        last_attempt_before: i64,
        now: i64,
    ) -> Result<u64, Error> {
        const SQL: &str = "DELETE FROM login_attempts
                           WHERE last_attempt_at <= $1 AND next_attempt_at <= $2";
        let deleted = on_writer!(self, db => {
            sqlx::query(SQL).bind(last_attempt_before).bind(now).execute(db).await?.rows_affected()
        });
        Ok(deleted)
    }
}
