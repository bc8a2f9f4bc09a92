//! Random bytes from the operating system, for every secret and identifier the core makes:
//! salts, seeds, keys, nonces, token ids, API keys. One place, so a failure of the source
//! is always the same internal error and never a panic.

use crate::error::Error;

/// Fills `bytes` from the operating system's source.
pub fn fill_random(bytes: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(bytes).map_err(|e| Error::Internal(format!("getrandom: {e}")))
}

/// `N` random bytes as lowercase hex.
pub fn random_hex<const N: usize>() -> Result<String, Error> {
    let mut bytes = [0u8; N];
    fill_random(&mut bytes)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_hex_has_the_requested_length() -> Result<(), Error> {
        assert_eq!(random_hex::<20>()?.len(), 40);
        Ok(())
    }
}
