//! Storing users imported from Django: each in one transaction with its source row's
//! record (so a second run skips it) and its DRF key, hashed like authd's own.
//!
//! The user keeps its Django id when no authd user has it. On PostgreSQL the id column is an
//! identity, so such an insert overrides it and the identity is then moved past the largest
//! id; SQLite's AUTOINCREMENT follows an explicit id by itself.

use super::Store;
use crate::{
    auth::model::{ImportOutcome, ImportedUser, UniqueField},
    error::Error,
};

const ALREADY: &str =
    "SELECT EXISTS (SELECT 1 FROM django_imports WHERE source_table = $1 AND source_id = $2)";
const TAKEN: &str = "SELECT
        EXISTS (SELECT 1 FROM users WHERE username_key = $1) AS username_taken,
        EXISTS (SELECT 1 FROM users WHERE email_key = $2) AS email_taken,
        EXISTS (SELECT 1 FROM users WHERE id = $3) AS id_taken";
const RECORD: &str = "INSERT INTO django_imports (source_table, source_id, user_id, imported_at)
                      VALUES ($1, $2, $3, $4)";
const KEY: &str = "INSERT INTO api_keys (key_hash, user_id, created_at) VALUES ($1, $2, $3)
                   ON CONFLICT DO NOTHING";

#[derive(sqlx::FromRow)]
struct Taken {
    username_taken: bool,
    email_taken: bool,
    id_taken: bool,
}

/// The user insert, with an explicit id or without, in each engine's words.
macro_rules! insert_user {
    ($tx:ident, $sql_with_id:expr, $sql:expr, $user:expr, $keep_id:expr) => {{
        let new = &$user.new_user;
        let query = if $keep_id {
            sqlx::query_scalar($sql_with_id).bind($user.source_id)
        } else {
            sqlx::query_scalar($sql)
        };
        let id: i64 = query
            .bind(new.username)
            .bind(new.username_key)
            .bind(new.email)
            .bind(new.email_key)
            .bind(new.password_hash)
            .bind($user.is_active)
            .bind(new.created_at)
            .fetch_one(&mut *$tx)
            .await?;
        id
    }};
}

impl Store {
    /// Stores `user` unless its source row was imported before or a unique value is taken;
    /// with `only_with_its_id`, only if its Django id is free.
    pub async fn import_user(
        &self,
        user: &ImportedUser<'_>,
        now: i64,
        only_with_its_id: bool,
    ) -> Result<ImportOutcome, Error> {
        const WITH_ID_SQLITE: &str = "INSERT INTO users
                (id, username, username_key, email, email_key, password_hash, is_active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
        const WITH_ID_POSTGRES: &str = "INSERT INTO users
                (id, username, username_key, email, email_key, password_hash, is_active, created_at)
             OVERRIDING SYSTEM VALUE
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
        const WITHOUT_ID: &str = "INSERT INTO users
                (username, username_key, email, email_key, password_hash, is_active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
        const MOVE_IDENTITY: &str = "SELECT setval(pg_get_serial_sequence('users', 'id'),
                                                   (SELECT MAX(id) FROM users))";
        macro_rules! body {
            ($db:ident, $tx:ident, $with_id:expr, $after:block) => {{
                let mut $tx = $db.begin().await?;
                let already: bool = sqlx::query_scalar(ALREADY)
                    .bind(user.source_table)
                    .bind(user.source_id)
                    .fetch_one(&mut *$tx)
                    .await?;
                let taken: Taken = sqlx::query_as(TAKEN)
                    .bind(user.new_user.username_key)
                    .bind(user.new_user.email_key)
                    .bind(user.source_id)
                    .fetch_one(&mut *$tx)
                    .await?;
                let outcome = if already {
                    ImportOutcome::AlreadyImported
                } else if taken.username_taken {
                    ImportOutcome::Conflict(UniqueField::Username)
                } else if taken.email_taken {
                    ImportOutcome::Conflict(UniqueField::Email)
                } else if only_with_its_id && taken.id_taken {
                    ImportOutcome::IdTaken
                } else {
                    let keep_id = !taken.id_taken;
                    let id = insert_user!($tx, $with_id, WITHOUT_ID, user, keep_id);
                    if keep_id $after
                    sqlx::query(RECORD)
                        .bind(user.source_table)
                        .bind(user.source_id)
                        .bind(id)
                        .bind(now)
                        .execute(&mut *$tx)
                        .await?;
                    let mut with_key = false;
                    if let Some((key_hash, created_at)) = &user.api_key {
                        with_key = sqlx::query(KEY)
                            .bind(key_hash)
                            .bind(id)
                            .bind(created_at)
                            .execute(&mut *$tx)
                            .await?
                            .rows_affected()
                            == 1;
                    }
                    ImportOutcome::Imported { id, with_key }
                };
                $tx.commit().await?;
                outcome
            }};
        }
        let outcome = on_writer!(self,
            sqlite: db => body!(db, tx, WITH_ID_SQLITE, {}),
            postgres: db => body!(db, tx, WITH_ID_POSTGRES, {
                sqlx::query(MOVE_IDENTITY).execute(&mut *tx).await?;
            })
        );
        Ok(outcome)
    }
}
