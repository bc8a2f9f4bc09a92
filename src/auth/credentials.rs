//! Reading credentials out of an `Authorization` value, the same way for every transport.
//!
//! gRPC metadata and HTTP headers carry the same `authorization: <scheme> <credentials>`
//! string; parsing it here means `GetMe`, `GET /api/me/` and `GET /auth/me/` can never
//! disagree about what counts as "no credentials" and what counts as "bad credentials".
//! Two schemes exist, `Bearer <access JWT>` and DRF's `Token <API key>`; which of them an
//! endpoint reads is a policy its adapter names ([`AcceptedSchemes`]).

use crate::error::{Error, MalformedHeader};

/// Credentials in a scheme authd reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// `Bearer <access JWT>`.
    Bearer(&'a str),
    /// `Token <40-hex API key>`, as DRF's token authentication sends it.
    ApiKey(&'a str),
}

/// Which `Authorization` schemes an endpoint reads. A value in any other scheme counts as
/// no credentials at all, so the client is asked for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptedSchemes {
    /// `Bearer <access JWT>` or DRF's `Token <API key>`: what every endpoint reads today,
    /// so one credential works over gRPC and on both Django APIs.
    BearerOrApiKey,
    /// `Bearer <access JWT>` only.
    BearerOnly,
}

impl AcceptedSchemes {
    fn reads_api_keys(self) -> bool {
        match self {
            AcceptedSchemes::BearerOrApiKey => true,
            AcceptedSchemes::BearerOnly => false,
        }
    }
}

/// Parses an `Authorization` value. A missing value or a scheme the endpoint does not read
/// means no credentials (so a client can be asked for them); a read scheme with no token,
/// or with spaces in it, is a malformed header. The scheme keyword is case-insensitive.
pub fn parse_authorization(
    value: Option<&str>,
    accepted: AcceptedSchemes,
) -> Result<Credentials<'_>, Error> {
    let value = value.ok_or(Error::MissingCredentials)?;
    let mut parts = value.split_whitespace();
    let scheme = parts.next().ok_or(Error::MissingCredentials)?;
    let is_bearer = scheme.eq_ignore_ascii_case("bearer");
    let is_api_key = accepted.reads_api_keys() && scheme.eq_ignore_ascii_case("token");
    if !is_bearer && !is_api_key {
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

    const BOTH: AcceptedSchemes = AcceptedSchemes::BearerOrApiKey;

    #[test]
    fn bearer_only_endpoints_ask_for_credentials_when_sent_a_key() {
        let bearer_only = AcceptedSchemes::BearerOnly;
        assert_eq!(
            parse_authorization(Some("Bearer abc"), bearer_only).unwrap(),
            Credentials::Bearer("abc")
        );
        assert!(matches!(
            parse_authorization(Some("Token abc"), bearer_only),
            Err(Error::MissingCredentials)
        ));
    }

    #[test]
    fn both_schemes_in_any_case() {
        for header in ["Bearer abc", "bearer abc", "BEARER  abc "] {
            assert!(matches!(
                parse_authorization(Some(header), BOTH),
                Ok(Credentials::Bearer("abc"))
            ));
        }
        for header in ["Token abc", "token abc", "TOKEN abc"] {
            assert!(matches!(
                parse_authorization(Some(header), BOTH),
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
                parse_authorization(header, BOTH),
                Err(Error::MissingCredentials)
            ));
        }
    }

    #[test]
    fn empty_or_spaced_credentials_are_malformed() {
        for header in ["Bearer", "Token   "] {
            assert!(matches!(
                parse_authorization(Some(header), BOTH),
                Err(Error::MalformedCredentials(MalformedHeader::NoCredentials))
            ));
        }
        for header in ["Bearer a b", "Token a b"] {
            assert!(matches!(
                parse_authorization(Some(header), BOTH),
                Err(Error::MalformedCredentials(MalformedHeader::ContainsSpaces))
            ));
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_header_gets_an_answer_and_credentials_are_one_word_of_it(
            value in prop_oneof!["(?i:bearer|token)[ \t]{0,3}\\PC{0,60}", any::<String>()],
            bearer_only in any::<bool>(),
        ) {
            let accepted = if bearer_only {
                AcceptedSchemes::BearerOnly
            } else {
                AcceptedSchemes::BearerOrApiKey
            };
            match parse_authorization(Some(&value), accepted) {
                Ok(Credentials::Bearer(token) | Credentials::ApiKey(token)) => {
                    prop_assert!(!token.is_empty());
                    prop_assert!(!token.contains(char::is_whitespace));
                    prop_assert_eq!(value.split_whitespace().nth(1), Some(token));
                }
                Err(Error::MissingCredentials | Error::MalformedCredentials(_)) => {}
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
            if bearer_only {
                prop_assert!(!matches!(
                    parse_authorization(Some(&value), accepted),
                    Ok(Credentials::ApiKey(_))
                ));
            }
        }
    }
}
