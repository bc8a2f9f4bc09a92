//! Reading a Django database for `authd import-django`: `auth_user` (or a custom user table
//! with `id`, `username`, `email` and `password` columns) and DRF's `authtoken_token`, on
//! SQLite or PostgreSQL, opened read-only. Nothing here writes to the Django database.
//!
//! A custom table's name is spliced into the statement, so it must be a plain SQL
//! identifier (letters, digits, underscores, not starting with a digit); anything else is
//! refused before a statement is built.

use sqlx::{
    AssertSqlSafe,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqlitePoolOptions},
};
use std::str::FromStr;

use crate::{auth::model::DjangoUser, error::Error};

/// Django's own user table.
pub const AUTH_USER: &str = "auth_user";

#[derive(sqlx::FromRow)]
struct DjangoRow {
    id: i64,
    username: String,
    email: Option<String>,
    password: String,
    is_active: bool,
    date_joined: Option<i64>,
    api_key: Option<String>,
    key_created: Option<i64>,
}

impl From<DjangoRow> for DjangoUser {
    fn from(row: DjangoRow) -> Self {
        Self {
            id: row.id,
            username: row.username,
            email: row.email.filter(|email| !email.trim().is_empty()),
            password_hash: row.password,
            is_active: row.is_active,
            date_joined: row.date_joined,
            api_key: row
                .api_key
                .map(|key| (key, row.key_created.unwrap_or_default())),
        }
    }
}

/// Whether `name` is a plain SQL identifier, safe to splice into a statement.
pub fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

/// The statement that reads `table`: with `is_active`, `date_joined` and the DRF keys for
/// `auth_user`, the four columns seed 2's table has otherwise. `epoch` turns a timestamp
/// column into Unix seconds in the engine's dialect; `has_keys` says `authtoken_token`
/// exists.
fn select(table: &str, epoch: fn(&str) -> String, has_keys: bool) -> String {
    if table != AUTH_USER {
        return format!(
            "SELECT id, username, email, password, TRUE AS is_active,
                    CAST(NULL AS BIGINT) AS date_joined, CAST(NULL AS TEXT) AS api_key,
                    CAST(NULL AS BIGINT) AS key_created
             FROM {table} ORDER BY id"
        );
    }
    let (key, key_created, join) = if has_keys {
        (
            "t.key".to_string(),
            epoch("t.created"),
            "LEFT JOIN authtoken_token t ON t.user_id = u.id",
        )
    } else {
        (
            "CAST(NULL AS TEXT)".into(),
            "CAST(NULL AS BIGINT)".into(),
            "",
        )
    };
    format!(
        "SELECT u.id, u.username, u.email, u.password, u.is_active,
                {} AS date_joined, {key} AS api_key, {key_created} AS key_created
         FROM auth_user u {join} ORDER BY u.id",
        epoch("u.date_joined")
    )
}

/// Every user of the Django database at `url` (`sqlite://…` or `postgres://…`), from
/// `table`, with their DRF key when the table is `auth_user`.
pub async fn read_django_users(url: &str, table: &str) -> Result<Vec<DjangoUser>, Error> {
    if !is_plain_identifier(table) {
        return Err(Error::Unavailable(format!(
            "{table:?} is not a plain table name (letters, digits and underscores)"
        )));
    }
    let rows: Vec<DjangoRow> = if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)?.read_only(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        let has_keys: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master
                            WHERE type = 'table' AND name = 'authtoken_token')",
        )
        .fetch_one(&pool)
        .await?;
        let sql = select(
            table,
            |column| format!("CAST(strftime('%s', {column}) AS INTEGER)"),
            has_keys,
        );
        sqlx::query_as(AssertSqlSafe(sql)).fetch_all(&pool).await?
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
        let has_keys: bool =
            sqlx::query_scalar("SELECT to_regclass('authtoken_token') IS NOT NULL")
                .fetch_one(&pool)
                .await?;
        let sql = select(
            table,
            |column| format!("CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"),
            has_keys,
        );
        sqlx::query_as(AssertSqlSafe(sql)).fetch_all(&pool).await?
    } else {
        return Err(Error::Unavailable(
            "the Django database URL must be sqlite://… or postgres://…".into(),
        ));
    };
    Ok(rows.into_iter().map(DjangoUser::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_identifiers_are_spliced() {
        for good in ["auth_user", "jwt_api_member", "_x1"] {
            assert!(is_plain_identifier(good), "{good}");
        }
        for bad in [
            "",
            "1table",
            "users; DROP TABLE x",
            "a.b",
            "a-b",
            "\"q\"",
            "ü",
        ] {
            assert!(!is_plain_identifier(bad), "{bad}");
        }
    }
}
