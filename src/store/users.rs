//! Users: the uniqueness pre-check, insertion with the unique indexes as the final word,
//! and the credentials login checks.

use super::{Inserted, NewUser, Store, StoredCredentials, UniqueField, UserRecord, UserRow};
use crate::error::Error;

impl Store {
    /// Which of the unique values are already taken, before spending a hash on them.
    pub async fn taken(
        &self,
        username_key: Option<&str>,
        email_key: Option<&str>,
    ) -> Result<Vec<UniqueField>, Error> {
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE username_key = $1),
                                  EXISTS (SELECT 1 FROM users WHERE email_key = $2)";
        let (username_taken, email_taken): (bool, bool) = on_reader!(self, db => {
            sqlx::query_as(SQL).bind(username_key).bind(email_key).fetch_one(db).await?
        });
        let mut taken = Vec::new();
        if username_taken {
            taken.push(UniqueField::Username);
        }
        if email_taken {
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
                // Both name it: SQLite "users.email_key", PostgreSQL "users_email_key".
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
        const SQL: &str = "SELECT id, username, email, created_at, password_hash, is_active
                           FROM users WHERE username_key = $1";
        let row: Option<(i64, String, Option<String>, i64, String, bool)> = on_reader!(self, db => {
            sqlx::query_as(SQL).bind(username_key).fetch_optional(db).await?
        });
        Ok(row.map(
            |(id, username, email, created_at, password_hash, is_active)| StoredCredentials {
                user: UserRecord {
                    id,
                    username,
                    email,
                    created_at,
                },
                password_hash,
                is_active,
            },
        ))
    }
}
