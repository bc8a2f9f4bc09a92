//! Storage: users, sessions, the record of every issued token, and the signing keys.
//!
//! Methods are domain operations (`start_session`, `rotate_refresh`, `end_session`), not
//! CRUD: each one is a whole unit of work, in one transaction where it writes, so the core
//! never holds a transaction open (least of all across an argon2 hash). The backend is
//! chosen by the database URL's scheme; the core only ever sees [`Store`].

mod sqlite;

use crate::{
    auth::{keys::KeyPair, tokens::IssuedToken},
    error::Error,
};

pub use sqlite::SqliteStore;

/// A user as every transport shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub created_at: i64,
}

/// A user about to be inserted; the `_key` fields are the case-folded unique forms.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub username_key: &'a str,
    pub email: Option<&'a str>,
    pub email_key: Option<&'a str>,
    pub password_hash: &'a str,
    pub created_at: i64,
}

/// What login needs to check a password.
pub struct StoredCredentials {
    pub user: UserRecord,
    pub password_hash: String,
    pub is_active: bool,
}

/// A field that must be unique among users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    Username,
    Email,
}

/// The outcome of inserting a user: created, or beaten to a unique value.
pub enum Inserted {
    User(UserRecord),
    Duplicate(UniqueField),
}

/// The outcome of spending a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live and unspent; it is now spent and the new pair is recorded.
    Rotated,
    /// The token had already been spent: its session is now revoked.
    Reused,
    /// Unknown token, expired, or its session was already over.
    Rejected,
}

/// The storage backend in use.
pub enum Store {
    Sqlite(SqliteStore),
}

impl Store {
    /// Opens the database named by `url` (creating it if needed) and migrates it.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        if url.starts_with("sqlite:") {
            return Ok(Store::Sqlite(SqliteStore::connect(url).await?));
        }
        Err(Error::Internal(
            "unsupported database URL scheme (expected sqlite://…)".into(),
        ))
    }

    /// Stores `candidate` as the signing key unless one exists; returns every key, the
    /// active one first.
    pub async fn ensure_signing_key(&self, candidate: &KeyPair) -> Result<Vec<KeyPair>, Error> {
        match self {
            Store::Sqlite(db) => db.ensure_signing_key(candidate).await,
        }
    }

    /// Which of the unique values are already taken, before spending a hash on them.
    pub async fn taken(
        &self,
        username_key: Option<&str>,
        email_key: Option<&str>,
    ) -> Result<Vec<UniqueField>, Error> {
        match self {
            Store::Sqlite(db) => db.taken(username_key, email_key).await,
        }
    }

    pub async fn insert_user(&self, user: &NewUser<'_>) -> Result<Inserted, Error> {
        match self {
            Store::Sqlite(db) => db.insert_user(user).await,
        }
    }

    pub async fn credentials(
        &self,
        username_key: &str,
    ) -> Result<Option<StoredCredentials>, Error> {
        match self {
            Store::Sqlite(db) => db.credentials(username_key).await,
        }
    }

    /// Records a new session and its first token pair.
    pub async fn start_session(
        &self,
        user_id: i64,
        access: &IssuedToken,
        refresh: &IssuedToken,
    ) -> Result<(), Error> {
        match self {
            Store::Sqlite(db) => db.start_session(user_id, access, refresh).await,
        }
    }

    /// Spends refresh token `jti` of `user_id` and records the new pair in its session, or
    /// revokes the session if the token was already spent.
    pub async fn rotate_refresh(
        &self,
        jti: &str,
        user_id: i64,
        now: i64,
        access: &IssuedToken,
        refresh: &IssuedToken,
    ) -> Result<Rotation, Error> {
        match self {
            Store::Sqlite(db) => db.rotate_refresh(jti, user_id, now, access, refresh).await,
        }
    }

    /// The user behind access token `jti`, if the token is recorded, unexpired and its
    /// session still live.
    pub async fn session_user(&self, jti: &str, now: i64) -> Result<Option<UserRecord>, Error> {
        match self {
            Store::Sqlite(db) => db.session_user(jti, now).await,
        }
    }

    /// Revokes the live session that refresh token `jti` belongs to. `false` when there is
    /// no such live session (unknown token, or already ended).
    pub async fn end_session(&self, jti: &str, now: i64) -> Result<bool, Error> {
        match self {
            Store::Sqlite(db) => db.end_session(jti, now).await,
        }
    }

    /// Records a new API key by its hash.
    pub async fn insert_api_key(
        &self,
        key_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: Option<i64>,
    ) -> Result<(), Error> {
        match self {
            Store::Sqlite(db) => db.insert_api_key(key_hash, user_id, now, expires_at).await,
        }
    }

    /// The active user behind a live (unrevoked, unexpired) API key.
    pub async fn api_key_user(
        &self,
        key_hash: &str,
        now: i64,
    ) -> Result<Option<UserRecord>, Error> {
        match self {
            Store::Sqlite(db) => db.api_key_user(key_hash, now).await,
        }
    }

    /// Revokes every live session and API key of `user_id`; returns how many of each.
    pub async fn revoke_all(&self, user_id: i64, now: i64) -> Result<(u64, u64), Error> {
        match self {
            Store::Sqlite(db) => db.revoke_all(user_id, now).await,
        }
    }
}
