//! Rows as the database returns them, named column by column, and how each becomes one of
//! the core's nouns. Kept apart from the queries so a column reordering in a `SELECT` is
//! caught by name, not silently swapped between two columns of one type.

use crate::auth::model::{PasswordRecord, StoredSigningKey, User};

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

/// A user's row with what login checks.
#[derive(sqlx::FromRow)]
pub struct PasswordRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub password_hash: String,
    pub is_active: bool,
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
    pub private_key: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_at: i64,
}

impl From<SigningKeyRow> for StoredSigningKey {
    fn from(row: SigningKeyRow) -> Self {
        Self {
            kid: row.kid,
            private_key: row.private_key,
            public_key: row.public_key,
            created_at: row.created_at,
        }
    }
}
