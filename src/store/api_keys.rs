//! API keys of the DRF token API, known only by their hash.

use super::{
    Store,
    rows::{KeyUserRow, KeyedKeyUserRow},
};
use crate::{auth::model::KeyUser, error::Error};

/// What every API-key read selects, and from where.
macro_rules! api_key_rows {
    () => {
        "SELECT k.key_hash AS key, u.id, u.username, u.email, u.created_at, k.expires_at
         FROM api_keys k JOIN users u ON u.id = k.user_id"
    };
}

/// The condition every API-key read applies: unrevoked, unexpired at `$2`, its user active.
macro_rules! live_api_key {
    () => {
        " AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2) AND u.is_active"
    };
}

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

    /// The active user behind a live (unrevoked, unexpired) API key, as of a statement
    /// that starts after this call (reads of concurrent requests share one; see
    /// `store::coalesced`).
    pub async fn api_key_user(&self, key_hash: &str, now: i64) -> Result<Option<KeyUser>, Error> {
        const INLINE: &str = concat!(api_key_rows!(), " WHERE k.key_hash = $1", live_api_key!());
        self.live_row(
            INLINE,
            KeyUserRow::from_inline,
            &self.key_reads,
            key_hash,
            now,
        )
        .await
    }
}

/// [`Store::api_key_user`] for many key hashes at one `now`, in one statement: the rows of
/// the live ones, by key hash.
pub(super) async fn live_api_keys(
    pools: &super::Pools,
    batch: super::coalesced::Batch,
) -> Result<Vec<(String, KeyUser)>, Error> {
    const SQLITE: &str = concat!(
        api_key_rows!(),
        " WHERE k.key_hash IN (SELECT value FROM json_each($1))",
        live_api_key!()
    );
    const POSTGRES: &str = concat!(
        api_key_rows!(),
        " WHERE k.key_hash = ANY($1)",
        live_api_key!()
    );
    let rows: Vec<KeyedKeyUserRow> =
        super::coalesced::fetch_batch(pools, SQLITE, POSTGRES, batch).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.key, KeyUser::from(row.found)))
        .collect())
}
