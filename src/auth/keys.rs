//! Ed25519 signing keys: made once, kept in the database, named by their JWK thumbprint.
//!
//! The first node to start against an empty database generates the key pair and stores it;
//! every later start (and every other node on the same database) loads it, so all nodes sign
//! and verify with the same key. The `kid` is the RFC 7638 thumbprint of the public key, so
//! the same key always has the same name and a JWKS endpoint can publish it unchanged.
//!
//! The private key reaches the database only sealed ([`super::sealing`]); a key an older
//! version stored in clear is sealed at the first start that finds it, keeping its `kid`, so
//! tokens it signed still verify. A node whose key-encryption key cannot open the stored
//! key refuses to start rather than make a key of its own.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{SigningKey, pkcs8::EncodePrivateKey};
use sha2::{Digest, Sha256};

use super::{
    model::{KeyPair, StoredSigningKey},
    sealing::{self, KeyEncryptionKey},
};
use crate::{error::Error, store::Store};

/// Why a node refuses to start when the stored keys do not open, naming the settings.
pub const WRONG_KEK: &str = "the signing keys in the database are sealed with another \
    key-encryption key: give this node the one the first node made or was given, as \
    AUTHD_KEY_ENCRYPTION_KEY or --key-encryption-key-file";

/// Every signing key, clear, the active one first: the stored ones opened with `kek`, or a
/// new one stored sealed if there are none. Clear keys from older versions are sealed in
/// place.
pub async fn load_or_create(
    store: &Store,
    kek: &KeyEncryptionKey,
    now: i64,
) -> Result<(Vec<KeyPair>, bool), Error> {
    let mut candidate = KeyPair::generate(now)?;
    let sealed = StoredSigningKey {
        kid: candidate.kid.clone(),
        private_key: sealing::seal(kek, &candidate.kid, &candidate.private_pkcs8)?,
        public_key: candidate.public_key.clone(),
        created_at: candidate.created_at,
    };
    zeroize::Zeroize::zeroize(&mut candidate.private_pkcs8);
    let stored = store.ensure_signing_key(&sealed).await?;
    let created = stored.first().is_some_and(|key| key.kid == sealed.kid);
    let mut keys = Vec::with_capacity(stored.len());
    for row in stored {
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
        keys.push(KeyPair {
            kid: row.kid,
            private_pkcs8,
            public_key: row.public_key,
            created_at: row.created_at,
        });
    }
    Ok((keys, created))
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
