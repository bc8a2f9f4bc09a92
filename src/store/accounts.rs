//! Accounts as an operator manages them from the shell: listing users, disabling and
//! enabling them, and setting a password.
//!
//! Disabling and setting a password end every session and API key of the user in the same
//! transaction as the change itself, so no token outlives the change on any node: every
//! request reads the session, the key and `users.is_active` afresh (`session_user`,
//! `api_key_user`), and a refresh re-checks `is_active` when it spends its token.

use super::{Store, rows::UserRow};
use crate::{
    auth::model::{Account, Revoked},
    error::Error,
};

/// `id, username, email, created_at, is_active` of `users`.
#[derive(sqlx::FromRow)]
struct AccountRow {
    #[sqlx(flatten)]
    user: UserRow,
    is_active: bool,
}

/// Ends every live session of user `$2` at `$1`, for the reason `$3`.
const END_SESSIONS: &str = "UPDATE sessions SET revoked_at = $1, revoked_reason = $3
                            WHERE user_id = $2 AND revoked_at IS NULL";
/// Ends every live API key of user `$2` at `$1`.
const END_API_KEYS: &str = "UPDATE api_keys SET revoked_at = $1
                            WHERE user_id = $2 AND revoked_at IS NULL";

/// Ends every live session (for `$reason`) and API key of `$user_id` at `$now`, inside
/// transaction `$tx`; evaluates to the [`Revoked`] counts.
macro_rules! end_everything {
    ($tx:ident, $user_id:expr, $now:expr, $reason:expr) => {{
        let sessions = sqlx::query(END_SESSIONS)
            .bind($now)
            .bind($user_id)
            .bind($reason)
            .execute(&mut *$tx)
            .await?;
        let keys = sqlx::query(END_API_KEYS)
            .bind($now)
            .bind($user_id)
            .execute(&mut *$tx)
            .await?;
        Revoked {
            sessions: sessions.rows_affected(),
            api_keys: keys.rows_affected(),
        }
    }};
}

impl Store {
    /// Up to `limit` users with an id above `after`, in id order, with whether each is
    /// active.
    pub async fn accounts_after(&self, after: i64, limit: i64) -> Result<Vec<Account>, Error> {
        const SQL: &str = "SELECT id, username, email, created_at, is_active FROM users
                           WHERE id > $1 ORDER BY id LIMIT $2";
        let rows: Vec<AccountRow> = on_reader!(self, db => {
            sqlx::query_as(SQL).bind(after).bind(limit).fetch_all(db).await?
        });
        Ok(rows
            .into_iter()
            .map(|row| Account {
                user: row.user.into(),
                is_active: row.is_active,
            })
            .collect())
    }

    /// Marks user `user_id` active or not; turning it off also ends its sessions (reason
    /// `'disabled'`) and API keys at `now`. `None` when there is no such user.
    pub async fn set_active(
        &self,
        user_id: i64,
        active: bool,
        now: i64,
    ) -> Result<Option<Revoked>, Error> {
        const SQL: &str = "UPDATE users SET is_active = $2 WHERE id = $1";
        let revoked = on_writer!(self, db => {
            let mut tx = db.begin().await?;
            let found = sqlx::query(SQL).bind(user_id).bind(active).execute(&mut *tx).await?;
            let revoked = if found.rows_affected() == 0 {
                None
            } else if active {
                Some(Revoked { sessions: 0, api_keys: 0 })
            } else {
                Some(end_everything!(tx, user_id, now, "disabled"))
            };
            tx.commit().await?;
            revoked
        });
        Ok(revoked)
    }

    /// Replaces the password hash of user `user_id` and ends its sessions (reason
    /// `'password_set'`) and API keys at `now`. `None` when there is no such user.
    pub async fn set_password_hash(
        &self,
        user_id: i64,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<Revoked>, Error> {
        const SQL: &str = "UPDATE users SET password_hash = $2 WHERE id = $1";
        let revoked = on_writer!(self, db => {
            let mut tx = db.begin().await?;
            let found = sqlx::query(SQL).bind(user_id).bind(password_hash).execute(&mut *tx).await?;
            let revoked = if found.rows_affected() == 0 {
                None
            } else {
                Some(end_everything!(tx, user_id, now, "password_set"))
            };
            tx.commit().await?;
            revoked
        });
        Ok(revoked)
    }
}
