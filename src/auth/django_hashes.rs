//! Password hashes made by Django, as `authd import-django` brings them across: verified at
//! login exactly as Django verifies them, then replaced by authd's own argon2id at the first
//! login that matches (`sessions.rs`).
//!
//! Three of Django's formats are understood:
//! - `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` (Django's default),
//! - `pbkdf2_sha1$<iterations>$<salt>$<base64 hash>`,
//! - `argon2$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>` (Django's `Argon2PasswordHasher`:
//!   a PHC string with `argon2` in front), verified by the argon2 code authd's own use.
//!
//! A hostile or corrupt row must not make one login cost minutes: iteration counts above
//! [`MAX_PBKDF2_ITERATIONS`] and argon2 parameters above [`MAX_ARGON2`] are refused as a
//! mismatch before any work. Every check runs to the end and compares in constant time, so
//! a wrong password for an imported user takes as long as a right one.

use base64::{Engine, engine::general_purpose::STANDARD};
use pbkdf2::pbkdf2_hmac;

/// The most PBKDF2 iterations accepted: Django 6.0 uses 1,200,000; this leaves room for a
/// newer default while bounding a login to well under a second.
pub const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;

/// The most memory (KiB), passes and lanes accepted in an imported argon2 hash (Django's
/// own are 102,400 KiB, 2 and 8).
pub const MAX_ARGON2: (u32, u32, u32) = (262_144, 16, 16);

/// A Django hash, parsed.
#[derive(Debug, PartialEq, Eq)]
pub enum DjangoHash<'a> {
    Pbkdf2 {
        sha1: bool,
        iterations: u32,
        salt: &'a str,
        expected: Vec<u8>,
    },
    /// The PHC string inside (from its leading `$`), for the argon2 verifier.
    Argon2(&'a str),
}

/// Whether `stored` is one of Django's formats (rather than authd's own PHC string).
pub fn is_django_hash(stored: &str) -> bool {
    ["pbkdf2_sha256$", "pbkdf2_sha1$", "argon2$"]
        .iter()
        .any(|prefix| stored.starts_with(prefix))
}

/// `stored` parsed, or `None` when it is not a Django hash authd accepts (unknown format,
/// corrupt, or over the caps).
pub fn parse(stored: &str) -> Option<DjangoHash<'_>> {
    if let Some(phc) = stored.strip_prefix("argon2") {
        return within_argon2_caps(phc).then_some(DjangoHash::Argon2(phc));
    }
    let (algorithm, rest) = stored.split_once('$')?;
    let sha1 = match algorithm {
        "pbkdf2_sha256" => false,
        "pbkdf2_sha1" => true,
        _ => return None,
    };
    let mut parts = rest.split('$');
    let (iterations, salt, hash) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || salt.is_empty() {
        return None;
    }
    let iterations: u32 = iterations.parse().ok()?;
    if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
        return None;
    }
    let expected = STANDARD.decode(hash).ok()?;
    if expected.is_empty() || expected.len() > 64 {
        return None;
    }
    Some(DjangoHash::Pbkdf2 {
        sha1,
        iterations,
        salt,
        expected,
    })
}

/// Whether a PBKDF2 hash matches `password`, computed in full and compared in constant time.
pub fn pbkdf2_matches(
    sha1: bool,
    iterations: u32,
    salt: &str,
    expected: &[u8],
    password: &[u8],
) -> bool {
    let mut computed = vec![0u8; expected.len()];
    if sha1 {
        pbkdf2_hmac::<sha1::Sha1>(password, salt.as_bytes(), iterations, &mut computed);
    } else {
        pbkdf2_hmac::<sha2::Sha256>(password, salt.as_bytes(), iterations, &mut computed);
    }
    constant_time_eq(&computed, expected)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// Whether a PHC argon2 string's `m`, `t` and `p` are within [`MAX_ARGON2`].
fn within_argon2_caps(phc: &str) -> bool {
    let Some(params) = phc.split('$').find(|part| part.starts_with("m=")) else {
        return false;
    };
    let mut found = (None, None, None);
    for pair in params.split(',') {
        let Some((name, value)) = pair.split_once('=') else {
            return false;
        };
        let Ok(value) = value.parse::<u32>() else {
            return false;
        };
        match name {
            "m" => found.0 = Some(value),
            "t" => found.1 = Some(value),
            "p" => found.2 = Some(value),
            _ => return false,
        }
    }
    let (max_m, max_t, max_p) = MAX_ARGON2;
    matches!(found, (Some(m), Some(t), Some(p)) if m <= max_m && t <= max_t && p <= max_p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by Django 5.1.2's `make_password("correct-horse-battery", salt="authdtestsalt",
    /// hasher=…)`, 870,000 iterations each.
    const DJANGO_SHA256: &str =
        "pbkdf2_sha256$870000$authdtestsalt$cA/eTm/s6LuWFiHJyLNXIYlQmFClxiHS8pm2mOJrjRI=";
    const DJANGO_SHA1: &str = "pbkdf2_sha1$870000$authdtestsalt$QiYj6gyhhm+gOKpHyC8yWnrCpgY=";

    fn verifies(stored: &str, password: &str) -> bool {
        match parse(stored) {
            Some(DjangoHash::Pbkdf2 {
                sha1,
                iterations,
                salt,
                expected,
            }) => pbkdf2_matches(sha1, iterations, salt, &expected, password.as_bytes()),
            _ => false,
        }
    }

    #[test]
    fn hashes_made_by_django_verify() {
        assert!(verifies(DJANGO_SHA256, "correct-horse-battery"));
        assert!(verifies(DJANGO_SHA1, "correct-horse-battery"));
        assert!(!verifies(DJANGO_SHA256, "correct-horse-batterz"));
        assert!(!verifies(DJANGO_SHA1, ""));
    }

    #[test]
    fn formats_are_recognised_and_caps_refuse_hostile_rows() {
        assert!(is_django_hash(DJANGO_SHA256));
        assert!(is_django_hash(
            "argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA"
        ));
        assert!(!is_django_hash(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
        ));
        assert!(matches!(
            parse(DJANGO_SHA256),
            Some(DjangoHash::Pbkdf2 {
                sha1: false,
                iterations: 870_000,
                ..
            })
        ));
        for hostile in [
            "pbkdf2_sha256$4000000000$salt$aGFzaA==",
            "pbkdf2_sha256$2000001$salt$aGFzaA==",
            "pbkdf2_sha256$0$salt$aGFzaA==",
            "pbkdf2_sha256$1000$$aGFzaA==",
            "pbkdf2_sha256$1000$salt$not base64!",
            "pbkdf2_sha256$1000$salt$aGFzaA==$extra",
            "pbkdf2_md5$1000$salt$aGFzaA==",
            "argon2$argon2id$v=19$m=4194304,t=2,p=8$c2FsdA$aGFzaA",
            "argon2$argon2id$v=19$m=1024,t=1000,p=1$c2FsdA$aGFzaA",
            "argon2$argon2id$v=19$c2FsdA$aGFzaA",
        ] {
            assert_eq!(parse(hostile), None, "{hostile}");
        }
    }

    #[test]
    fn pbkdf2_matches_the_rfc_6070_and_rfc_7914_vectors() {
        // RFC 6070: PBKDF2-HMAC-SHA1("password", "salt", 2, 20).
        let sha1 = hex("ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
        assert!(pbkdf2_matches(true, 2, "salt", &sha1, b"password"));
        assert!(!pbkdf2_matches(true, 2, "salt", &sha1, b"passwore"));
        // RFC 7914 §11: PBKDF2-HMAC-SHA256("passwd", "salt", 1, 64).
        let sha256 = hex(concat!(
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc",
            "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        ));
        assert!(pbkdf2_matches(false, 1, "salt", &sha256, b"passwd"));
        assert!(!pbkdf2_matches(false, 2, "salt", &sha256, b"passwd"));
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }
}
