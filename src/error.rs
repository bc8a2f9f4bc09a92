//! The one error type of authd, and the one place each failure gets its status.
//!
//! Every fallible core operation returns [`Error`]. [`Error::grpc_code`] and
//! [`Error::http_status`] come from one `match` that names every variant, so a new variant
//! cannot be added without choosing both; each transport then words it in one exhaustive
//! match of its own (`grpc::convert`, `rest::reply`). Internal causes (database faults) are
//! kept for the log and never shown to a client.
//!
//! This module is a leaf: it imports nothing else of authd, so the core, storage and every
//! adapter can use it without arrows running back. How a database fault becomes an
//! [`Error`] is storage's business (`store::faults`).

use http::StatusCode;

/// A field of a request, named in the domain's words. Each transport says how it calls
/// the field on the wire (the refresh token is `refresh_token` in gRPC, `refresh` in the
/// JWT API), so the core never carries a transport's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Username,
    Email,
    Password,
    RefreshToken,
    /// The password a password change must prove.
    CurrentPassword,
    /// The password a password change sets.
    NewPassword,
    /// The new password entered a second time, where a form asks for it twice.
    NewPasswordConfirmation,
    /// The public id of a session.
    SessionId,
    /// A token presented for introspection.
    Token,
    /// The request as a whole rather than one field (DRF's `non_field_errors`).
    Request,
}

/// Field-level validation failures, in the order the fields were checked.
///
/// Each entry is a field with every message that applies to it, as DRF reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(Field, Vec<String>)>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `message` to `field`, keeping first-seen field order.
    pub fn add(&mut self, field: Field, message: impl Into<String>) {
        let message = message.into();
        match self.0.iter_mut().find(|(name, _)| *name == field) {
            Some((_, messages)) => messages.push(message),
            None => self.0.push((field, vec![message])),
        }
    }

    pub fn extend(&mut self, field: Field, messages: impl IntoIterator<Item = String>) {
        for message in messages {
            self.add(field, message);
        }
    }

    /// One field with one message.
    pub fn single(field: Field, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (Field, &[String])> {
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

/// How an `Authorization` value in a scheme authd reads was malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedHeader {
    /// The scheme with nothing after it (`Token`).
    NoCredentials,
    /// More than one value after the scheme (`Token a b`).
    ContainsSpaces,
    /// Bytes after the scheme that are not text (`Token` followed by invalid UTF-8).
    InvalidCharacters,
}

/// Everything that can go wrong in authd, as a client should see it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Input failed validation; every failing field is listed.
    #[error("invalid input")]
    InvalidInput(FieldErrors),
    /// A unique field (username, email) is already taken.
    #[error("already exists")]
    AlreadyExists(FieldErrors),
    /// Unknown user, inactive user or wrong password — deliberately indistinguishable.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// No credentials were sent (or in a scheme the endpoint does not read).
    #[error("authentication credentials were not provided")]
    MissingCredentials,
    /// An `Authorization` value in a scheme the endpoint reads, but not well formed.
    #[error("invalid authorization header")]
    MalformedCredentials(MalformedHeader),
    /// What the request names does not exist, or is not the caller's to see: the same
    /// answer either way.
    #[error("not found")]
    NotFound,
    /// A token that is malformed, forged, expired, spent or revoked.
    #[error("token is invalid or expired")]
    InvalidToken,
    /// A genuine, unexpired token of the other kind (a refresh token where an access token
    /// belongs, or the reverse). simplejwt says so in its own words; gRPC does not.
    #[error("token is invalid or expired")]
    WrongTokenType,
    /// Too many attempts (from this address, or at this account): the client must wait
    /// `retry_after` seconds (at least one) before the next one is considered.
    #[error("too many attempts, retry in {retry_after} s")]
    Throttled { retry_after: u64 },
    /// authd is busy (password hashing is at its queue limit); retrying after
    /// `retry_after` seconds may work.
    #[error("overloaded, retry in {retry_after} s")]
    Overloaded { retry_after: u64 },
    /// The database cannot be reached or is overloaded; retrying later may work.
    #[error("service unavailable")]
    Unavailable(String),
    /// A fault inside authd. The cause is logged once and never sent to the client.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    /// The gRPC code and HTTP status of each variant, chosen together.
    fn codes(&self) -> (tonic::Code, StatusCode) {
        use tonic::Code;
        match self {
            Error::InvalidInput(_) => (Code::InvalidArgument, StatusCode::BAD_REQUEST),
            // DRF answers a duplicate with 400 and a field error, like any other bad field.
            Error::AlreadyExists(_) => (Code::AlreadyExists, StatusCode::BAD_REQUEST),
            Error::InvalidCredentials => (Code::Unauthenticated, StatusCode::UNAUTHORIZED),
            Error::MissingCredentials => (Code::Unauthenticated, StatusCode::UNAUTHORIZED),
            Error::MalformedCredentials(_) => (Code::Unauthenticated, StatusCode::UNAUTHORIZED),
            Error::InvalidToken | Error::WrongTokenType => {
                (Code::Unauthenticated, StatusCode::UNAUTHORIZED)
            }
            Error::NotFound => (Code::NotFound, StatusCode::NOT_FOUND),
            Error::Throttled { .. } => (Code::ResourceExhausted, StatusCode::TOO_MANY_REQUESTS),
            Error::Overloaded { .. } => (Code::Unavailable, StatusCode::SERVICE_UNAVAILABLE),
            Error::Unavailable(_) => (Code::Unavailable, StatusCode::SERVICE_UNAVAILABLE),
            Error::Internal(_) => (Code::Internal, StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    pub fn grpc_code(&self) -> tonic::Code {
        self.codes().0
    }

    pub fn http_status(&self) -> StatusCode {
        self.codes().1
    }

    /// How long a throttled or overloaded client should wait before trying again.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Throttled { retry_after } | Error::Overloaded { retry_after } => {
                Some(*retry_after)
            }
            Error::InvalidInput(_)
            | Error::AlreadyExists(_)
            | Error::InvalidCredentials
            | Error::MissingCredentials
            | Error::MalformedCredentials(_)
            | Error::InvalidToken
            | Error::WrongTokenType
            | Error::NotFound
            | Error::Unavailable(_)
            | Error::Internal(_) => None,
        }
    }

    /// The field errors carried by validation and duplicate failures.
    pub fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            Error::InvalidInput(errors) | Error::AlreadyExists(errors) => Some(errors),
            Error::InvalidCredentials
            | Error::MissingCredentials
            | Error::MalformedCredentials(_)
            | Error::InvalidToken
            | Error::WrongTokenType
            | Error::NotFound
            | Error::Throttled { .. }
            | Error::Overloaded { .. }
            | Error::Unavailable(_)
            | Error::Internal(_) => None,
        }
    }

    /// The internal cause of a server-side fault, for the log and the operator only.
    fn server_cause(&self) -> Option<&str> {
        match self {
            Error::Unavailable(cause) | Error::Internal(cause) => Some(cause),
            Error::InvalidInput(_)
            | Error::AlreadyExists(_)
            | Error::InvalidCredentials
            | Error::MissingCredentials
            | Error::MalformedCredentials(_)
            | Error::InvalidToken
            | Error::WrongTokenType
            | Error::NotFound
            | Error::Throttled { .. }
            | Error::Overloaded { .. } => None,
        }
    }

    /// Logs server-side causes once, at the edge, without anything secret in them.
    pub fn log_if_server_fault(&self) {
        match self {
            Error::Unavailable(cause) => tracing::warn!(error = %cause, "database unavailable"),
            Error::Internal(cause) => tracing::error!(error = %cause, "internal error"),
            Error::InvalidInput(_)
            | Error::AlreadyExists(_)
            | Error::InvalidCredentials
            | Error::MissingCredentials
            | Error::MalformedCredentials(_)
            | Error::InvalidToken
            | Error::WrongTokenType
            | Error::NotFound
            | Error::Throttled { .. }
            | Error::Overloaded { .. } => {}
        }
    }

    /// The message with its internal cause, for the operator (startup failures), never for
    /// a client.
    pub fn with_cause(&self) -> String {
        match self.server_cause() {
            Some(cause) => format!("{self}: {cause}"),
            None => self.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_keep_field_order_and_group_messages() {
        let mut errors = FieldErrors::new();
        errors.add(Field::Username, "a");
        errors.add(Field::Password, "b");
        errors.add(Field::Username, "c");
        let collected: Vec<_> = errors.iter().collect();
        assert_eq!(
            collected,
            vec![
                (Field::Username, &["a".to_string(), "c".to_string()][..]),
                (Field::Password, &["b".to_string()][..])
            ]
        );
    }

    #[test]
    fn causes_reach_the_operator_only_for_server_faults() {
        let fault = Error::Internal("disk full".into());
        assert_eq!(fault.with_cause(), "internal error: disk full");
        assert_eq!(fault.to_string(), "internal error");
        assert_eq!(
            Error::InvalidToken.with_cause(),
            "token is invalid or expired"
        );
    }
}
