//! Replacing a user's password, and ending what the old one let in, in one transaction.

use super::Store;
use crate::{
    auth::model::{Credential, Revoked},
    error::Error,
};

impl Store {
    /// Replaces user `user_id`'s password hash `old` by `new`, if it still is `old` (a
    /// concurrent change wins); whether it was replaced.
    pub async fn upgrade_password_hash(
        &self,
        user_id: i64,
        old: &str,
        new: &str,
    ) -> Result<bool, Error> {
        const SQL: &str =
            "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3";
        let replaced = on_writer!(self, db => {
            sqlx::query(SQL).bind(new).bind(user_id).bind(old).execute(db).await?.rows_affected()
        });
        Ok(replaced == 1)
    }

    /// Sets the password hash of active user `user_id` and ends every live session and API
    /// key of theirs except `keep` (the credential the change was made with), at once.
    /// `None` when the user is gone or disabled (nothing is changed).
    pub async fn replace_password(
        &self,
        user_id: i64,
        password_hash: &str,
        keep: Option<&Credential>,
        now: i64,
    ) -> Result<Option<Revoked>, Error> {
        const PASSWORD: &str = "UPDATE users SET password_hash = $1 WHERE id = $2 AND is_active";
        const SESSIONS: &str = "UPDATE sessions
             SET revoked_at = $1, revoked_reason = 'password_change'
             WHERE user_id = $2 AND revoked_at IS NULL AND id <> $3";
        const KEYS: &str = "UPDATE api_keys SET revoked_at = $1
             WHERE user_id = $2 AND revoked_at IS NULL AND key_hash <> $3";
        // Keys no row has: a database key starts at 1, a key hash is 64 hex characters.
        let (kept_session, kept_key) = match keep {
            Some(Credential::Session { session_id }) => (*session_id, ""),
            Some(Credential::ApiKey { key_hash }) => (0, key_hash.as_str()),
            None => (0, ""),
        };
        let revoked = on_writer!(self, db => {
            let mut tx = db.begin().await?;
            let changed = sqlx::query(PASSWORD)
                .bind(password_hash)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed == 1 {
                let sessions = sqlx::query(SESSIONS)
                    .bind(now)
                    .bind(user_id)
                    .bind(kept_session)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let api_keys = sqlx::query(KEYS)
                    .bind(now)
                    .bind(user_id)
                    .bind(kept_key)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Some(Revoked { sessions, api_keys })
            } else {
                None
            }
        });
        Ok(revoked)
    }
}
