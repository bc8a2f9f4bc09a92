//! Signing keys sealed at rest: the private key goes to the database encrypted with the
//! key-encryption key (KEK), which never does.
//!
//! ChaCha20-Poly1305 with a random 96-bit nonce per sealing (a handful of keys are ever
//! sealed with one KEK, so random nonces cannot collide in practice), and the key's `kid`
//! as associated data, so a sealed key copied onto another row fails to open. The stored
//! form is `MARKER || nonce || ciphertext+tag`; the marker names the format and its
//! version, and cannot begin a clear PKCS#8 key (a DER SEQUENCE, byte 0x30), so rows
//! written by versions that stored keys in clear are recognised and sealed at the next
//! start. Where the KEK itself comes from is `key_file`'s business, not the core's.

use std::fmt;

use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce, aead::Aead, aead::Payload};
use zeroize::Zeroizing;

use super::random::fill_random;
use crate::error::Error;

/// Starts every sealed key: the format (`ak` for "authd key") and its version.
const MARKER: &[u8] = b"ak1:";
const NONCE_BYTES: usize = 12;
/// Bytes of a key-encryption key.
pub const KEK_BYTES: usize = 32;

/// The key that seals signing keys. Never printed: `Debug` is redacted, and the bytes are
/// wiped when it is dropped.
#[derive(Clone)]
pub struct KeyEncryptionKey(Zeroizing<[u8; KEK_BYTES]>);

impl KeyEncryptionKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = Zeroizing::new([0u8; KEK_BYTES]);
        fill_random(bytes.as_mut())?;
        Ok(Self(bytes))
    }

    /// Reads 64 hex characters (a trailing newline or spaces are allowed). The error never
    /// quotes the text.
    pub fn parse_hex(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let mut bytes = Zeroizing::new([0u8; KEK_BYTES]);
        let digits = text.as_bytes();
        if digits.len() != KEK_BYTES * 2 {
            return Err(format!(
                "a key-encryption key is {} hex characters (32 bytes), not {}",
                KEK_BYTES * 2,
                digits.len()
            ));
        }
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let high = hex_value(pair[0]);
            let low = hex_value(pair[1]);
            match (high, low) {
                (Some(high), Some(low)) => *byte = high << 4 | low,
                _ => return Err("a key-encryption key is hex characters only (0-9, a-f)".into()),
            }
        }
        Ok(Self(bytes))
    }

    /// The key as 64 lowercase hex characters, for writing the key file.
    pub fn to_hex(&self) -> Zeroizing<String> {
        // Room for the newline the key file adds, so no unwiped copy is left behind.
        let mut text = Zeroizing::new(String::with_capacity(KEK_BYTES * 2 + 1));
        for byte in self.0.iter() {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        text
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&Key::from(*self.0))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey(<redacted>)")
    }
}

/// Whether `stored` is a sealed key (rather than a clear one from an older version).
pub fn is_sealed(stored: &[u8]) -> bool {
    stored.starts_with(MARKER)
}

/// `clear`, encrypted under `kek` and bound to `kid`, in the stored form.
pub fn seal(kek: &KeyEncryptionKey, kid: &str, clear: &[u8]) -> Result<Vec<u8>, Error> {
    let mut nonce = [0u8; NONCE_BYTES];
    fill_random(&mut nonce)?;
    let payload = Payload {
        msg: clear,
        aad: kid.as_bytes(),
    };
    let ciphertext = kek
        .cipher()
        .encrypt(&Nonce::from(nonce), payload)
        .map_err(|_| Error::Internal("sealing a signing key failed".into()))?;
    let mut stored = Vec::with_capacity(MARKER.len() + NONCE_BYTES + ciphertext.len());
    stored.extend_from_slice(MARKER);
    stored.extend_from_slice(&nonce);
    stored.extend_from_slice(&ciphertext);
    Ok(stored)
}

/// The clear key of a sealed `stored` row named `kid`; `None` when `kek` is not the key
/// it was sealed with (or the row was altered or moved).
pub fn open(kek: &KeyEncryptionKey, kid: &str, stored: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let sealed = stored.strip_prefix(MARKER)?;
    if sealed.len() < NONCE_BYTES {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().ok()?;
    let payload = Payload {
        msg: ciphertext,
        aad: kid.as_bytes(),
    };
    kek.cipher()
        .decrypt(&Nonce::from(nonce), payload)
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAR: &[u8] = b"0.\x02\x01\x000\x05\x06\x03+ep\x04\"\x04 a private key of 32 bytes";

    #[test]
    fn a_sealed_key_opens_with_its_kek_and_kid_only() {
        let kek = KeyEncryptionKey::generate().unwrap();
        let sealed = seal(&kek, "kid-1", CLEAR).unwrap();
        assert!(is_sealed(&sealed));
        assert!(!is_sealed(CLEAR), "a clear PKCS#8 key is told apart");
        assert!(!sealed.windows(CLEAR.len()).any(|w| w == CLEAR));
        assert_eq!(open(&kek, "kid-1", &sealed).unwrap().as_slice(), CLEAR);

        let other = KeyEncryptionKey::generate().unwrap();
        assert!(open(&other, "kid-1", &sealed).is_none(), "another KEK");
        assert!(
            open(&kek, "kid-2", &sealed).is_none(),
            "moved to another row"
        );
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(open(&kek, "kid-1", &altered).is_none(), "altered");
        assert!(open(&kek, "kid-1", CLEAR).is_none(), "not sealed at all");
        assert_ne!(
            seal(&kek, "kid-1", CLEAR).unwrap(),
            sealed,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn keks_are_64_hex_characters_and_never_printed() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n";
        let kek = KeyEncryptionKey::parse_hex(hex).unwrap();
        assert_eq!(kek.to_hex().as_str(), hex.trim().to_lowercase());
        assert_eq!(format!("{kek:?}"), "KeyEncryptionKey(<redacted>)");
        for bad in ["", "00", &"g".repeat(64), &"0".repeat(63), &"0".repeat(65)] {
            let error = KeyEncryptionKey::parse_hex(bad).unwrap_err();
            assert!(bad.len() < 8 || !error.contains(bad), "{error}");
        }
    }
}
