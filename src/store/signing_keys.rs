//! The token signing keys every node shares.

use super::{Store, rows::SigningKeyRow};
use crate::{auth::model::KeyPair, error::Error};

impl Store {
    /// Stores `candidate` as the signing key unless one exists; returns every key, the
    /// active one first. Nodes starting together race on the unique slot; one key wins.
    pub async fn ensure_signing_key(&self, candidate: &KeyPair) -> Result<Vec<KeyPair>, Error> {
        const INSERT: &str = "INSERT INTO signing_keys
                (kid, slot, algorithm, private_key, public_key, created_at)
             VALUES ($1, 1, 'EdDSA', $2, $3, $4) ON CONFLICT (slot) DO NOTHING";
        const SELECT: &str =
            "SELECT kid, private_key, public_key, created_at FROM signing_keys ORDER BY slot";
        let rows: Vec<SigningKeyRow> = on_writer!(self, db => {
            sqlx::query(INSERT)
                .bind(&candidate.kid)
                .bind(&candidate.private_pkcs8)
                .bind(&candidate.public_key)
                .bind(candidate.created_at)
                .execute(db)
                .await?;
            sqlx::query_as(SELECT).fetch_all(db).await?
        });
        Ok(rows.into_iter().map(KeyPair::from).collect())
    }
}
