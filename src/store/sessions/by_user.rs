//! What a user does with their own sessions: list the live ones, end one by its public id;
//! and what an operator does with anyone's from the shell.
//!
//! Every statement a user's request reaches is scoped by `user_id`, so another user's
//! session id finds nothing, and answers exactly like an id that does not exist.

use crate::{
    auth::model::SessionInfo,
    error::Error,
    store::{Store, rows::SessionRow},
};

/// A session is live while it is not revoked, its newest refresh token has not expired and
/// its absolute end has not come (`$2` is now). A macro, so each statement stays a literal.
macro_rules! live {
    () => {
        "s.revoked_at IS NULL AND s.expires_at > $2 AND s.ends_at > $2"
    };
}

impl Store {
    /// The live sessions of `user_id`, newest first; `current` (a session key) is marked.
    pub async fn live_sessions(
        &self,
        user_id: i64,
        now: i64,
        current: Option<i64>,
    ) -> Result<Vec<SessionInfo>, Error> {
        const SQL: &str = concat!(
            "SELECT s.id, s.public_id, s.created_at, s.expires_at, s.ends_at,
                    COALESCE(s.last_used_at, s.created_at) AS last_used_at, s.user_agent, s.ip
             FROM sessions s
             WHERE s.user_id = $1 AND ",
            live!(),
            " ORDER BY s.created_at DESC, s.id DESC"
        );
        let rows: Vec<SessionRow> = on_reader!(self, db => {
            sqlx::query_as(SQL).bind(user_id).bind(now).fetch_all(db).await?
        });
        Ok(rows.into_iter().map(|row| row.shown_to(current)).collect())
    }

    /// Ends the live session of `user_id` whose public id is `public_id`; whether there was
    /// one.
    pub async fn revoke_session(
        &self,
        user_id: i64,
        now: i64,
        public_id: &str,
    ) -> Result<bool, Error> {
        const SQL: &str = concat!(
            "UPDATE sessions AS s SET revoked_at = $2, revoked_reason = 'revoked_by_user'
             WHERE s.user_id = $1 AND s.public_id = $3 AND ",
            live!()
        );
        let revoked = on_writer!(self, db => {
            sqlx::query(SQL)
                .bind(user_id)
                .bind(now)
                .bind(public_id)
                .execute(db)
                .await?
                .rows_affected()
        });
        Ok(revoked == 1)
    }

    /// Ends every live session of `user_id` (an operator's `sessions revoke --user`); how
    /// many. API keys are left alone.
    pub async fn revoke_sessions_of(&self, user_id: i64, now: i64) -> Result<u64, Error> {
        const SQL: &str = concat!(
            "UPDATE sessions AS s SET revoked_at = $2, revoked_reason = 'revoked_by_operator'
             WHERE s.user_id = $1 AND ",
            live!()
        );
        let revoked = on_writer!(self, db => {
            sqlx::query(SQL).bind(user_id).bind(now).execute(db).await?.rows_affected()
        });
        Ok(revoked)
    }

    /// Ends the live session whose public id is `public_id`, whoever's it is (an
    /// operator's `sessions revoke --session`); its owner's id, if there was one.
    pub async fn revoke_session_by_id(
        &self,
        public_id: &str,
        now: i64,
    ) -> Result<Option<i64>, Error> {
        const SQL: &str = concat!(
            "UPDATE sessions AS s SET revoked_at = $2, revoked_reason = 'revoked_by_operator'
             WHERE s.public_id = $1 AND ",
            live!(),
            " RETURNING user_id"
        );
        let owner = on_writer!(self, db => {
            sqlx::query_scalar(SQL).bind(public_id).bind(now).fetch_optional(db).await?
        });
        Ok(owner)
    }
}
