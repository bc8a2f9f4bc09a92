//! Deleting what ended long ago, one small batch per call: expired tokens, ended sessions
//! (with whatever tokens they still hold) and ended API keys.
//!
//! Each call deletes at most `limit` rows of its kind in one short transaction, so a purge of
//! a large backlog never holds SQLite's one writer (or PostgreSQL's row locks) for long;
//! the core calls again until a batch comes back short. The same SQL text runs on both
//! engines (`DELETE … WHERE key IN (SELECT key … LIMIT n)`). A row is only ever deleted when
//! its record no longer lets anything in: every check of a token, session or key needs its
//! row, so a missing row refuses exactly as an ended one does.

use super::Store;
use crate::error::Error;

/// Up to `$2` sessions that ended at or before `$1`: revoked, past their newest refresh
/// token's expiry, or past their absolute end (whichever came first). A macro, so the two
/// statements that use it are still `&'static str`.
macro_rules! ended_sessions {
    () => {
        "SELECT id FROM sessions
         WHERE revoked_at <= $1 OR expires_at <= $1 OR ends_at <= $1
         ORDER BY id LIMIT $2"
    };
}

impl Store {
    /// Deletes up to `limit` tokens that expired at or before `before`; returns how many.
    pub async fn delete_expired_tokens(&self, before: i64, limit: i64) -> Result<u64, Error> {
        const SQL: &str = "DELETE FROM tokens WHERE jti IN (
             SELECT jti FROM tokens WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)";
        let deleted = on_writer!(self, db => {
            sqlx::query(SQL).bind(before).bind(limit).execute(db).await?.rows_affected()
        });
        Ok(deleted)
    }

    /// Deletes up to `limit` sessions that ended at or before `before`, and the tokens they
    /// still hold, in one transaction; returns how many sessions and tokens.
    pub async fn delete_ended_sessions(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<(u64, u64), Error> {
        const TOKENS: &str = concat!(
            "DELETE FROM tokens WHERE session_id IN (",
            ended_sessions!(),
            ")"
        );
        const SESSIONS: &str =
            concat!("DELETE FROM sessions WHERE id IN (", ended_sessions!(), ")");
        let deleted = on_writer!(self, db => {
            let mut tx = db.begin().await?;
            let tokens = sqlx::query(TOKENS)
                .bind(before)
                .bind(limit)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let sessions = sqlx::query(SESSIONS)
                .bind(before)
                .bind(limit)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            (sessions, tokens)
        });
        Ok(deleted)
    }

    /// Deletes up to `limit` API keys revoked or expired at or before `before`; returns how
    /// many.
    pub async fn delete_ended_api_keys(&self, before: i64, limit: i64) -> Result<u64, Error> {
        const SQL: &str = "DELETE FROM api_keys WHERE key_hash IN (
             SELECT key_hash FROM api_keys WHERE revoked_at <= $1 OR expires_at <= $1
             ORDER BY key_hash LIMIT $2)";
        let deleted = on_writer!(self, db => {
            sqlx::query(SQL).bind(before).bind(limit).execute(db).await?.rows_affected()
        });
        Ok(deleted)
    }
}
