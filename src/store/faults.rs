//! How a database fault becomes an [`Error`]: worth a retry (UNAVAILABLE) or a bug.
//!
//! Storage owns this judgement because only storage knows its engines' codes; the core and
//! the adapters see nothing but [`Error::Unavailable`] and [`Error::Internal`].

use crate::error::Error;

impl From<sqlx::Error> for Error {
    /// Connection-level faults are worth a retry (UNAVAILABLE); anything else is a bug.
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Error::Unavailable(error.to_string()),
            sqlx::Error::Database(ref db)
                if is_sqlite_busy(db.as_ref()) || is_postgres_unavailable(db.as_ref()) =>
            {
                Error::Unavailable(error.to_string())
            }
            other => Error::Internal(other.to_string()),
        }
    }
}

/// SQLite's SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes: the database
/// is momentarily held by another writer, so the request may succeed if retried.
fn is_sqlite_busy(error: &dyn sqlx::error::DatabaseError) -> bool {
    error
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .is_some()
        && is_busy_code(error.code().as_deref())
}

/// PostgreSQL errors that mean "the server is going away or cannot take us now": connection
/// exceptions (class 08), shutdown or recovery (57P01–57P03), too many connections (53300).
fn is_postgres_unavailable(error: &dyn sqlx::error::DatabaseError) -> bool {
    error
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
        && is_postgres_unavailable_code(error.code().as_deref())
}

fn is_postgres_unavailable_code(code: Option<&str>) -> bool {
    code.is_some_and(|code| {
        code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
    })
}

fn is_busy_code(code: Option<&str>) -> bool {
    let Some(code) = code.and_then(|code| code.parse::<u32>().ok()) else {
        return false;
    };
    matches!(code & 0xff, 5 | 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_codes_are_recognised_with_extended_codes() {
        assert!(is_busy_code(Some("5")));
        assert!(is_busy_code(Some("517"))); // SQLITE_BUSY_SNAPSHOT
        assert!(is_busy_code(Some("6")));
        assert!(!is_busy_code(Some("2067"))); // SQLITE_CONSTRAINT_UNIQUE
        assert!(!is_busy_code(None));
    }

    #[test]
    fn postgres_shutdown_and_connection_codes_are_unavailable() {
        for code in ["08006", "08001", "57P01", "57P03", "53300"] {
            assert!(is_postgres_unavailable_code(Some(code)), "{code}");
        }
        for code in ["23505", "40001", "42P01"] {
            assert!(!is_postgres_unavailable_code(Some(code)), "{code}");
        }
    }
}
