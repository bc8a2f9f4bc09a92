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
    model::{KeyPair, Retirement, StoredSigningKey, VerificationKey},
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

/// The key ring from the database: the active key opened with `kek`, or a new one stored
/// sealed if there is none (the `bool` says a key was made). A clear key from an older
/// version is sealed in place.
pub async fn load_or_create(
    store: &Store,
    kek: &KeyEncryptionKey,
    now: i64,
) -> Result<(KeyRing, bool), Error> {
    let candidate = sealed_candidate(kek, now)?;
    let stored = store.ensure_signing_key(&candidate).await?;
    let created = stored.first().is_some_and(|key| key.kid == candidate.kid);
    Ok((open_ring(store, kek, stored).await?, created))
}

/// The key ring as the database holds it now.
pub async fn load(store: &Store, kek: &KeyEncryptionKey) -> Result<KeyRing, Error> {
    open_ring(store, kek, store.signing_keys().await?).await
}

/// Makes a new active signing key; the old one only verifies from now on. The new `kid`.
pub async fn rotate(store: &Store, kek: &KeyEncryptionKey, now: i64) -> Result<String, Error> {
    // Refuse to rotate in a key this KEK could not open later.
    load(store, kek).await?;
    let candidate = sealed_candidate(kek, now)?;
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
fn sealed_candidate(kek: &KeyEncryptionKey, now: i64) -> Result<StoredSigningKey, Error> {
    let mut fresh = KeyPair::generate(now)?;
    let sealed = StoredSigningKey {
        kid: fresh.kid.clone(),
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
            algorithm: "EdDSA",
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
        private_pkcs8,
        public_key: row.public_key,
        created_at: row.created_at,
    };
    Ok(KeyRing { active, verifying })
}

impl KeyPair {
    /// A fresh random key pair.
    pub fn generate(now: i64) -> Result<Self, Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::Internal(format!("getrandom: {e}")))?;
        let signing = SigningKey::from_bytes(&seed);
        let private_pkcs8 = signing
            .to_pkcs8_der()
            .map_err(|e| Error::Internal(format!("pkcs8 encoding: {e}")))?
            .as_bytes()
            .to_vec();
        let public_key = signing.verifying_key().to_bytes().to_vec();
        Ok(Self {
            kid: thumbprint(&public_key),
            private_pkcs8,
            public_key,
            created_at: now,
        })
    }
}

/// RFC 7638 thumbprint of an Ed25519 public key: SHA-256 over the canonical JWK members.
fn thumbprint(public_key: &[u8]) -> String {
    let x = URL_SAFE_NO_PAD.encode(public_key);
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_distinct_and_named_by_thumbprint() {
        let a = KeyPair::generate(1).unwrap();
        let b = KeyPair::generate(1).unwrap();
        assert_ne!(a.kid, b.kid);
        assert_eq!(a.public_key.len(), 32);
        assert_eq!(a.kid, thumbprint(&a.public_key));
        assert_eq!(a.kid.len(), 43); // 32 bytes, base64url without padding
        assert!(!format!("{a:?}").contains(&format!("{:?}", a.private_pkcs8)));
    }

    #[test]
    fn thumbprint_matches_rfc_8037_example() {
        // RFC 8037 appendix A.3: the thumbprint of the example Ed25519 public key.
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let public_key = URL_SAFE_NO_PAD.decode(x).unwrap();
        assert_eq!(
            thumbprint(&public_key),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}
