//! API keys: DRF-style opaque tokens for clients of the token-auth API (`/api/token/`).
//!
//! A key is 160 random bits as 40 lowercase hex characters, like DRF's. Unlike DRF, authd
//! stores only its SHA-256, issues a new key at every login instead of handing back the same
//! one, and lets an operator give keys a lifetime (by default they never expire). Issuing
//! a key checks a password, so it is limited and throttled exactly as login is. Because
//! every login issues a key, a user keeps only the newest [`LIVE_API_KEYS`] live: the
//! login that issues one more ends the oldest, so a script that logs in on every run does
//! not pile up live credentials. RevokeAll (logout everywhere) ends them all.

use sha2::{Digest, Sha256};
use tracing::instrument;

use super::{Auth, Context, events, fields::Input, random::random_hex};
use crate::error::Error;

/// Live API keys a user may hold; issuing one more revokes the oldest.
pub const LIVE_API_KEYS: i64 = 10;

impl Auth {
    /// Checks the username and password and issues a new API key for that user.
    #[instrument(skip_all, fields(request_id = %ctx.request_id, client = ?ctx.client, user_id))]
    pub async fn create_api_key(
        &self,
        ctx: &Context,
        username: Input<'_>,
        password: Input<'_>,
    ) -> Result<String, Error> {
        let result = async {
            self.limit_client(ctx)?;
            let matched = self.authenticate(ctx, username, password).await?;
            self.settle_match(matched).await
        }
        .await;
        events::login_attempt(&result);
        let user = result?;
        let key = random_hex::<20>()?;
        let expires_at = self.api_key_lifetime.map(|lifetime| ctx.now + lifetime);
        self.store
            .insert_api_key(&key_hash(&key), user.id, ctx.now, expires_at, LIVE_API_KEYS)
            .await?;
        tracing::info!(event = "api_key.issued", "API key issued");
        Ok(key)
    }
}

/// What the database keeps of a key: its SHA-256, as lowercase hex.
pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hashes_are_sha256_hex() {
        assert_eq!(
            key_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
