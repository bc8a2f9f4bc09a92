//! Why a request was refused, and the one mapping to a gRPC status and an HTTP status.
//!
//! The messages are fixed words: never a token, a part of one, or authd's own error text.

use http::StatusCode;

/// Why a token was not accepted, or a verifier not built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No `authorization: Bearer …` value.
    MissingToken,
    /// The token is not a live access token of this authd (bad signature, unknown key,
    /// expired, revoked, a refresh token, another issuer or audience, garbage).
    InvalidToken,
    /// authd (its JWKS or ValidateToken) could not be asked; the token may be fine.
    Unavailable(&'static str),
    /// The verifier's settings cannot work.
    Config(&'static str),
}

impl Error {
    /// The gRPC status for this refusal.
    pub fn to_status(&self) -> tonic::Status {
        match self {
            Error::MissingToken => tonic::Status::unauthenticated("missing bearer token"),
            Error::InvalidToken => tonic::Status::unauthenticated("invalid token"),
            Error::Unavailable(why) => tonic::Status::unavailable(*why),
            Error::Config(why) => tonic::Status::internal(*why),
        }
    }

    /// The HTTP status for this refusal.
    pub fn http_status(&self) -> StatusCode {
        match self {
            Error::MissingToken | Error::InvalidToken => StatusCode::UNAUTHORIZED,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `WWW-Authenticate` value of a 401 (RFC 6750 §3): no error code when no token
    /// was sent, `invalid_token` when one was refused.
    pub fn challenge(&self) -> Option<&'static str> {
        match self {
            Error::MissingToken => Some("Bearer"),
            Error::InvalidToken => Some("Bearer error=\"invalid_token\""),
            Error::Unavailable(_) | Error::Config(_) => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::MissingToken => f.write_str("missing bearer token"),
            Error::InvalidToken => f.write_str("invalid token"),
            Error::Unavailable(why) => write!(f, "authd unavailable: {why}"),
            Error::Config(why) => write!(f, "verifier settings: {why}"),
        }
    }
}

impl std::error::Error for Error {}
