//! The one error type of authd, and the one place each failure gets its status.
//!
//! Every fallible core operation returns [`Error`]. Each transport maps it exactly once:
//! [`Error::grpc_code`] and [`Error::http_status`] sit side by side in one `match`, so a new
//! variant cannot be added without choosing both. Internal causes (database faults) are kept
//! for the log and never shown to a client.

use std::fmt;

/// Field-level validation failures, in the order the fields were checked.
///
/// Each entry is a field name (`username`, `email`, `password`, …, or `non_field_errors`)
/// with every message that applies to it, as DRF reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(&'static str, Vec<String>)>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `message` to `field`, keeping first-seen field order.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        let message = message.into();
        match self.0.iter_mut().find(|(name, _)| *name == field) {
            Some((_, messages)) => messages.push(message),
            None => self.0.push((field, vec![message])),
        }
    }

    pub fn extend(&mut self, field: &'static str, messages: impl IntoIterator<Item = String>) {
        for message in messages {
            self.add(field, message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &[String])> {
        self.0
            .iter()
            .map(|(field, messages)| (*field, messages.as_slice()))
    }

    /// `Ok(())` when nothing failed, so a validation step can end with `errors.into_result()?`.
    pub fn into_result(self) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidInput(self))
        }
    }
}

impl fmt::Display for FieldErrors {
    /// `username: This field is required.; password: …` — for gRPC status messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, messages) in self.iter() {
            for message in messages {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field}: {message}")?;
            }
        }
        Ok(())
    }
}

/// Everything that can go wrong in authd, as a client should see it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input failed validation; every failing field is listed.
    #[error("invalid input: {0}")]
    InvalidInput(FieldErrors),
    /// A unique field (username, email) is already taken.
    #[error("already exists: {0}")]
    AlreadyExists(FieldErrors),
    /// Unknown user, inactive user or wrong password — deliberately indistinguishable.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// No credentials were sent (or in a scheme authd does not read).
    #[error("authentication credentials were not provided")]
    MissingCredentials,
    /// An `Authorization` value in a scheme authd reads, but not well formed.
    #[error("invalid authorization header")]
    MalformedCredentials(crate::auth::credentials::MalformedHeader),
    /// A token that is malformed, forged, expired, of the wrong type, spent or revoked.
    #[error("token is invalid or expired")]
    InvalidToken,
    /// The database cannot be reached or is overloaded; retrying later may work.
    #[error("service unavailable")]
    Unavailable(String),
    /// A fault inside authd. The cause is logged once and never sent to the client.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    /// The gRPC code and HTTP status of each variant, chosen together.
    fn codes(&self) -> (tonic::Code, u16) {
        use tonic::Code;
        match self {
            Error::InvalidInput(_) => (Code::InvalidArgument, 400),
            // DRF answers a duplicate with 400 and a field error, like any other bad field.
            Error::AlreadyExists(_) => (Code::AlreadyExists, 400),
            Error::InvalidCredentials => (Code::Unauthenticated, 401),
            Error::MissingCredentials => (Code::Unauthenticated, 401),
            Error::MalformedCredentials(_) => (Code::Unauthenticated, 401),
            Error::InvalidToken => (Code::Unauthenticated, 401),
            Error::Unavailable(_) => (Code::Unavailable, 503),
            Error::Internal(_) => (Code::Internal, 500),
        }
    }

    pub fn grpc_code(&self) -> tonic::Code {
        self.codes().0
    }

    pub fn http_status(&self) -> u16 {
        self.codes().1
    }

    /// The field errors carried by validation and duplicate failures.
    pub fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            Error::InvalidInput(errors) | Error::AlreadyExists(errors) => Some(errors),
            _ => None,
        }
    }

    /// Logs server-side causes once, at the edge, without anything secret in them.
    pub fn log_if_server_fault(&self) {
        match self {
            Error::Unavailable(cause) => tracing::warn!(error = %cause, "database unavailable"),
            Error::Internal(cause) => tracing::error!(error = %cause, "internal error"),
            _ => {}
        }
    }

    /// The message with its internal cause, for the operator (startup failures), never for
    /// a client.
    pub fn with_cause(&self) -> String {
        match self {
            Error::Unavailable(cause) => format!("{self}: {cause}"),
            Error::Internal(cause) => format!("{self}: {cause}"),
            _ => self.to_string(),
        }
    }
}

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
    fn field_errors_keep_field_order_and_group_messages() {
        let mut errors = FieldErrors::new();
        errors.add("username", "a");
        errors.add("password", "b");
        errors.add("username", "c");
        let collected: Vec<_> = errors.iter().collect();
        assert_eq!(
            collected,
            vec![
                ("username", &["a".to_string(), "c".to_string()][..]),
                ("password", &["b".to_string()][..])
            ]
        );
        assert_eq!(errors.to_string(), "username: a; username: c; password: b");
    }

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
