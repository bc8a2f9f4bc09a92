//! API keys of the DRF token API, known only by their hash.

use super::{Store, rows::KeyUserRow};
use crate::{auth::model::KeyUser, error::Error};

impl Store {
    /// Records a new API key by its hash, and revokes the user's oldest live keys beyond
    /// the newest `keep` (the new one included), in one transaction.
    pub async fn insert_api_key(
        &self,
        key_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: Option<i64>,
        keep: i64,
    ) -> Result<(), Error> {
        // Locks the user's row, so two logins of one user at once on PostgreSQL count each
        // other's keys (SQLite's one writer already runs them one after the other).
        const LOCK_USER: &str = "UPDATE users SET is_active = is_active WHERE id = $1";
        const INSERT: &str = "INSERT INTO api_keys (key_hash, user_id, created_at, expires_at)
                              VALUES ($1, $2, $3, $4)";
        const REVOKE_OLDEST: &str = "UPDATE api_keys SET revoked_at = $3
             WHERE user_id = $2 AND key_hash <> $1 AND revoked_at IS NULL
               AND (expires_at IS NULL OR expires_at > $3)
               AND key_hash NOT IN (
                   SELECT key_hash FROM api_keys
                   WHERE user_id = $2 AND key_hash <> $1 AND revoked_at IS NULL
                     AND (expires_at IS NULL OR expires_at > $3)
                   ORDER BY created_at DESC, key_hash
                   LIMIT $4)";
        on_writer!(self, db => {
            let mut tx = db.begin().await?;
            sqlx::query(LOCK_USER).bind(user_id).execute(&mut *tx).await?;
            sqlx::query(INSERT)
                .bind(key_hash)
                .bind(user_id)
                .bind(now)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(REVOKE_OLDEST)
                .bind(key_hash)
                .bind(user_id)
                .bind(now)
                .bind(keep.saturating_sub(1).max(0))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The active user behind a live (unrevoked, unexpired) API key.
    pub async fn api_key_user(&self, key_hash: &str, now: i64) -> Result<Option<KeyUser>, Error> {
        const SQL: &str = "SELECT u.id, u.username, u.email, u.created_at, k.expires_at
             FROM api_keys k JOIN users u ON u.id = k.user_id
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL
               AND (k.expires_at IS NULL OR k.expires_at > $2) AND u.is_active";
        let row: Option<KeyUserRow> = on_reader!(self, db => {
            sqlx::query_as(SQL).bind(key_hash).bind(now).fetch_optional(db).await?
        });
        Ok(row.map(KeyUser::from))
    }
}
