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
    let mut parts = Words { rest: value };
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

/// Whether an `Authorization` value's first word is DRF's `Token` scheme (any case), read
/// from its raw bytes as Django reads them: what an adapter needs to word a failure in DRF's
/// terms, even for a value that is not UTF-8.
pub fn names_token_scheme(value: &[u8]) -> bool {
    value
        .split(|&byte| is_django_space(byte))
        .find(|word| !word.is_empty())
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"token"))
}

/// The bytes DRF and simplejwt split an `Authorization` value on (`bytes.split()`): ASCII
/// whitespace, vertical tab included. Other Unicode spaces (a no-break space, say) are part
/// of a word, as they are in Django.
fn is_django_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The words of an `Authorization` value, split as Django splits it. A scan of bytes, not of
/// chars: the value is a whole JWT on every authenticated request.
struct Words<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.rest.as_bytes();
        let start = bytes.iter().position(|&byte| !is_django_space(byte))?;
        let end = bytes[start..]
            .iter()
            .position(|&byte| is_django_space(byte))
            .map_or(bytes.len(), |len| start + len);
        // Both ends sit next to an ASCII byte or at an end, so they are char boundaries.
        let word = self.rest.get(start..end)?;
        self.rest = self.rest.get(end..)?;
        Some(word)
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
    fn words_split_on_ascii_whitespace_only_as_django_does() {
        assert_eq!(
            parse_authorization(Some("\x0bBearer\x0c\r\n abc\t"), BOTH).unwrap(),
            Credentials::Bearer("abc")
        );
        // A no-break space is not whitespace to `bytes.split()`: one word, no known scheme.
        assert!(matches!(
            parse_authorization(Some("Bearer\u{a0}abc"), BOTH),
            Err(Error::MissingCredentials)
        ));
        assert_eq!(
            parse_authorization(Some("Bearer ab\u{2003}cd"), BOTH).unwrap(),
            Credentials::Bearer("ab\u{2003}cd")
        );
    }

    #[test]
    fn the_token_scheme_is_found_in_raw_bytes() {
        assert!(names_token_scheme(b" \x0bTOKEN \xff\xfe"));
        assert!(names_token_scheme(b"token"));
        assert!(!names_token_scheme(b"Bearer \xff"));
        assert!(!names_token_scheme(b"Token\xc2\xa0abc"));
        assert!(!names_token_scheme(b"   "));
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
                    prop_assert!(!token.bytes().any(is_django_space));
                    let django_words: Vec<&str> = value
                        .split(|c: char| c.is_ascii() && is_django_space(c as u8))
                        .filter(|word| !word.is_empty())
                        .collect();
                    prop_assert_eq!(django_words.len(), 2);
                    prop_assert_eq!(django_words[1], token);
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
