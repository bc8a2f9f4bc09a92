//! The unique keys of existing users, read in batches and rewritten one at a time: how
//! rows keyed by older rules (plain lower-casing) get the current form. Also the one
//! lookup from an email key to a username key, for login by email. The rules
//! themselves are the core's; this only reads and writes what it is given.

use super::Store;
use crate::{
    auth::model::{StoredKeys, UniqueField},
    error::Error,
};

/// Login by email's one read: whose account an email key names.
const USERNAME_KEY_FOR_EMAIL: &str = "SELECT username_key FROM users WHERE email_key = $1";

/// `id, username, username_key, email, email_key` of `users`.
#[derive(sqlx::FromRow)]
struct StoredKeysRow {
    id: i64,
    username: String,
    username_key: String,
    email: Option<String>,
    email_key: Option<String>,
}

impl Store {
    /// Up to `limit` users with an id above `after`, in id order.
    pub async fn user_keys_after(&self, after: i64, limit: i64) -> Result<Vec<StoredKeys>, Error> {
        const SQL: &str = "SELECT id, username, username_key, email, email_key FROM users
                           WHERE id > $1 ORDER BY id LIMIT $2";
        let rows: Vec<StoredKeysRow> = on_reader!(self, db => {
            sqlx::query_as(SQL).bind(after).bind(limit).fetch_all(db).await?
        });
        Ok(rows
            .into_iter()
            .map(|row| StoredKeys {
                id: row.id,
                username: row.username,
                username_key: row.username_key,
                email: row.email,
                email_key: row.email_key,
            })
            .collect())
    }

    /// Whether the one-off upkeep `name` has been completed on this database.
    pub async fn upkeep_done(&self, name: &str) -> Result<bool, Error> {
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM upkeep WHERE name = $1)";
        Ok(on_reader!(self, db => {
            sqlx::query_scalar(SQL).bind(name).fetch_one(db).await?
        }))
    }

    /// Records that the one-off upkeep `name` is complete (nodes racing record it once).
    pub async fn record_upkeep(&self, name: &str, now: i64) -> Result<(), Error> {
        const SQL: &str =
            "INSERT INTO upkeep (name, done_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
        on_writer!(self, db => {
            sqlx::query(SQL).bind(name).bind(now).execute(db).await?;
        });
        Ok(())
    }

    /// The username key of the user whose email key is `email_key`; read inline on SQLite
    /// when a connection is free (`store::inline_reads`).
    pub async fn username_key_for_email(&self, email_key: &str) -> Result<Option<String>, Error> {
        self.refuse_if_down()?;
        if let Some(found) =
            self.inline_read(USERNAME_KEY_FOR_EMAIL, (email_key,), |row| row.get(0))
        {
            return Ok(found);
        }
        Ok(on_reader!(self, db => {
            sqlx::query_scalar(USERNAME_KEY_FOR_EMAIL).bind(email_key).fetch_optional(db).await?
        }))
    }

    /// Sets one unique key of user `id`: `false` (and no change) when another user already
    /// holds that key.
    pub async fn set_user_key(
        &self,
        id: i64,
        field: UniqueField,
        key: &str,
    ) -> Result<bool, Error> {
        let sql = match field {
            UniqueField::Username => "UPDATE users SET username_key = $2 WHERE id = $1",
            UniqueField::Email => "UPDATE users SET email_key = $2 WHERE id = $1",
        };
        let updated: Result<_, sqlx::Error> = on_writer!(self, db => {
            sqlx::query(sql).bind(id).bind(key).execute(db).await.map(|_| ())
        });
        match updated {
            Ok(()) => Ok(true),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
            Err(other) => Err(other.into()),
        }
    }
}
