//! Django's four password validators, run in Django's order, every failure reported.
//!
//! The Django projects authd replaces configured these validators but never called them;
//! authd enforces them with Django's exact rules and messages: user-attribute similarity,
//! minimum length 8, the 20,000 common passwords (Django's own list, in
//! `data/common-passwords.txt.gz` with its licence beside it), and entirely numeric. The common list ships inside the binary (gzip, ~80 KB)
//! and is decompressed once at start.

use std::{collections::HashSet, io::Read};

use crate::error::Error;

pub const TOO_SIMILAR_USERNAME: &str = "The password is too similar to the username.";
pub const TOO_SIMILAR_EMAIL: &str = "The password is too similar to the email address.";
pub const TOO_SHORT: &str = "This password is too short. It must contain at least 8 characters.";
pub const TOO_COMMON: &str = "This password is too common.";
pub const ENTIRELY_NUMERIC: &str = "This password is entirely numeric.";

const MIN_LENGTH: usize = 8;
const MAX_SIMILARITY: f64 = 0.7;
const COMMON_PASSWORDS_GZ: &[u8] = include_bytes!("../../data/common-passwords.txt.gz");

/// The password rules, holding the decompressed common-password list.
pub struct PasswordPolicy {
    common: HashSet<String>,
}

impl PasswordPolicy {
    pub fn load() -> Result<Self, Error> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(COMMON_PASSWORDS_GZ)
            .read_to_string(&mut text)
            .map_err(|e| Error::Internal(format!("common password list: {e}")))?;
        let common = text.lines().map(|line| line.trim().to_string()).collect();
        Ok(Self { common })
    }

    /// Every rule the password breaks, in Django's order. `username` and `email` are the
    /// user's attributes as given (possibly invalid themselves; similarity still applies).
    pub fn violations(
        &self,
        password: &str,
        username: Option<&str>,
        email: Option<&str>,
    ) -> Vec<&'static str> {
        let mut violations = Vec::new();
        if let Some(message) = similarity(password, username, email) {
            violations.push(message);
        }
        if password.chars().count() < MIN_LENGTH {
            violations.push(TOO_SHORT);
        }
        if self.common.contains(password.to_lowercase().trim()) {
            violations.push(TOO_COMMON);
        }
        if password.chars().all(|c| c.is_numeric()) {
            violations.push(ENTIRELY_NUMERIC);
        }
        violations
    }
}

/// `UserAttributeSimilarityValidator`: the first attribute (username, then email) that any
/// piece of is too similar to the password. Django stops at the first match.
fn similarity(password: &str, username: Option<&str>, email: Option<&str>) -> Option<&'static str> {
    let password = password.to_lowercase();
    let attributes = [(username, TOO_SIMILAR_USERNAME), (email, TOO_SIMILAR_EMAIL)];
    for (value, message) in attributes {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            continue;
        };
        let value = value.to_lowercase();
        let pieces = value
            .split(|c: char| !is_word_char(c))
            .chain(std::iter::once(value.as_str()));
        for piece in pieces {
            if exceeds_maximum_length_ratio(&password, piece) {
                continue;
            }
            if quick_ratio(&password, piece) >= MAX_SIMILARITY {
                return Some(message);
            }
        }
    }
    None
}

/// Python's `\w`: what `re.split(r"\W+", …)` does not split on.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Django skips pieces far shorter than the password: comparing them could only ever be
/// a coincidence (and it bounds the work on long passwords).
fn exceeds_maximum_length_ratio(password: &str, piece: &str) -> bool {
    let password_len = password.chars().count() as f64;
    let piece_len = piece.chars().count() as f64;
    password_len >= 10.0 * piece_len && piece_len < MAX_SIMILARITY / 2.0 * password_len
}

/// `difflib.SequenceMatcher(a, b).quick_ratio()`: 2 × the characters the two share (as
/// multisets) ÷ their total length, or 1.0 when both are empty.
fn quick_ratio(a: &str, b: &str) -> f64 {
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        return 1.0;
    }
    let mut available: std::collections::HashMap<char, usize> = Default::default();
    for c in b.chars() {
        *available.entry(c).or_default() += 1;
    }
    let mut matches = 0usize;
    for c in a.chars() {
        if let Some(count) = available.get_mut(&c).filter(|count| **count > 0) {
            *count -= 1;
            matches += 1;
        }
    }
    2.0 * matches as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy::load().expect("the bundled list loads")
    }

    #[test]
    fn bundled_list_loads_every_distinct_entry() {
        // 20,000 lines, some repeated: Django's set of stripped lines has 19,729.
        assert_eq!(policy().common.len(), 19_729);
    }

    #[test]
    fn a_strong_password_passes() {
        let p = policy();
        assert!(
            p.violations("correct horse battery", Some("alice"), Some("a@x.io"))
                .is_empty()
        );
    }

    #[test]
    fn every_failing_rule_is_reported_in_django_order() {
        assert_eq!(
            policy().violations("1234567", Some("1234567"), None),
            vec![
                TOO_SIMILAR_USERNAME,
                TOO_SHORT,
                TOO_COMMON,
                ENTIRELY_NUMERIC
            ]
        );
        assert_eq!(
            policy().violations("90817263541", None, None),
            vec![ENTIRELY_NUMERIC]
        );
    }

    #[test]
    fn common_passwords_match_ignoring_case_and_surrounding_space() {
        let p = policy();
        assert_eq!(p.violations("PassWord1", None, None), vec![TOO_COMMON]);
        assert_eq!(p.violations(" password1 ", None, None), vec![TOO_COMMON]);
    }

    #[test]
    fn similarity_to_username_or_email_pieces() {
        let p = policy();
        assert_eq!(
            p.violations("alice1234", Some("alice"), None),
            vec![TOO_SIMILAR_USERNAME]
        );
        // "johnsmith" is a piece of the email, and close to the password.
        assert_eq!(
            p.violations("johnsmith99", Some("zed"), Some("johnsmith@example.com")),
            vec![TOO_SIMILAR_EMAIL]
        );
        // Username is checked before email and Django stops at the first hit.
        assert_eq!(
            p.violations("Kowalski!", Some("kowalski"), Some("kowalski@example.com")),
            vec![TOO_SIMILAR_USERNAME]
        );
    }

    #[test]
    fn short_pieces_are_ignored_next_to_long_passwords() {
        // "a" is far shorter than the password, so it cannot make it "similar".
        assert!(
            policy()
                .violations("a-very-long-passphrase", Some("a"), None)
                .is_empty()
        );
    }

    #[test]
    fn quick_ratio_matches_python_difflib() {
        assert_eq!(quick_ratio("", ""), 1.0);
        assert_eq!(quick_ratio("abc", ""), 0.0);
        assert_eq!(quick_ratio("abcd", "bcde"), 0.75);
        assert_eq!(quick_ratio("aab", "abb"), 2.0 * 2.0 / 6.0);
    }
}
