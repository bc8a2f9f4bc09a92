//! Users: the uniqueness pre-check, insertion with the unique indexes as the final word,
//! and the password record login checks.

use super::{
    Store,
    rows::{PasswordRow, TakenRow, UserRow},
};
use crate::{
    auth::model::{Inserted, NewUser, PasswordRecord, UniqueField},
    error::Error,
};

/// The unique constraints of `users`, as both migrations name them.
const USERNAME_CONSTRAINT: &str = "users_username_key";
const EMAIL_CONSTRAINT: &str = "users_email_key";

/// Login's read of an account: the user and what its password check needs.
pub(super) const PASSWORD_RECORD: &str =
    "SELECT id, username, email, created_at, password_hash, is_active
     FROM users WHERE username_key = $1";

impl Store {
    /// Which of the unique values are already taken, before spending a hash on them.
    pub async fn taken(
        &self,
        username_key: Option<&str>,
        email_key: Option<&str>,
    ) -> Result<Vec<UniqueField>, Error> {
        const SQL: &str = "SELECT
                EXISTS (SELECT 1 FROM users WHERE username_key = $1) AS username_taken,
                EXISTS (SELECT 1 FROM users WHERE email_key = $2) AS email_taken";
        let row: TakenRow = on_reader!(self, db => {
            sqlx::query_as(SQL).bind(username_key).bind(email_key).fetch_one(db).await?
        });
        let mut taken = Vec::new();
        if row.username_taken {
            taken.push(UniqueField::Username);
        }
        if row.email_taken {
            taken.push(UniqueField::Email);
        }
        Ok(taken)
    }

    pub async fn insert_user(&self, user: &NewUser<'_>) -> Result<Inserted, Error> {
        const SQL: &str = "INSERT INTO users
                (username, username_key, email, email_key, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, username, email, created_at";
        let inserted: Result<UserRow, sqlx::Error> = on_writer!(self, db => {
            sqlx::query_as(SQL)
                .bind(user.username)
                .bind(user.username_key)
                .bind(user.email)
                .bind(user.email_key)
                .bind(user.password_hash)
                .bind(user.created_at)
                .fetch_one(db)
                .await
        });
        match inserted {
            Ok(row) => Ok(Inserted::User(row.into())),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                let field = match db.constraint() {
                    Some(EMAIL_CONSTRAINT) => UniqueField::Email,
                    Some(USERNAME_CONSTRAINT) => UniqueField::Username,
                    Some(other) => {
                        return Err(Error::Internal(format!(
                            "unique violation on unexpected constraint {other}"
                        )));
                    }
                    // sqlx's SQLite driver reports no constraint name. SQLite has one writer,
                    // so the row that beat this one is committed: ask which value it holds.
                    None => self.winner_of_race(user).await?,
                };
                Ok(Inserted::Duplicate(field))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// After a lost race to insert `user`, the unique field the winner took (the username
    /// when both were).
    async fn winner_of_race(&self, user: &NewUser<'_>) -> Result<UniqueField, Error> {
        let taken = self.taken(Some(user.username_key), user.email_key).await?;
        taken.first().copied().ok_or_else(|| {
            Error::Internal("unique violation, but neither username nor email is taken".into())
        })
    }

    /// The user whose case-folded username is `username_key`, with its password hash; read
    /// inline on SQLite when a connection is free (`store::inline_reads`), as every login's.
    pub async fn password_record(
        &self,
        username_key: &str,
    ) -> Result<Option<PasswordRecord>, Error> {
        self.refuse_if_down()?;
        let inline = self.inline_read(PASSWORD_RECORD, (username_key,), PasswordRow::from_inline);
        let row: Option<PasswordRow> = match inline {
            Some(row) => row,
            None => on_reader!(self, db => {
                sqlx::query_as(PASSWORD_RECORD).bind(username_key).fetch_optional(db).await?
            }),
        };
        Ok(row.map(PasswordRecord::from))
    }
}
