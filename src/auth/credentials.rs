//! Reading credentials out of an `Authorization` value, the same way for every transport.
//!
//! gRPC metadata and HTTP headers carry the same `authorization: <scheme> <credentials>`
//! string; parsing it here means `GetMe` and `GET /auth/me/` can never disagree about what
//! counts as "no credentials" and what counts as "bad credentials".

use crate::error::Error;

/// Credentials in a scheme authd reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// `Bearer <access JWT>`.
    Bearer(&'a str),
}

/// Parses an `Authorization` value. A missing value or an unknown scheme means no
/// credentials (so a client can be asked for them); a known scheme with no token, or with
/// spaces in it, is a bad token. The scheme keyword is case-insensitive.
pub fn parse_authorization(value: Option<&str>) -> Result<Credentials<'_>, Error> {
    let value = value.ok_or(Error::MissingCredentials)?.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Error::MissingCredentials);
    }
    let token = rest.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(Error::InvalidToken);
    }
    Ok(Credentials::Bearer(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_in_any_case() {
        for header in ["Bearer abc", "bearer abc", "BEARER  abc "] {
            assert!(matches!(
                parse_authorization(Some(header)),
                Ok(Credentials::Bearer("abc"))
            ));
        }
    }

    #[test]
    fn missing_or_foreign_schemes_are_no_credentials() {
        for header in [
            None,
            Some(""),
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
    fn empty_or_spaced_bearer_tokens_are_invalid() {
        for header in ["Bearer", "Bearer   ", "Bearer a b"] {
            assert!(matches!(
                parse_authorization(Some(header)),
                Err(Error::InvalidToken)
            ));
        }
    }
}
