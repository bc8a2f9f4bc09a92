//! The signing keys as an operator manages them from the shell (`authd keys …`): list
//! them with their state, rotate in a new one, retire a leaked one. The rules are
//! [`super::keys`]'s; this is the core's face for them.

use super::{
    Auth, Context, keys,
    model::{KeyAlgorithm, Retirement},
};
use crate::error::Error;

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Every node signs with it.
    Active,
    /// Replaced at `at`; it still verifies the tokens it signed.
    Rotated { at: i64 },
    /// Withdrawn at `at`: its tokens are refused, it is not published.
    Retired { at: i64 },
}

/// One signing key as `keys list` shows it.
#[derive(Debug, Clone)]
pub struct KeyStatus {
    pub kid: String,
    pub algorithm: KeyAlgorithm,
    pub created_at: i64,
    pub state: KeyState,
    /// Whether the JWKS lists it now.
    pub published: bool,
}

impl Auth {
    /// Every stored signing key, the active one first, then the newest.
    pub async fn signing_keys(&self, ctx: &Context) -> Result<Vec<KeyStatus>, Error> {
        let published = self.public_keys(ctx).await?;
        let stored = self.store.signing_keys().await?;
        Ok(stored
            .into_iter()
            .map(|key| KeyStatus {
                published: published.iter().any(|shown| shown.kid == key.kid),
                state: match (key.active, key.retired_at, key.rotated_at) {
                    (_, Some(at), _) => KeyState::Retired { at },
                    (true, None, _) => KeyState::Active,
                    (false, None, at) => KeyState::Rotated {
                        at: at.unwrap_or(key.created_at),
                    },
                },
                kid: key.kid,
                algorithm: key.algorithm,
                created_at: key.created_at,
            })
            .collect())
    }

    /// Makes a new active signing key of `algorithm` (by default, the active key's own);
    /// every node signs with it within seconds. The new `kid`.
    pub async fn rotate_signing_key(
        &self,
        ctx: &Context,
        algorithm: Option<KeyAlgorithm>,
    ) -> Result<String, Error> {
        if self.signing.uses_secret() {
            return Err(Error::Unavailable(
                "tokens are signed with the HS256 secret (AUTHD_JWT_SECRET): there is no key \
                 pair to rotate; change the secret on every node and verifier instead"
                    .into(),
            ));
        }
        let algorithm = match algorithm {
            Some(algorithm) => algorithm,
            None => {
                keys::load(&self.store, self.signing.kek())
                    .await?
                    .active
                    .algorithm
            }
        };
        keys::rotate(&self.store, self.signing.kek(), algorithm, ctx.now).await
    }

    /// Retires `kid`: the tokens it signed stop working on every node at once.
    pub async fn retire_signing_key(&self, ctx: &Context, kid: &str) -> Result<Retirement, Error> {
        keys::retire(&self.store, kid, ctx.now).await
    }
}
