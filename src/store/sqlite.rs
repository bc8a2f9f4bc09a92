//! The embedded backend: one SQLite file in WAL mode.
//!
//! SQLite allows one writer at a time, so writes go through a pool of exactly one
//! connection (they queue in the pool instead of failing with SQLITE_BUSY) while reads
//! (login lookups, GetMe) use a pool of several, which WAL lets run beside the writer.
//! `synchronous = NORMAL` is durable across process crashes in WAL mode; a power cut may
//! lose the last commits, never corrupt the file.

use std::{str::FromStr, time::Duration};

use sqlx::{
    Row, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use super::{Inserted, NewUser, Rotation, StoredCredentials, UniqueField, UserRecord};
use crate::{
    auth::{keys::KeyPair, tokens::IssuedToken},
    error::Error,
};

/// Readers beyond this add nothing on a small machine; each holds a page cache.
const MAX_READERS: u32 = 8;
/// How long a request waits for a connection before it is told the service is busy.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

fn user_from(row: &sqlx::sqlite::SqliteRow) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        created_at: row.try_get("created_at")?,
    })
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::Internal(format!("database URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(ACQUIRE_TIMEOUT);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|e| Error::Internal(format!("migrating the database: {e}")))?;
        let readers = std::thread::available_parallelism()
            .map_or(2, |n| n.get() as u32 * 2)
            .min(MAX_READERS);
        let reader = SqlitePoolOptions::new()
            .max_connections(readers)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { writer, reader })
    }

    pub async fn ensure_signing_key(&self, candidate: &KeyPair) -> Result<Vec<KeyPair>, Error> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, slot, algorithm, private_key, public_key, created_at)
             VALUES (?, 1, 'EdDSA', ?, ?, ?) ON CONFLICT (slot) DO NOTHING",
        )
        .bind(&candidate.kid)
        .bind(&candidate.private_pkcs8)
        .bind(&candidate.public_key)
        .bind(candidate.created_at)
        .execute(&self.writer)
        .await?;
        let rows = sqlx::query(
            "SELECT kid, private_key, public_key, created_at FROM signing_keys ORDER BY slot",
        )
        .fetch_all(&self.writer)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KeyPair {
                    kid: row.try_get("kid")?,
                    private_pkcs8: row.try_get("private_key")?,
                    public_key: row.try_get("public_key")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Error::from)
    }

    pub async fn taken(
        &self,
        username_key: Option<&str>,
        email_key: Option<&str>,
    ) -> Result<Vec<UniqueField>, Error> {
        let row = sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM users WHERE username_key = ?) AS username_taken,
                    EXISTS (SELECT 1 FROM users WHERE email_key = ?) AS email_taken",
        )
        .bind(username_key)
        .bind(email_key)
        .fetch_one(&self.reader)
        .await?;
        let mut taken = Vec::new();
        if row.try_get::<bool, _>("username_taken")? {
            taken.push(UniqueField::Username);
        }
        if row.try_get::<bool, _>("email_taken")? {
            taken.push(UniqueField::Email);
        }
        Ok(taken)
    }

    pub async fn insert_user(&self, user: &NewUser<'_>) -> Result<Inserted, Error> {
        let inserted = sqlx::query(
            "INSERT INTO users (username, username_key, email, email_key, password_hash, created_at)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id, username, email, created_at",
        )
        .bind(user.username)
        .bind(user.username_key)
        .bind(user.email)
        .bind(user.email_key)
        .bind(user.password_hash)
        .bind(user.created_at)
        .fetch_one(&self.writer)
        .await;
        match inserted {
            Ok(row) => Ok(Inserted::User(user_from(&row)?)),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                // SQLite names the column: "UNIQUE constraint failed: users.email_key".
                let field = if db.message().contains("email_key") {
                    UniqueField::Email
                } else {
                    UniqueField::Username
                };
                Ok(Inserted::Duplicate(field))
            }
            Err(other) => Err(other.into()),
        }
    }

    pub async fn credentials(
        &self,
        username_key: &str,
    ) -> Result<Option<StoredCredentials>, Error> {
        let row = sqlx::query(
            "SELECT id, username, email, created_at, password_hash, is_active
             FROM users WHERE username_key = ?",
        )
        .bind(username_key)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(StoredCredentials {
            user: user_from(&row)?,
            password_hash: row.try_get("password_hash")?,
            is_active: row.try_get("is_active")?,
        }))
    }

    pub async fn start_session(
        &self,
        user_id: i64,
        access: &IssuedToken,
        refresh: &IssuedToken,
    ) -> Result<(), Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let session_id: i64 = sqlx::query_scalar(
            "INSERT INTO sessions (user_id, created_at, expires_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(user_id)
        .bind(refresh.issued_at)
        .bind(refresh.expires_at)
        .fetch_one(&mut *tx)
        .await?;
        record_tokens(&mut tx, session_id, access, refresh).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn rotate_refresh(
        &self,
        jti: &str,
        user_id: i64,
        now: i64,
        access: &IssuedToken,
        refresh: &IssuedToken,
    ) -> Result<Rotation, Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // The one conditional write that decides who wins a race for this token.
        let session_id: Option<i64> = sqlx::query_scalar(
            "UPDATE tokens SET spent_at = ?1
             WHERE jti = ?2 AND kind = 'refresh' AND spent_at IS NULL AND expires_at > ?1
               AND session_id IN (SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id
                                  WHERE s.revoked_at IS NULL AND s.user_id = ?3 AND u.is_active)
             RETURNING session_id",
        )
        .bind(now)
        .bind(jti)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(session_id) = session_id {
            record_tokens(&mut tx, session_id, access, refresh).await?;
            sqlx::query("UPDATE sessions SET expires_at = ? WHERE id = ?")
                .bind(refresh.expires_at)
                .bind(session_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(Rotation::Rotated);
        }
        let reused = revoke_if_spent(&mut tx, jti, now).await?;
        tx.commit().await?;
        Ok(if reused {
            Rotation::Reused
        } else {
            Rotation::Rejected
        })
    }

    pub async fn session_user(&self, jti: &str, now: i64) -> Result<Option<UserRecord>, Error> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.email, u.created_at
             FROM tokens t
             JOIN sessions s ON s.id = t.session_id
             JOIN users u ON u.id = s.user_id
             WHERE t.jti = ? AND t.kind = 'access' AND t.expires_at > ?
               AND s.revoked_at IS NULL AND u.is_active",
        )
        .bind(jti)
        .bind(now)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(user_from).transpose().map_err(Error::from)
    }

    pub async fn end_session(&self, jti: &str, now: i64) -> Result<bool, Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let ended = sqlx::query(
            "UPDATE sessions SET revoked_at = ?1, revoked_reason = 'logout'
             WHERE revoked_at IS NULL AND id = (
                 SELECT session_id FROM tokens
                 WHERE jti = ?2 AND kind = 'refresh' AND spent_at IS NULL AND expires_at > ?1)",
        )
        .bind(now)
        .bind(jti)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !ended {
            revoke_if_spent(&mut tx, jti, now).await?;
        }
        tx.commit().await?;
        Ok(ended)
    }
}

impl SqliteStore {
    pub async fn insert_api_key(
        &self,
        key_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: Option<i64>,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO api_keys (key_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(key_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn api_key_user(
        &self,
        key_hash: &str,
        now: i64,
    ) -> Result<Option<UserRecord>, Error> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.email, u.created_at
             FROM api_keys k JOIN users u ON u.id = k.user_id
             WHERE k.key_hash = ? AND k.revoked_at IS NULL
               AND (k.expires_at IS NULL OR k.expires_at > ?) AND u.is_active",
        )
        .bind(key_hash)
        .bind(now)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(user_from).transpose().map_err(Error::from)
    }
}

impl SqliteStore {
    pub async fn revoke_all(&self, user_id: i64, now: i64) -> Result<(u64, u64), Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let sessions = sqlx::query(
            "UPDATE sessions SET revoked_at = ?, revoked_reason = 'revoke_all'
             WHERE user_id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let keys = sqlx::query(
            "UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok((sessions, keys))
    }
}

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

async fn record_tokens(
    tx: &mut Tx,
    session_id: i64,
    access: &IssuedToken,
    refresh: &IssuedToken,
) -> Result<(), Error> {
    for token in [access, refresh] {
        sqlx::query(
            "INSERT INTO tokens (jti, session_id, kind, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&token.jti)
        .bind(session_id)
        .bind(token.kind.as_str())
        .bind(token.issued_at)
        .bind(token.expires_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Reuse detection: if refresh token `jti` was already spent, revoke its whole session.
async fn revoke_if_spent(tx: &mut Tx, jti: &str, now: i64) -> Result<bool, Error> {
    let spent_session: Option<i64> = sqlx::query_scalar(
        "SELECT session_id FROM tokens WHERE jti = ? AND kind = 'refresh' AND spent_at IS NOT NULL",
    )
    .bind(jti)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(session_id) = spent_session else {
        return Ok(false);
    };
    sqlx::query(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = 'refresh_reuse'
         WHERE id = ? AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(session_id)
    .execute(&mut **tx)
    .await?;
    tracing::warn!(
        session_id,
        "spent refresh token presented again; session revoked"
    );
    Ok(true)
}
