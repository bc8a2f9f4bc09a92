//! Issuing and verifying JWTs: EdDSA, ES256 or HS256, simplejwt-shaped claims, a `kid`
//! header.
//!
//! Verification picks the key by `kid` and pins the algorithm to that key's own (`none`,
//! HS256 with a public key as its secret, ES256 under an Ed25519 `kid` and friends are
//! refused before any signature check), and checks
//! signature, `iss`, `aud`, `token_type` and `exp`. Expiry is checked here against the
//! injected clock rather than by jsonwebtoken (which reads the system time), with no leeway.
//! A token signed with a genuine key is still refused when it claims more than authd ever
//! issues: a `crit` header (authd understands no JWS extension, so RFC 7515 §4.1.11 says
//! refuse), an `iat` or `nbf` in the future beyond [`CLOCK_LEEWAY`] (clocks of nodes
//! differ a little, never by a day), or an `exp` further out than the configured lifetime of
//! its kind allows, from `iat` or from now. Lowering a lifetime therefore also ends tokens
//! issued under the longer one.
//! Whether the token's session is still live is the store's question, not this module's.

use std::{collections::HashMap, sync::Arc};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use super::{
    jws::{SigningKey, VerifyingKey},
    model::{IssuedToken, KeyAlgorithm, KeyPair, TokenKind, VerificationKey},
    random::fill_random,
};
use crate::error::Error;

/// The claims authd puts in every token (simplejwt's names, so Django services read them).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub token_type: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub user_id: i64,
    pub iss: String,
    pub aud: String,
    /// Not before: authd never sets it, but honours it when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// How far ahead of this node's clock `iat` and `nbf` may be (seconds), and how much longer
/// than the configured lifetime a token may claim to live.
pub const CLOCK_LEEWAY: i64 = 60;

/// Issuer and audience names, and how long each kind of token lives (seconds).
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub access_lifetime: i64,
    pub refresh_lifetime: i64,
}

pub struct TokenSigner {
    settings: TokenSettings,
    /// What the JWKS may publish: every asymmetric key this signer verifies (none for HS256).
    public_keys: Vec<VerificationKey>,
    signing_kid: String,
    signing_key: SigningKey,
    /// Each known `kid` with the one algorithm its tokens may use.
    verifying_keys: HashMap<String, (Algorithm, VerifyingKey)>,
    /// Tokens whose header and signature this signer has already checked, or that it
    /// signed itself, by their exact text, with the claims they carry. See
    /// [`TokenSigner::verify`].
    verified: quick_cache::sync::Cache<Box<str>, Arc<Claims>>,
}

/// How many verified signatures a signer remembers: about 6 MB at the most, and enough
/// for the live access tokens of a busy deployment's callers. Tokens it issues that are
/// never presented here (their pair's other half, a client served by another node) pass
/// through quick_cache's S3-FIFO probation queue (3 % of the capacity) and leave it
/// without evicting the tokens that are presented again and again.
const VERIFIED_CAPACITY: usize = 10_000;

fn jws_algorithm(algorithm: KeyAlgorithm) -> Algorithm {
    match algorithm {
        KeyAlgorithm::EdDsa => Algorithm::EdDSA,
        KeyAlgorithm::Es256 => Algorithm::ES256,
    }
}

impl TokenSigner {
    /// Signs with `active`; verifies tokens signed by any of `verifying` (and `active`).
    pub fn new(
        settings: TokenSettings,
        active: &KeyPair,
        verifying: &[VerificationKey],
    ) -> Result<Self, Error> {
        let signing_key = SigningKey::from_pair(active)?;
        let mut public_keys: Vec<VerificationKey> = verifying.to_vec();
        if !public_keys.iter().any(|key| key.kid == active.kid) {
            public_keys.insert(
                0,
                VerificationKey {
                    kid: active.kid.clone(),
                    algorithm: active.algorithm,
                    public_key: active.public_key.clone(),
                    rotated_at: None,
                },
            );
        }
        let verifying_keys = public_keys
            .iter()
            .map(|key| {
                let entry = (jws_algorithm(key.algorithm), VerifyingKey::from_public(key));
                (key.kid.clone(), entry)
            })
            .collect();
        Ok(Self {
            public_keys,
            signing_kid: active.kid.clone(),
            signing_key,
            verifying_keys,
            settings,
            verified: quick_cache::sync::Cache::new(VERIFIED_CAPACITY),
        })
    }

    /// Signs and verifies with a secret shared with the verifying services (HS256). Its
    /// `kid` names the secret without revealing it; nothing is published.
    pub fn with_secret(settings: TokenSettings, secret: &JwtSecret) -> Self {
        let kid = secret.kid();
        let verifying_keys = HashMap::from([(
            kid.clone(),
            (
                Algorithm::HS256,
                VerifyingKey::Hs256(DecodingKey::from_secret(secret.expose())),
            ),
        )]);
        Self {
            public_keys: Vec::new(),
            signing_kid: kid,
            signing_key: SigningKey::Hs256(EncodingKey::from_secret(secret.expose())),
            verifying_keys,
            settings,
            verified: quick_cache::sync::Cache::new(VERIFIED_CAPACITY),
        }
    }

    fn lifetime(&self, kind: TokenKind) -> i64 {
        match kind {
            TokenKind::Access => self.settings.access_lifetime,
            TokenKind::Refresh => self.settings.refresh_lifetime,
        }
    }

    /// A token of `kind` for `user_id`, living its configured lifetime from `now` but not
    /// past `not_after` (its session's end).
    pub fn issue(
        &self,
        kind: TokenKind,
        user_id: i64,
        now: i64,
        not_after: i64,
    ) -> Result<IssuedToken, Error> {
        let lifetime = self.lifetime(kind);
        let claims = Claims {
            token_type: kind.as_str().to_string(),
            exp: now.saturating_add(lifetime).min(not_after),
            iat: now,
            jti: new_jti(now)?,
            user_id,
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            nbf: None,
        };
        let mut header = Header::new(self.signing_key.algorithm());
        header.kid = Some(self.signing_kid.clone());
        let token = self.signing_key.sign(&header, &claims)?;
        let issued = IssuedToken {
            token,
            jti: claims.jti.clone(),
            kid: self.signing_kid.clone(),
            kind,
            issued_at: now,
            expires_at: claims.exp,
        };
        // These exact bytes carry this signer's own signature over these claims, which is
        // what a check of them would find: remembered as if checked, so the token's first
        // use on this node (a refresh, the GetMe after a login) skips the Ed25519 verify
        // while it is still remembered.
        self.verified
            .insert(issued.token.as_str().into(), Arc::new(claims));
        Ok(issued)
    }

    /// Every key tokens may be signed with, the signing key first.
    pub fn public_keys(&self) -> &[VerificationKey] {
        &self.public_keys
    }

    /// The `kid` this signer signs with.
    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    /// The longest any token may live (seconds), whatever its kind.
    pub fn longest_lifetime(&self) -> i64 {
        self.settings
            .access_lifetime
            .max(self.settings.refresh_lifetime)
    }

    /// Whether `token`'s header names a `kid` this signer does not know (a key rotated in
    /// since it was made, or a forgery): the one refusal worth reloading the keys for.
    pub fn names_unknown_key(&self, token: &str) -> bool {
        let Some((header, _)) = token.split_once('.') else {
            return false;
        };
        decode_part::<Header>(header)
            .ok()
            .and_then(|header| header.kid)
            .is_some_and(|kid| !self.verifying_keys.contains_key(&kid))
    }

    /// The claims of a genuine, unexpired token of the `expected` kind.
    ///
    /// The token is split and each part decoded exactly once: the header (to pin the
    /// algorithm, refuse `crit` and pick the key by `kid`), then the signature over the first
    /// two parts, then the claims; jsonwebtoken's `decode` would decode the header a second
    /// time and the claims twice.
    ///
    /// The signature check is the one costly step (an Ed25519 verify is tens of
    /// microseconds), and its answer never changes for the same bytes under the same keys.
    /// So a token that passed it, or that this signer issued, is remembered by its exact
    /// text, and presented again skips only that step: every claim check below (issuer,
    /// audience, kind, lifetimes, expiry against `now`) runs every time, and so does the
    /// store's check of session, user and key. A new set of keys makes a new signer, with
    /// nothing remembered.
    pub fn verify(&self, token: &str, expected: TokenKind, now: i64) -> Result<Claims, Error> {
        let claims = match self.verified.get(token) {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(self.verify_signature(token)?);
                self.verified.insert(token.into(), claims.clone());
                claims
            }
        };
        self.check_claims(&claims, expected, now)?;
        Ok(Claims::clone(&claims))
    }

    /// The claims of a token whose header is acceptable and whose signature is genuine
    /// under the key its `kid` names: nothing about them is checked yet.
    fn verify_signature(&self, token: &str) -> Result<Claims, Error> {
        let (message, signature) = token.rsplit_once('.').ok_or(Error::InvalidToken)?;
        let (header, payload) = message.split_once('.').ok_or(Error::InvalidToken)?;
        let header: Header = decode_part(header)?;
        if header.crit.is_some() {
            return Err(Error::InvalidToken);
        }
        let (algorithm, key) = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying_keys.get(kid))
            .ok_or(Error::InvalidToken)?;
        if header.alg != *algorithm {
            return Err(Error::InvalidToken);
        }
        if !key.verifies(message.as_bytes(), signature) {
            return Err(Error::InvalidToken);
        }
        decode_part(payload)
    }

    /// Whether a genuine token's claims make it acceptable now, as a token of `expected`.
    fn check_claims(&self, claims: &Claims, expected: TokenKind, now: i64) -> Result<(), Error> {
        if claims.iss != self.settings.issuer || claims.aud != self.settings.audience {
            return Err(Error::InvalidToken);
        }
        // A token is held to the lifetime of the kind it claims, so one of the other kind is
        // told apart (below) from one that claims too long a life.
        let claimed = [TokenKind::Access, TokenKind::Refresh]
            .into_iter()
            .find(|kind| kind.as_str() == claims.token_type)
            .unwrap_or(expected);
        let longest = self.lifetime(claimed).saturating_add(CLOCK_LEEWAY);
        let ahead = now.saturating_add(CLOCK_LEEWAY);
        let refused = claims.exp <= now
            || claims.iat > ahead
            || claims.nbf.is_some_and(|nbf| nbf > ahead)
            || claims.exp.saturating_sub(claims.iat) > longest
            || claims.exp.saturating_sub(now) > longest;
        if refused {
            return Err(Error::InvalidToken);
        }
        // Genuine and in date, but the other kind: simplejwt says so, after the rest.
        if claims.token_type != expected.as_str() {
            return Err(Error::WrongTokenType);
        }
        Ok(())
    }
}

/// The HS256 secret shared with the services that verify authd's tokens: at least
/// [`JwtSecret::MIN_BYTES`] bytes, never printed.
#[derive(Clone)]
pub struct JwtSecret(zeroize::Zeroizing<Vec<u8>>);

impl JwtSecret {
    /// RFC 7518 §3.2: a key at least as long as the hash output (256 bits).
    pub const MIN_BYTES: usize = 32;

    /// The secret, or why it cannot be one (without quoting it).
    pub fn new(secret: Vec<u8>) -> Result<Self, String> {
        if secret.len() < Self::MIN_BYTES {
            return Err(format!(
                "the HS256 secret must be at least {} bytes; this one is {}",
                Self::MIN_BYTES,
                secret.len()
            ));
        }
        Ok(Self(zeroize::Zeroizing::new(secret)))
    }

    fn expose(&self) -> &[u8] {
        &self.0
    }

    /// A name for the secret: a SHA-256 of it under a label, shortened, so tokens say
    /// which secret signed them and nothing about the secret itself.
    fn kid(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::new()
            .chain_update(b"authd hs256 kid\0")
            .chain_update(self.expose())
            .finalize();
        format!("hs256-{}", URL_SAFE_NO_PAD.encode(&digest[..12]))
    }
}

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtSecret(<redacted>)")
    }
}

/// The kind a JWT says it is (its `token_type` claim), read *without* verifying anything:
/// only to choose which verification to run. `None` for anything that is not a JWT
/// claiming to be one of authd's kinds.
pub fn claimed_kind(token: &str) -> Option<TokenKind> {
    #[derive(Deserialize)]
    struct Claimed {
        token_type: String,
    }
    let mut parts = token.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else {
        return None;
    };
    let claimed: Claimed = decode_part(payload).ok()?;
    [TokenKind::Access, TokenKind::Refresh]
        .into_iter()
        .find(|kind| kind.as_str() == claimed.token_type)
}

/// One base64url part of a token, as the JSON it holds.
fn decode_part<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, Error> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Error::InvalidToken)?;
    serde_json::from_slice(&bytes).map_err(|_| Error::InvalidToken)
}

/// 32 lowercase hex characters, as simplejwt's `jti`: the second it was issued (40 bits)
/// and 88 random bits. The leading second puts every new token at the end of the `tokens`
/// primary key, where a fully random jti would land on a random page of it: with
/// thousands of tokens issued a second, that was one page read and one page written per
/// token, once the table outgrew SQLite's page cache (BENCHMARKS.md). Two jtis can only
/// meet within one second, where 88 random bits make it about a 1 in 10^15 chance even
/// for a million tokens; and a jti is no secret (it is in the token, which is what is
/// signed).
fn new_jti(now: i64) -> Result<String, Error> {
    let second = u64::try_from(now).unwrap_or(0).min(MAX_JTI_SECOND);
    let mut bytes = [0u8; 16];
    bytes[..5].copy_from_slice(&second.to_be_bytes()[3..]);
    fill_random(&mut bytes[5..])?;
    Ok(hex::encode(bytes))
}

/// The last second a jti's 40 bits can hold (in the year 36812).
const MAX_JTI_SECOND: u64 = (1 << 40) - 1;

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
