//! Reading credentials out of an `Authorization` value, the same way for every transport.
//!
//! gRPC metadata and HTTP headers carry the same `authorization: <scheme> <credentials>`
//! string; parsing it here means `GetMe`, `GET /api/me/` and `GET /auth/me/` can never
//! disagree about what counts as "no credentials" and what counts as "bad credentials".
//! Two schemes are read: `Bearer <access JWT>` and DRF's `Token <API key>`.

use crate::error::Error;

/// Credentials in a scheme authd reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// `Bearer <access JWT>`.
    Bearer(&'a str),
    /// `Token <40-hex API key>`, as DRF's token authentication sends it.
    ApiKey(&'a str),
}

/// How an `Authorization` value in a known scheme was malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedHeader {
    /// The scheme with nothing after it (`Token`).
    NoCredentials,
    /// More than one value after the scheme (`Token a b`).
    ContainsSpaces,
}

/// Parses an `Authorization` value. A missing value or an unknown scheme means no
/// credentials (so a client can be asked for them); a known scheme with no token, or with
/// spaces in it, is a malformed header. The scheme keyword is case-insensitive.
pub fn parse_authorization(value: Option<&str>) -> Result<Credentials<'_>, Error> {
    let value = value.ok_or(Error::MissingCredentials)?;
    let mut parts = value.split_whitespace();
    let scheme = parts.next().ok_or(Error::MissingCredentials)?;
    let is_bearer = scheme.eq_ignore_ascii_case("bearer");
    if !is_bearer && !scheme.eq_ignore_ascii_case("token") {
        return Err(Error::MissingCredentials);
    }
    match (parts.next(), parts.next()) {
        (None, _) => Err(Error::MalformedCredentials(MalformedHeader::NoCredentials)),
        (Some(_), Some(_)) => Err(Error::MalformedCredentials(MalformedHeader::ContainsSpaces)),
        (Some(token), None) if is_bearer => Ok(Credentials::Bearer(token)),
        (Some(key), None) => Ok(Credentials::ApiKey(key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_schemes_in_any_case() {
        for header in ["Bearer abc", "bearer abc", "BEARER  abc "] {
            assert!(matches!(
                parse_authorization(Some(header)),
                Ok(Credentials::Bearer("abc"))
            ));
        }
        for header in ["Token abc", "token abc", "TOKEN abc"] {
            assert!(matches!(
                parse_authorization(Some(header)),
                Ok(Credentials::ApiKey("abc"))
            ));
        }
    }

    #[test]
    fn missing_or_foreign_schemes_are_no_credentials() {
        for header in [
            None,
            Some(""),
            Some("   "),
            Some("Basic dXNlcjpwYXNz"),
            Some("Bearerabc"),
        ] {
            assert!(matches!(
                parse_authorization(header),
                Err(Error::MissingCredentials)
            ));
        }
    }

    #[test]
    fn empty_or_spaced_credentials_are_malformed() {
        for header in ["Bearer", "Token   "] {
            assert!(matches!(
                parse_authorization(Some(header)),
                Err(Error::MalformedCredentials(MalformedHeader::NoCredentials))
            ));
        }
        for header in ["Bearer a b", "Token a b"] {
            assert!(matches!(
                parse_authorization(Some(header)),
                Err(Error::MalformedCredentials(MalformedHeader::ContainsSpaces))
            ));
        }
    }
}
