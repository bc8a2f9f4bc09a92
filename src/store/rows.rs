//! Rows as the database returns them, named column by column, and how each becomes one of
//! the core's nouns. Kept apart from the queries so a column reordering in a `SELECT` is
//! caught by name, not silently swapped between two columns of one type.

use crate::auth::model::{
    KeyAlgorithm, KeyUser, PasswordRecord, SessionInfo, SessionUser, StoredSigningKey, User,
};

/// `id, username, email, created_at` of `users`.
#[derive(sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub created_at: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            username: row.username,
            email: row.email,
            created_at: row.created_at,
        }
    }
}

impl UserRow {
    /// The same columns, read by name from a row of `store::inline_reads`.
    pub fn from_inline(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            username: row.get("username")?,
            email: row.get("email")?,
            created_at: row.get("created_at")?,
        })
    }
}

/// A user's row with what login checks.
#[derive(sqlx::FromRow)]
pub struct PasswordRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub password_hash: String,
    pub is_active: bool,
}

impl PasswordRow {
    /// The same columns, read by name from a row of `store::inline_reads`.
    pub fn from_inline(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            user: UserRow::from_inline(row)?,
            password_hash: row.get("password_hash")?,
            is_active: row.get("is_active")?,
        })
    }
}

impl From<PasswordRow> for PasswordRecord {
    fn from(row: PasswordRow) -> Self {
        Self {
            user: row.user.into(),
            password_hash: row.password_hash,
            is_active: row.is_active,
        }
    }
}

/// Which of a candidate's unique values already belong to someone.
#[derive(sqlx::FromRow)]
pub struct TakenRow {
    pub username_taken: bool,
    pub email_taken: bool,
}

/// A row of `signing_keys`.
#[derive(sqlx::FromRow)]
pub struct SigningKeyRow {
    pub kid: String,
    pub algorithm: String,
    pub private_key: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_at: i64,
    pub active: bool,
    pub rotated_at: Option<i64>,
    pub retired_at: Option<i64>,
}

impl TryFrom<SigningKeyRow> for StoredSigningKey {
    type Error = crate::error::Error;

    fn try_from(row: SigningKeyRow) -> Result<Self, Self::Error> {
        let algorithm = KeyAlgorithm::from_name(&row.algorithm).ok_or_else(|| {
            crate::error::Error::Internal(format!(
                "signing key {} has an unknown algorithm {:?}",
                row.kid, row.algorithm
            ))
        })?;
        Ok(Self {
            kid: row.kid,
            algorithm,
            private_key: row.private_key,
            public_key: row.public_key,
            created_at: row.created_at,
            active: row.active,
            rotated_at: row.rotated_at,
            retired_at: row.retired_at,
        })
    }
}

/// The user behind a token, and the token's session.
#[derive(sqlx::FromRow)]
pub struct SessionUserRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub session_id: i64,
    pub public_id: String,
}

impl From<SessionUserRow> for SessionUser {
    fn from(row: SessionUserRow) -> Self {
        Self {
            user: row.user.into(),
            session_id: row.session_id,
            public_id: row.public_id,
        }
    }
}

impl SessionUserRow {
    /// The same columns, read by name from a row of `store::inline_reads`.
    pub fn from_inline(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            user: UserRow::from_inline(row)?,
            session_id: row.get("session_id")?,
            public_id: row.get("public_id")?,
        })
    }
}

/// A [`SessionUserRow`] with the token key it was found by, from a batched read.
#[derive(sqlx::FromRow)]
pub struct KeyedSessionUserRow {
    pub key: String,
    #[sqlx(flatten)]
    pub found: SessionUserRow,
}

/// A [`KeyUserRow`] with the key hash it was found by, from a batched read.
#[derive(sqlx::FromRow)]
pub struct KeyedKeyUserRow {
    pub key: String,
    #[sqlx(flatten)]
    pub found: KeyUserRow,
}

/// The user behind an API key, and when the key expires.
#[derive(sqlx::FromRow)]
pub struct KeyUserRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub expires_at: Option<i64>,
}

impl KeyUserRow {
    /// The same columns, read by name from a row of `store::inline_reads`.
    pub fn from_inline(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            user: UserRow::from_inline(row)?,
            expires_at: row.get("expires_at")?,
        })
    }
}

impl From<KeyUserRow> for KeyUser {
    fn from(row: KeyUserRow) -> Self {
        Self {
            user: row.user.into(),
            expires_at: row.expires_at,
        }
    }
}

/// A live session of `sessions`, as its user is shown it.
#[derive(sqlx::FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub public_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub ends_at: i64,
    pub last_used_at: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

impl SessionRow {
    /// The session as shown to a caller whose own session is `current`.
    pub fn shown_to(self, current: Option<i64>) -> SessionInfo {
        SessionInfo {
            current: current == Some(self.id),
            id: self.public_id,
            created_at: self.created_at,
            expires_at: self.expires_at.min(self.ends_at),
            last_used_at: self.last_used_at,
            user_agent: self.user_agent,
            ip: self.ip,
        }
    }
}

/// What spending or ending a refresh token needs to know first about its session.
#[derive(sqlx::FromRow)]
pub struct RefreshSessionRow {
    pub session_id: i64,
    pub spent: bool,
    pub session_over: bool,
    pub ends_at: i64,
}

impl RefreshSessionRow {
    /// The same row from an inline read (`store::inline_reads`).
    pub fn from_inline(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            session_id: row.get("session_id")?,
            spent: row.get("spent")?,
            session_over: row.get("session_over")?,
            ends_at: row.get("ends_at")?,
        })
    }
}
