//! Keys: the token signing key every node shares, and API keys (by hash).

use super::{Store, UserRecord, UserRow};
use crate::{auth::keys::KeyPair, error::Error};

impl Store {
    /// Stores `candidate` as the signing key unless one exists; returns every key, the
    /// active one first. Nodes starting together race on the unique slot; one key wins.
    pub async fn ensure_signing_key(&self, candidate: &KeyPair) -> Result<Vec<KeyPair>, Error> {
        const INSERT: &str = "INSERT INTO signing_keys
                (kid, slot, algorithm, private_key, public_key, created_at)
             VALUES ($1, 1, 'EdDSA', $2, $3, $4) ON CONFLICT (slot) DO NOTHING";
        const SELECT: &str =
            "SELECT kid, private_key, public_key, created_at FROM signing_keys ORDER BY slot";
        let rows: Vec<(String, Vec<u8>, Vec<u8>, i64)> = on_writer!(self, db => {
            sqlx::query(INSERT)
                .bind(&candidate.kid)
                .bind(&candidate.private_pkcs8)
                .bind(&candidate.public_key)
                .bind(candidate.created_at)
                .execute(db)
                .await?;
            sqlx::query_as(SELECT).fetch_all(db).await?
        });
        Ok(rows
            .into_iter()
            .map(|(kid, private_pkcs8, public_key, created_at)| KeyPair {
                kid,
                private_pkcs8,
                public_key,
                created_at,
            })
            .collect())
    }

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
    pub async fn api_key_user(
        &self,
        key_hash: &str,
        now: i64,
    ) -> Result<Option<UserRecord>, Error> {
        const SQL: &str = "SELECT u.id, u.username, u.email, u.created_at
             FROM api_keys k JOIN users u ON u.id = k.user_id
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL
               AND (k.expires_at IS NULL OR k.expires_at > $2) AND u.is_active";
        let row: Option<UserRow> = on_reader!(self, db => {
            sqlx::query_as(SQL).bind(key_hash).bind(now).fetch_optional(db).await?
        });
        Ok(row.map(UserRecord::from))
    }
}
