//! Ed25519 signing keys: kept in the database, named by their JWK thumbprint, rotated
//! without a restart.
//!
//! The first node to start against an empty database generates the key pair and stores it;
//! every later start (and every other node on the same database) loads it, so all nodes sign
//! and verify with the same key. The `kid` is the RFC 7638 thumbprint of the public key, so
//! the same key always has the same name and a JWKS endpoint can publish it unchanged.
//!
//! **Rotation** ([`rotate`], `authd keys rotate`) stores a new active key; the old one keeps
//! verifying (its private half is erased: it will never sign again). Each node notices within
//! [`KEY_CHECK_INTERVAL`] seconds of its own traffic, or at once when it is shown a token
//! with a `kid` it does not know, and signs with the new key from then on. A rotated key is
//! published in the JWKS for as long as a token it signed could still be live, then dropped.
//! **Retirement** ([`retire`], `authd keys retire KID`) is for a key that leaked: every
//! statement that checks a token's session also checks that its key is not retired, so its
//! tokens stop working on every node at the next request, and it leaves the JWKS. The
//! active key cannot be retired (rotate first), so a node is never left without a key.
//!
//! The private key reaches the database only sealed ([`super::sealing`]); a key an older
//! version stored in clear is sealed at the first start that finds it, keeping its `kid`, so
//! tokens it signed still verify. A node whose key-encryption key cannot open the stored
//! key refuses to start rather than make a key of its own.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{SigningKey, pkcs8::EncodePrivateKey};
use sha2::{Digest, Sha256};

use super::{
    model::{KeyAlgorithm, KeyPair, Retirement, StoredSigningKey, VerificationKey},
    random::fill_random,
    sealing::{self, KeyEncryptionKey},
};
use crate::{error::Error, store::Store};

/// Why a node refuses to start when the stored keys do not open, naming the settings.
pub const WRONG_KEK: &str = "the signing keys in the database are sealed with another \
    key-encryption key: give this node the one the first node made or was given, as \
    AUTHD_KEY_ENCRYPTION_KEY or --key-encryption-key-file";

/// Seconds between a node's checks (riding on its requests) that its keys are current.
pub const KEY_CHECK_INTERVAL: i64 = 5;

/// The keys a node works with: the one it signs with, and every unretired one it verifies.
pub struct KeyRing {
    /// Clear; the caller wipes it once the signer holds its own copy.
    pub active: KeyPair,
    /// Every unretired key, the active one included.
    pub verifying: Vec<VerificationKey>,
}

/// The key ring from the database: the active key opened with `kek`, or a new one of
/// `algorithm` stored sealed if there is none (the `bool` says a key was made). With
/// `switch`, an active key of another algorithm is rotated out for one of `algorithm` (the
/// old one keeps verifying its tokens). A clear key from an older version is sealed in place.
pub async fn load_or_create(
    store: &Store,
    kek: &KeyEncryptionKey,
    algorithm: KeyAlgorithm,
    switch: bool,
    now: i64,
) -> Result<(KeyRing, bool), Error> {
    let candidate = sealed_candidate(kek, algorithm, now)?;
    let stored = store.ensure_signing_key(&candidate).await?;
    let created = stored.first().is_some_and(|key| key.kid == candidate.kid);
    let ring = open_ring(store, kek, stored).await?;
    if ring.active.algorithm == algorithm || !switch {
        return Ok((ring, created));
    }
    tracing::info!(
        from = ring.active.algorithm.as_str(),
        to = algorithm.as_str(),
        "the signing algorithm changed: rotating to a new key"
    );
    rotate(store, kek, algorithm, now).await?;
    Ok((load(store, kek).await?, true))
}

/// The key ring as the database holds it now.
pub async fn load(store: &Store, kek: &KeyEncryptionKey) -> Result<KeyRing, Error> {
    open_ring(store, kek, store.signing_keys().await?).await
}

/// Makes a new active signing key of `algorithm`; the old one only verifies from now on.
/// The new `kid`.
pub async fn rotate(
    store: &Store,
    kek: &KeyEncryptionKey,
    algorithm: KeyAlgorithm,
    now: i64,
) -> Result<String, Error> {
    // Refuse to rotate in a key this KEK could not open later.
    load(store, kek).await?;
    let candidate = sealed_candidate(kek, algorithm, now)?;
    if !store.rotate_signing_key(&candidate, now).await? {
        return Err(Error::Unavailable(
            "another rotation took the signing slot at the same time; nothing changed".into(),
        ));
    }
    tracing::info!(event = "key.rotated", kid = %candidate.kid, "signing key rotated");
    Ok(candidate.kid)
}

/// Retires `kid`: tokens it signed stop working on every node at their next request.
pub async fn retire(store: &Store, kid: &str, now: i64) -> Result<Retirement, Error> {
    let retirement = store.retire_signing_key(kid, now).await?;
    if retirement == Retirement::Retired {
        tracing::warn!(event = "key.retired", %kid, "signing key retired");
    }
    Ok(retirement)
}

/// A fresh key pair, sealed under `kek`, ready to store.
fn sealed_candidate(
    kek: &KeyEncryptionKey,
    algorithm: KeyAlgorithm,
    now: i64,
) -> Result<StoredSigningKey, Error> {
    let mut fresh = KeyPair::generate(algorithm, now)?;
    let sealed = StoredSigningKey {
        kid: fresh.kid.clone(),
        algorithm,
        private_key: sealing::seal(kek, &fresh.kid, &fresh.private_pkcs8)?,
        public_key: fresh.public_key.clone(),
        created_at: fresh.created_at,
        active: true,
        rotated_at: None,
        retired_at: None,
    };
    zeroize::Zeroize::zeroize(&mut fresh.private_pkcs8);
    Ok(sealed)
}

/// Opens the active key of `stored` (sealing it first if an older version left it clear)
/// and lists every unretired key for verification.
async fn open_ring(
    store: &Store,
    kek: &KeyEncryptionKey,
    stored: Vec<StoredSigningKey>,
) -> Result<KeyRing, Error> {
    let verifying = stored
        .iter()
        .filter(|key| key.retired_at.is_none())
        .map(|key| VerificationKey {
            kid: key.kid.clone(),
            algorithm: key.algorithm,
            public_key: key.public_key.clone(),
            rotated_at: key.rotated_at,
        })
        .collect();
    let row = stored
        .into_iter()
        .find(|key| key.active)
        .ok_or_else(|| Error::Internal("no active signing key in the database".into()))?;
    let private_pkcs8 = if sealing::is_sealed(&row.private_key) {
        sealing::open(kek, &row.kid, &row.private_key)
            .ok_or_else(|| Error::Internal(WRONG_KEK.into()))?
            .to_vec()
    } else {
        let resealed = sealing::seal(kek, &row.kid, &row.private_key)?;
        store
            .seal_signing_key(&row.kid, &row.private_key, &resealed)
            .await?;
        tracing::info!(kid = %row.kid, "sealed a signing key stored in clear by an older version");
        row.private_key
    };
    let active = KeyPair {
        kid: row.kid,
        algorithm: row.algorithm,
        private_pkcs8,
        public_key: row.public_key,
        created_at: row.created_at,
    };
    Ok(KeyRing { active, verifying })
}

impl KeyPair {
    /// A fresh random key pair of `algorithm`.
    pub fn generate(algorithm: KeyAlgorithm, now: i64) -> Result<Self, Error> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        let (private_pkcs8, public_key) = match algorithm {
            KeyAlgorithm::EdDsa => {
                fill_random(seed.as_mut())?;
                let signing = SigningKey::from_bytes(&seed);
                let der = signing.to_pkcs8_der().map_err(pkcs8_failure)?;
                (
                    der.as_bytes().to_vec(),
                    signing.verifying_key().to_bytes().to_vec(),
                )
            }
            KeyAlgorithm::Es256 => {
                // Almost every 32 random bytes are a valid P-256 scalar; retry the rest.
                let secret = loop {
                    fill_random(seed.as_mut())?;
                    if let Ok(secret) = p256::SecretKey::from_slice(seed.as_ref()) {
                        break secret;
                    }
                };
                let der =
                    p256::pkcs8::EncodePrivateKey::to_pkcs8_der(&secret).map_err(pkcs8_failure)?;
                let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                    &secret.public_key(),
                    false,
                );
                (der.as_bytes().to_vec(), point.as_bytes().to_vec())
            }
        };
        Ok(Self {
            kid: thumbprint(algorithm, &public_key)?,
            algorithm,
            private_pkcs8,
            public_key,
            created_at: now,
        })
    }
}

fn pkcs8_failure(error: impl std::fmt::Display) -> Error {
    Error::Internal(format!("pkcs8 encoding: {error}"))
}

/// The JWK coordinates of a P-256 public key in uncompressed SEC1 form (`04 || x || y`):
/// `x` and `y`, base64url without padding.
pub fn ec_coordinates(public_key: &[u8]) -> Option<(String, String)> {
    match public_key {
        [4, rest @ ..] if rest.len() == 64 => {
            let (x, y) = rest.split_at(32);
            Some((URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y)))
        }
        _ => None,
    }
}

/// RFC 7638 thumbprint of a public key: SHA-256 over its canonical JWK members.
fn thumbprint(algorithm: KeyAlgorithm, public_key: &[u8]) -> Result<String, Error> {
    let canonical = match algorithm {
        KeyAlgorithm::EdDsa => {
            let x = URL_SAFE_NO_PAD.encode(public_key);
            format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#)
        }
        KeyAlgorithm::Es256 => {
            let (x, y) = ec_coordinates(public_key)
                .ok_or_else(|| Error::Internal("a P-256 public key of the wrong form".into()))?;
            format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#)
        }
    };
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_distinct_and_named_by_thumbprint() {
        let a = KeyPair::generate(KeyAlgorithm::EdDsa, 1).unwrap();
        let b = KeyPair::generate(KeyAlgorithm::EdDsa, 1).unwrap();
        assert_ne!(a.kid, b.kid);
        assert_eq!(a.public_key.len(), 32);
        assert_eq!(
            a.kid,
            thumbprint(KeyAlgorithm::EdDsa, &a.public_key).unwrap()
        );
        assert_eq!(a.kid.len(), 43); // 32 bytes, base64url without padding
        assert!(!format!("{a:?}").contains(&format!("{:?}", a.private_pkcs8)));
    }

    #[test]
    fn thumbprint_matches_rfc_8037_example() {
        // RFC 8037 appendix A.3: the thumbprint of the example Ed25519 public key.
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let public_key = URL_SAFE_NO_PAD.decode(x).unwrap();
        assert_eq!(
            thumbprint(KeyAlgorithm::EdDsa, &public_key).unwrap(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn p256_keys_are_uncompressed_points_named_by_their_ec_thumbprint() {
        let key = KeyPair::generate(KeyAlgorithm::Es256, 1).unwrap();
        assert_eq!(key.public_key.len(), 65);
        assert_eq!(key.public_key[0], 4);
        let (x, y) = ec_coordinates(&key.public_key).unwrap();
        assert_eq!((x.len(), y.len()), (43, 43));
        assert_eq!(
            key.kid,
            thumbprint(KeyAlgorithm::Es256, &key.public_key).unwrap()
        );
        assert_ne!(
            key.kid,
            KeyPair::generate(KeyAlgorithm::Es256, 1).unwrap().kid
        );
    }

    #[test]
    fn ec_thumbprint_matches_rfc_7638_style_computation() {
        // RFC 7517 appendix A.1's example P-256 key.
        let x = URL_SAFE_NO_PAD
            .decode("MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4")
            .unwrap();
        let y = URL_SAFE_NO_PAD
            .decode("4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM")
            .unwrap();
        let point = [&[4u8][..], &x, &y].concat();
        let canonical = r#"{"crv":"P-256","kty":"EC","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}"#;
        assert_eq!(
            thumbprint(KeyAlgorithm::Es256, &point).unwrap(),
            URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
        );
    }
}
