//! Validated user fields: `Username`, `Email` and `Password`, and the raw input they parse.
//!
//! Parse, don't validate: once a value is one of these types it satisfies the rules Django's
//! user model applied to it (the username validator and length, the email validator), so
//! nothing downstream re-checks it. The error
//! texts are Django's and DRF's, word for word, because existing clients match on them.
//! Password *strength* (Django's four validators) needs the username and email too, so it
//! lives in `password_policy.rs`; here a password only has to be present and short enough.
//!
//! One name per person: a username is NFKC-normalised *before* it is validated (as Django's
//! `UsernameField` does in its forms), so what is stored is exactly what passed the rules,
//! and its key (what uniqueness, login and the per-account throttle compare) is the Unicode
//! full case folding of that, so `ｆｏｏ`/`foo`, `ﬁnance`/`finance` and `straße`/`strasse` are
//! one account each. An email's key holds its domain in IDNA ASCII form, so `x@bücher.de` and
//! `x@xn--bcher-kva.de` are one mailbox.

use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Field, FieldErrors};

/// One field of a request as a transport received it, before any rule is applied.
///
/// gRPC can only say `Missing` or `Text` (an empty proto3 string counts as missing); the REST
/// gateway can also say `Null` and `NotAString`, so every transport gets DRF's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    Missing,
    Null,
    NotAString,
    Text(&'a str),
}

pub const REQUIRED: &str = "This field is required.";
pub const BLANK: &str = "This field may not be blank.";
pub const NULL: &str = "This field may not be null.";
pub const NOT_A_STRING: &str = "Not a valid string.";
pub const NULL_CHARACTERS: &str = "Null characters are not allowed.";
pub const INVALID_USERNAME: &str = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
pub const INVALID_EMAIL: &str = "Enter a valid email address.";

pub const USERNAME_MAX_CHARS: usize = 150;
pub const EMAIL_MAX_CHARS: usize = 254;
pub const PASSWORD_MAX_CHARS: usize = 128;

fn too_long(max: usize) -> String {
    format!("Ensure this field has no more than {max} characters.")
}

/// DRF's CharField: present, not null, a string, and (after optional trimming) not blank.
fn text<'a>(input: Input<'a>, trim: bool) -> Result<&'a str, Vec<String>> {
    match input {
        Input::Missing => Err(vec![REQUIRED.into()]),
        Input::Null => Err(vec![NULL.into()]),
        Input::NotAString => Err(vec![NOT_A_STRING.into()]),
        Input::Text(raw) => {
            let value = if trim { raw.trim() } else { raw };
            if value.is_empty() {
                Err(vec![BLANK.into()])
            } else if value.contains('\0') {
                // DRF's ProhibitNullCharactersValidator, on every text field.
                Err(vec![NULL_CHARACTERS.into()])
            } else {
                Ok(value)
            }
        }
    }
}

/// A required string field with no other rule (a token in a request body, say).
pub fn required_text(field: Field, input: Input<'_>) -> Result<&str, Error> {
    text(input, false).map_err(|messages| {
        let mut errors = FieldErrors::new();
        errors.extend(field, messages);
        Error::InvalidInput(errors)
    })
}

/// A username as Django's `UnicodeUsernameValidator` allows it, trimmed and in NFKC form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Trims, normalises to NFKC, then checks the characters and the length of the
    /// normalised text (so `﹫` passes as `@`, and `½`, whose NFKC form holds a fraction
    /// slash, does not).
    ///
    /// A NUL character is judged like any other invalid one, and reported as well: Django's
    /// field runs the username validator, the length limit, then the NUL check, and says
    /// every one that fails, in that order.
    pub fn parse(input: Input<'_>) -> Result<Self, Vec<String>> {
        let with_nul = match input {
            Input::Text(raw) if raw.contains('\0') && !raw.trim().is_empty() => Some(raw.trim()),
            _ => None,
        };
        let value: String = match with_nul {
            Some(raw) => raw.nfkc().collect(),
            None => text(input, true)?.nfkc().collect(),
        };
        let value = value.as_str();
        let mut errors = Vec::new();
        if !value.chars().all(is_username_char) {
            errors.push(INVALID_USERNAME.to_string());
        }
        if value.chars().count() > USERNAME_MAX_CHARS {
            errors.push(too_long(USERNAME_MAX_CHARS));
        }
        if with_nul.is_some() {
            errors.push(NULL_CHARACTERS.to_string());
        }
        if errors.is_empty() {
            Ok(Self(value.to_string()))
        } else {
            Err(errors)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness and login compare: `Alice`, `ALICE` and `ａｌｉｃｅ` are one user.
    pub fn key(&self) -> String {
        username_key(&self.0)
    }
}

/// The key of any username text: NFKC, Unicode full case folding (`ß` → `ss`, `ς` → `σ`),
/// and NFKC again, because folding can leave text that is not in NFKC. Stable: the key of a
/// key is itself, which is what lets existing rows be re-keyed in place.
pub fn username_key(username: &str) -> String {
    let normalized: String = username.nfkc().collect();
    caseless::default_case_fold_str(&normalized)
        .nfkc()
        .collect()
}

/// Python's `\w` (letters, digits, underscore) plus `@ . + -`.
fn is_username_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '@' | '.' | '+' | '-')
}

/// The text a login form sent as the username: trimmed and non-blank, but not held to the
/// registration rules (a user who registered under older rules must still get in).
pub fn login_username(input: Input<'_>) -> Result<String, Vec<String>> {
    text(input, true).map(username_key)
}

/// The key of the address a login form sent: trimmed and non-blank, not held to the
/// registration rules (as [`login_username`]).
pub fn login_email(input: Input<'_>) -> Result<String, Vec<String>> {
    text(input, true).map(email_key)
}

/// An email address Django's `EmailValidator` accepts, with the domain lower-cased as
/// Django's `normalize_email` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses a required email.
    pub fn parse(input: Input<'_>) -> Result<Self, Vec<String>> {
        let value = text(input, true)?;
        let mut errors = Vec::new();
        if value.chars().count() > EMAIL_MAX_CHARS {
            errors.push(too_long(EMAIL_MAX_CHARS));
        }
        let normalized = normalize_email(value);
        if normalized.is_none() {
            errors.push(INVALID_EMAIL.to_string());
        }
        match normalized {
            Some(email) if errors.is_empty() => Ok(Self(email)),
            _ => Err(errors),
        }
    }

    /// Parses an email that may be left out: missing or blank means none.
    pub fn parse_optional(input: Input<'_>) -> Result<Option<Self>, Vec<String>> {
        match input {
            Input::Missing => Ok(None),
            Input::Text(raw) if raw.trim().is_empty() => Ok(None),
            other => Self::parse(other).map(Some),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness compares.
    pub fn key(&self) -> String {
        email_key(&self.0)
    }
}

/// The key of any stored address: the local part lower-cased, the domain after NFKC in its
/// IDNA ASCII form (lower-cased too), so two spellings of one mailbox's domain collide.
/// An address literal (`[127.0.0.1]`), or a domain IDNA refuses, is only lower-cased.
pub fn email_key(email: &str) -> String {
    let Some((user, domain)) = email.rsplit_once('@') else {
        return email.to_lowercase();
    };
    let domain: String = domain.nfkc().collect();
    let ascii = if domain.starts_with('[') {
        None
    } else {
        idna::domain_to_ascii(&domain).ok()
    };
    let domain = ascii.unwrap_or_else(|| domain.to_lowercase());
    format!("{}@{domain}", user.to_lowercase())
}

/// Splits at the last `@`, checks both halves and lower-cases the domain.
fn normalize_email(value: &str) -> Option<String> {
    let (user, domain) = value.rsplit_once('@')?;
    if !is_valid_email_user(user) || !is_valid_email_domain(domain) {
        return None;
    }
    Some(format!("{user}@{}", domain.to_lowercase()))
}

/// Django's `user_regex`: a dot-atom, or a quoted string.
fn is_valid_email_user(user: &str) -> bool {
    const ATOM_SPECIALS: &str = "-!#$%&'*+/=?^_`{}|~";
    let is_atom_char = |c: char| c.is_ascii_alphanumeric() || ATOM_SPECIALS.contains(c);
    let dot_atom = !user.is_empty()
        && user
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atom_char));
    dot_atom || is_quoted_string(user)
}

fn is_quoted_string(user: &str) -> bool {
    let Some(inner) = user.strip_prefix('"').and_then(|u| u.strip_suffix('"')) else {
        return false;
    };
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) if escaped.is_ascii() && !matches!(escaped, '\0' | '\n' | '\r') => {}
                _ => return false,
            },
            '"' => return false,
            c if c.is_ascii() && !matches!(c, '\0' | '\t' | '\n' | '\r' | ' ') => {}
            _ => return false,
        }
    }
    true
}

/// Django's `domain_regex` (ASCII labels of letters, digits and inner hyphens, a TLD of
/// 2–63), `localhost`, or an address literal such as `[127.0.0.1]`; a domain that fails is
/// retried in its IDNA ASCII (punycode) form, as Django does.
fn is_valid_email_domain(domain: &str) -> bool {
    if domain == "localhost" {
        return true;
    }
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        let literal = literal.strip_prefix("IPv6:").unwrap_or(literal);
        return literal.parse::<std::net::IpAddr>().is_ok();
    }
    is_valid_ascii_domain(domain)
        || (!domain.is_ascii()
            && idna::domain_to_ascii(domain).is_ok_and(|ascii| is_valid_ascii_domain(&ascii)))
}

fn is_valid_ascii_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let Some((tld, hosts)) = labels.split_last() else {
        return false;
    };
    let label_ok = |label: &str| {
        let chars: Vec<char> = label.chars().collect();
        (1..=63).contains(&chars.len())
            && chars.iter().all(|c| c.is_ascii_alphanumeric() || *c == '-')
            && chars.first() != Some(&'-')
            && chars.last() != Some(&'-')
    };
    let tld_ok = (2..=63).contains(&tld.chars().count())
        && tld.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !tld.ends_with('-');
    !hosts.is_empty() && hosts.iter().all(|label| label_ok(label)) && tld_ok
}

/// A password as sent: present, non-empty, at most 128 characters, never trimmed.
pub struct Password(String);

impl Password {
    pub fn parse(input: Input<'_>) -> Result<Self, Vec<String>> {
        let value = text(input, false)?;
        if value.chars().count() > PASSWORD_MAX_CHARS {
            return Err(vec![too_long(PASSWORD_MAX_CHARS)]);
        }
        Ok(Self(value.to_string()))
    }

    /// A password presented at login: only present and non-blank. Its length is not checked
    /// here so that a too-long guess costs and answers exactly like a wrong one.
    pub fn parse_for_login(input: Input<'_>) -> Result<Self, Vec<String>> {
        text(input, false).map(|value| Self(value.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
#[path = "fields_tests.rs"]
mod tests;
