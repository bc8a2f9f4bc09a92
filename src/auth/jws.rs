//! The compact JWS of authd's tokens, signed and verified with keys parsed once.
//!
//! jsonwebtoken keeps a key as its encoded bytes and parses it again for every token: an
//! Ed25519 signing key from PKCS#8 (which derives its public half, a scalar multiplication
//! as costly as the signature itself) and a verifying key from its 32 bytes (a point
//! decompression). On the Refresh path, which signs two tokens and verifies one, that was
//! about a tenth of the server's CPU. Here each key is parsed when the signer is built and kept
//! ready; the bytes on the wire are the ones jsonwebtoken makes (`header.claims.signature`,
//! base64url without padding, the same deterministic signatures), which the tests check
//! against jsonwebtoken itself. HS256 costs nothing to set up and stays with jsonwebtoken.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signer, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;

use super::model::{KeyAlgorithm, KeyPair, VerificationKey};
use crate::error::Error;

/// The key a signer signs with, ready to sign.
pub enum SigningKey {
    Ed25519(Box<ed25519_dalek::SigningKey>),
    Es256(Box<p256::ecdsa::SigningKey>),
    Hs256(EncodingKey),
}

impl SigningKey {
    /// `pair`'s private key, parsed; an unreadable one is an internal error, said once
    /// here rather than at every token.
    pub fn from_pair(pair: &KeyPair) -> Result<Self, Error> {
        let unreadable = |_| Error::Internal(format!("signing key {} is unreadable", pair.kid));
        Ok(match pair.algorithm {
            KeyAlgorithm::EdDsa => Self::Ed25519(Box::new(
                ed25519_dalek::SigningKey::from_pkcs8_der(&pair.private_pkcs8)
                    .map_err(unreadable)?,
            )),
            KeyAlgorithm::Es256 => Self::Es256(Box::new(
                p256::ecdsa::SigningKey::from_pkcs8_der(&pair.private_pkcs8).map_err(unreadable)?,
            )),
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::Ed25519(_) => Algorithm::EdDSA,
            Self::Es256(_) => Algorithm::ES256,
            Self::Hs256(_) => Algorithm::HS256,
        }
    }

    /// `header` and `claims` as a signed compact JWS.
    pub fn sign(&self, header: &Header, claims: &impl Serialize) -> Result<String, Error> {
        let failed = |e: &dyn std::fmt::Display| Error::Internal(format!("signing a token: {e}"));
        let mut token = encode_part(header).map_err(|e| failed(&e))?;
        token.push('.');
        token.push_str(&encode_part(claims).map_err(|e| failed(&e))?);
        let signature = match self {
            Self::Ed25519(key) => URL_SAFE_NO_PAD.encode(key.sign(token.as_bytes()).to_bytes()),
            Self::Es256(key) => {
                // What jsonwebtoken signs with: RFC 6979, the 64-byte r ‖ s.
                let (signature, _) = key
                    .sign_recoverable(token.as_bytes())
                    .map_err(|e| failed(&e))?;
                URL_SAFE_NO_PAD.encode(signature.to_bytes())
            }
            Self::Hs256(key) => jsonwebtoken::crypto::sign(token.as_bytes(), key, Algorithm::HS256)
                .map_err(|e| failed(&e))?,
        };
        token.push('.');
        token.push_str(&signature);
        Ok(token)
    }
}

/// A key tokens are verified with, ready to verify.
pub enum VerifyingKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    Es256(Box<p256::ecdsa::VerifyingKey>),
    Hs256(DecodingKey),
    /// A stored public key that does not parse: its tokens are refused, the others' not.
    Unreadable,
}

impl VerifyingKey {
    pub fn from_public(key: &VerificationKey) -> Self {
        let parsed = match key.algorithm {
            KeyAlgorithm::EdDsa => <[u8; 32]>::try_from(key.public_key.as_slice())
                .ok()
                .and_then(|bytes| ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok())
                .map(Self::Ed25519),
            KeyAlgorithm::Es256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(&key.public_key)
                .ok()
                .map(|key| Self::Es256(Box::new(key))),
        };
        parsed.unwrap_or(Self::Unreadable)
    }

    /// Whether `signature` (base64url) is this key's over `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        if let Self::Hs256(key) = self {
            return jsonwebtoken::crypto::verify(signature, message, key, Algorithm::HS256)
                .unwrap_or(false);
        }
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        match self {
            Self::Ed25519(key) => ed25519_dalek::Signature::from_slice(&signature)
                .is_ok_and(|signature| key.verify(message, &signature).is_ok()),
            Self::Es256(key) => p256::ecdsa::Signature::from_slice(&signature)
                .is_ok_and(|signature| key.verify(message, &signature).is_ok()),
            Self::Hs256(_) | Self::Unreadable => false,
        }
    }
}

/// One part of a token: `value` as JSON, base64url without padding.
fn encode_part(value: &impl Serialize) -> Result<String, serde_json::Error> {
    Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(value)?))
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Validation};
    use serde_json::json;

    use super::*;

    fn pair(algorithm: KeyAlgorithm) -> KeyPair {
        KeyPair::generate(algorithm, 1_800_000_000).unwrap()
    }

    fn public(pair: &KeyPair) -> VerificationKey {
        VerificationKey {
            kid: pair.kid.clone(),
            algorithm: pair.algorithm,
            public_key: pair.public_key.clone(),
            rotated_at: None,
        }
    }

    fn header(algorithm: Algorithm) -> Header {
        let mut header = Header::new(algorithm);
        header.kid = Some("kid-1".into());
        header
    }

    fn claims() -> serde_json::Value {
        json!({"token_type": "access", "exp": 1_800_003_600_i64, "user_id": 7, "jti": "ab"})
    }

    /// The parts of `token` that are signed, and its signature.
    fn split(token: &str) -> (&str, &str) {
        token.rsplit_once('.').unwrap()
    }

    #[test]
    fn tokens_are_the_bytes_jsonwebtoken_makes() {
        let ed = pair(KeyAlgorithm::EdDsa);
        let ec = pair(KeyAlgorithm::Es256);
        let secret = b"a shared secret of at least thirty-two bytes";
        let cases = [
            (
                SigningKey::from_pair(&ed).unwrap(),
                EncodingKey::from_ed_der(&ed.private_pkcs8),
            ),
            (
                SigningKey::from_pair(&ec).unwrap(),
                EncodingKey::from_ec_der(&ec.private_pkcs8),
            ),
            (
                SigningKey::Hs256(EncodingKey::from_secret(secret)),
                EncodingKey::from_secret(secret),
            ),
        ];
        for (ours, theirs) in cases {
            let header = header(ours.algorithm());
            let token = ours.sign(&header, &claims()).unwrap();
            assert_eq!(
                token,
                jsonwebtoken::encode(&header, &claims(), &theirs).unwrap(),
                "{:?}",
                ours.algorithm()
            );
        }
    }

    #[test]
    fn jsonwebtoken_verifies_what_is_signed_here_and_this_what_it_signs() {
        for algorithm in [KeyAlgorithm::EdDsa, KeyAlgorithm::Es256] {
            let pair = pair(algorithm);
            let verifying = VerifyingKey::from_public(&public(&pair));
            let signing = SigningKey::from_pair(&pair).unwrap();
            let token = signing
                .sign(&header(signing.algorithm()), &claims())
                .unwrap();
            let (message, signature) = split(&token);
            assert!(verifying.verifies(message.as_bytes(), signature));

            let decoding = match algorithm {
                KeyAlgorithm::EdDsa => jsonwebtoken::DecodingKey::from_ed_der(&pair.public_key),
                KeyAlgorithm::Es256 => jsonwebtoken::DecodingKey::from_ec_der(&pair.public_key),
            };
            let mut validation = Validation::new(signing.algorithm());
            validation.validate_exp = false;
            validation.required_spec_claims.clear();
            jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).unwrap();
        }
    }

    #[test]
    fn a_changed_message_signature_or_key_is_refused() {
        for algorithm in [KeyAlgorithm::EdDsa, KeyAlgorithm::Es256] {
            let (signer, other) = (pair(algorithm), pair(algorithm));
            let signing = SigningKey::from_pair(&signer).unwrap();
            let token = signing
                .sign(&header(signing.algorithm()), &claims())
                .unwrap();
            let (message, signature) = split(&token);
            let genuine = VerifyingKey::from_public(&public(&signer));
            let mut tampered = message.to_owned();
            tampered.push('x');
            assert!(!genuine.verifies(tampered.as_bytes(), signature));
            assert!(!genuine.verifies(message.as_bytes(), &signature[1..]));
            assert!(!genuine.verifies(message.as_bytes(), "not base64url!"));
            assert!(!genuine.verifies(message.as_bytes(), ""));
            assert!(
                !VerifyingKey::from_public(&public(&other)).verifies(message.as_bytes(), signature)
            );
        }
    }

    #[test]
    fn unreadable_keys_refuse_instead_of_panicking() {
        for algorithm in [KeyAlgorithm::EdDsa, KeyAlgorithm::Es256] {
            let mut broken = pair(algorithm);
            let signing = SigningKey::from_pair(&broken).unwrap();
            let token = signing
                .sign(&header(signing.algorithm()), &claims())
                .unwrap();
            let (message, signature) = split(&token);
            for public_key in [vec![], vec![0xff; 31], vec![0xff; 65]] {
                let key = VerificationKey {
                    public_key,
                    ..public(&broken)
                };
                assert!(!VerifyingKey::from_public(&key).verifies(message.as_bytes(), signature));
            }
            broken.private_pkcs8.truncate(10);
            let Err(Error::Internal(reason)) = SigningKey::from_pair(&broken) else {
                panic!("an unreadable {algorithm:?} key was accepted");
            };
            assert!(reason.contains(&broken.kid), "{reason}");
        }
    }
}
