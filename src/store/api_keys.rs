//! API keys of the DRF token API, known only by their hash.

use super::{Store, rows::UserRow};
use crate::{auth::model::User, error::Error};

impl Store {
    /// Records a new API key by its hash.
    pub async fn insert_api_key(
        &self,
        key_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: Option<i64>,
    ) -> Result<(), Error> {
        const SQL: &str = "INSERT INTO api_keys (key_hash, user_id, created_at, expires_at)
                           VALUES ($1, $2, $3, $4)";
        on_writer!(self, db => {
            sqlx::query(SQL)
                .bind(key_hash)
                .bind(user_id)
                .bind(now)
                .bind(expires_at)
                .execute(db)
                .await?;
        });
        Ok(())
    }

    /// The active user behind a live (unrevoked, unexpired) API key.
    pub async fn api_key_user(&self, key_hash: &str, now: i64) -> Result<Option<User>, Error> {
        const SQL: &str = "SELECT u.id, u.username, u.email, u.created_at
             FROM api_keys k JOIN users u ON u.id = k.user_id
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL
               AND (k.expires_at IS NULL OR k.expires_at > $2) AND u.is_active";
        let row: Option<UserRow> = on_reader!(self, db => {
            sqlx::query_as(SQL).bind(key_hash).bind(now).fetch_optional(db).await?
        });
        Ok(row.map(User::from))
    }
}
