//! Ed25519 signing keys: made once, kept in the database, named by their JWK thumbprint.
//!
//! The first node to start against an empty database generates the key pair and stores it;
//! every later start (and every other node on the same database) loads it, so all nodes sign
//! and verify with the same key. The `kid` is the RFC 7638 thumbprint of the public key, so
//! the same key always has the same name and a JWKS endpoint can publish it unchanged.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{SigningKey, pkcs8::EncodePrivateKey};
use sha2::{Digest, Sha256};

use super::model::KeyPair;
use crate::error::Error;

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
