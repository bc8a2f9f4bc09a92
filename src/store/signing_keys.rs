//! The token signing keys every node shares, as stored: sealed by the core before they
//! arrive here (this module never sees a clear key, except an old row it is asked to
//! replace).
//!
//! Slot 1 holds the key every node signs with. Rotation moves it out of the slot (keeping
//! its public half, erasing its private half) and puts a new key in, in one transaction;
//! the unique slot makes two rotations at once end with one winner. A retired key stays as
//! a row, so the statements that check a token's session also refuse tokens it signed.

use super::{Store, rows::SigningKeyRow};
use crate::{
    auth::model::{Retirement, StoredSigningKey},
    error::Error,
};

const SELECT_ALL: &str = "SELECT kid, algorithm, private_key, public_key, created_at,
            slot IS NOT NULL AS active, rotated_at, retired_at
     FROM signing_keys ORDER BY slot IS NULL, created_at DESC, kid";

const INSERT_ACTIVE: &str = "INSERT INTO signing_keys
        (kid, slot, algorithm, private_key, public_key, created_at)
     VALUES ($1, 1, $5, $2, $3, $4) ON CONFLICT (slot) DO NOTHING";

impl Store {
    /// Stores `candidate` as the signing key unless one exists; returns every key, the
    /// active one first. Nodes starting together race on the unique slot; one key wins.
    pub async fn ensure_signing_key(
        &self,
        candidate: &StoredSigningKey,
    ) -> Result<Vec<StoredSigningKey>, Error> {
        let rows: Vec<SigningKeyRow> = on_writer!(self, db => {
            sqlx::query(INSERT_ACTIVE)
                .bind(&candidate.kid)
                .bind(&candidate.private_key)
                .bind(&candidate.public_key)
                .bind(candidate.created_at)
                .bind(candidate.algorithm.as_str())
                .execute(db)
                .await?;
            sqlx::query_as(SELECT_ALL).fetch_all(db).await?
        });
        rows.into_iter().map(StoredSigningKey::try_from).collect()
    }

    /// Every stored signing key, the active one first, then the newest.
    pub async fn signing_keys(&self) -> Result<Vec<StoredSigningKey>, Error> {
        let rows: Vec<SigningKeyRow> =
            on_reader!(self, db => sqlx::query_as(SELECT_ALL).fetch_all(db).await?);
        rows.into_iter().map(StoredSigningKey::try_from).collect()
    }

    /// A short text that changes whenever any key is added, rotated or retired: what a
    /// node compares to notice that its keys are out of date, without reading them.
    pub async fn signing_keys_version(&self) -> Result<String, Error> {
        const SQL: &str = "SELECT kid, slot IS NOT NULL AS active, retired_at
                           FROM signing_keys ORDER BY kid";
        let rows: Vec<(String, bool, Option<i64>)> =
            on_reader!(self, db => sqlx::query_as(SQL).fetch_all(db).await?);
        Ok(rows
            .iter()
            .map(|(kid, active, retired)| format!("{kid}:{active}:{retired:?};"))
            .collect())
    }

    /// Makes `candidate` the key every node signs with: the active key is moved out of its
    /// slot, stamped `rotated_at = now` and its private half erased, in one transaction.
    /// `false` when a concurrent rotation took the slot first (nothing changed).
    pub async fn rotate_signing_key(
        &self,
        candidate: &StoredSigningKey,
        now: i64,
    ) -> Result<bool, Error> {
        const ROTATE_OUT: &str = "UPDATE signing_keys SET slot = NULL, rotated_at = $1,
                                         private_key = $2
                                  WHERE slot = 1";
        let rotated = on_writer!(self, db => {
            let mut tx = db.begin().await?;
            sqlx::query(ROTATE_OUT)
                .bind(now)
                .bind(Vec::<u8>::new())
                .execute(&mut *tx)
                .await?;
            let inserted = sqlx::query(INSERT_ACTIVE)
                .bind(&candidate.kid)
                .bind(&candidate.private_key)
                .bind(&candidate.public_key)
                .bind(candidate.created_at)
                .bind(candidate.algorithm.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if inserted == 1 {
                tx.commit().await?;
            }
            inserted == 1
        });
        Ok(rotated)
    }

    /// Retires key `kid` (never the active one).
    pub async fn retire_signing_key(&self, kid: &str, now: i64) -> Result<Retirement, Error> {
        const RETIRE: &str = "UPDATE signing_keys SET retired_at = $1
                              WHERE kid = $2 AND slot IS NULL AND retired_at IS NULL";
        const STATE: &str = "SELECT slot IS NOT NULL AS active, retired_at IS NOT NULL AS retired
                             FROM signing_keys WHERE kid = $1";
        let retirement = on_writer!(self, db => {
            let mut tx = db.begin().await?;
            let retired = sqlx::query(RETIRE)
                .bind(now)
                .bind(kid)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let state: Option<(bool, bool)> =
                sqlx::query_as(STATE).bind(kid).fetch_optional(&mut *tx).await?;
            tx.commit().await?;
            match (retired, state) {
                (1, _) => Retirement::Retired,
                (_, None) => Retirement::Unknown,
                (_, Some((true, _))) => Retirement::Active,
                (_, Some((false, _))) => Retirement::AlreadyRetired,
            }
        });
        Ok(retirement)
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
