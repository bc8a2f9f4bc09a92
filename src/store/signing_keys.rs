//! The token signing keys every node shares, as stored: sealed by the core before they
//! arrive here (this module never sees a clear key, except an old row it is asked to
//! replace).

use super::{Store, rows::SigningKeyRow};
use crate::{auth::model::StoredSigningKey, error::Error};

impl Store {
    /// Stores `candidate` as the signing key unless one exists; returns every key, the
    /// active one first. Nodes starting together race on the unique slot; one key wins.
    pub async fn ensure_signing_key(
        &self,
        candidate: &StoredSigningKey,
    ) -> Result<Vec<StoredSigningKey>, Error> {
        const INSERT: &str = "INSERT INTO signing_keys
                (kid, slot, algorithm, private_key, public_key, created_at)
             VALUES ($1, 1, 'EdDSA', $2, $3, $4) ON CONFLICT (slot) DO NOTHING";
        let rows: Vec<SigningKeyRow> = on_writer!(self, db => {
            sqlx::query(INSERT)
                .bind(&candidate.kid)
                .bind(&candidate.private_key)
                .bind(&candidate.public_key)
                .bind(candidate.created_at)
                .execute(db)
                .await?;
            sqlx::query_as(SELECT_ALL).fetch_all(db).await?
        });
        Ok(rows.into_iter().map(StoredSigningKey::from).collect())
    }

    /// Every stored signing key, the active one first.
    pub async fn signing_keys(&self) -> Result<Vec<StoredSigningKey>, Error> {
        let rows: Vec<SigningKeyRow> =
            on_reader!(self, db => sqlx::query_as(SELECT_ALL).fetch_all(db).await?);
        Ok(rows.into_iter().map(StoredSigningKey::from).collect())
    }

    /// Replaces the private key of `kid` by `sealed` if it still is `clear`: nodes
    /// upgrading together each try, and the first one's sealing stays.
    pub async fn seal_signing_key(
        &self,
        kid: &str,
        clear: &[u8],
        sealed: &[u8],
    ) -> Result<(), Error> {
        const UPDATE: &str =
            "UPDATE signing_keys SET private_key = $1 WHERE kid = $2 AND private_key = $3";
        on_writer!(self, db => {
            sqlx::query(UPDATE)
                .bind(sealed)
                .bind(kid)
                .bind(clear)
                .execute(db)
                .await?;
        });
        Ok(())
    }
}

const SELECT_ALL: &str =
    "SELECT kid, private_key, public_key, created_at FROM signing_keys ORDER BY slot";
