//! The signer a node uses now, kept current as keys rotate, without a restart.
//!
//! Each node holds its [`TokenSigner`] behind a lock that requests only read. It is
//! replaced when the database's keys change: checked at most every
//! [`KEY_CHECK_INTERVAL`] seconds by whichever request comes
//! first (one cheap read of the key list; the keys themselves are read and opened only when
//! it changed), and at once, at most once a second, when a token names a `kid` the node does
//! not know — a token signed by a node that already rotated in a new key. Like the core's
//! other housekeeping it rides on requests and follows the injected clock.

use std::sync::{Arc, Mutex, RwLock};

use super::{
    Auth, Context,
    keys::{self, KEY_CHECK_INTERVAL},
    model::{KeyAlgorithm, TokenKind, VerificationKey},
    periodic::Periodic,
    sealing::KeyEncryptionKey,
    tokens::{CLOCK_LEEWAY, Claims, JwtSecret, TokenSettings, TokenSigner},
};
use crate::{error::Error, store::Store};

/// How often a token with an unknown `kid` may make a node reload its keys, in seconds.
const UNKNOWN_KID_RELOAD_INTERVAL: i64 = 1;

/// How tokens are signed, as the operator chose (`--jwt-algorithm`).
#[derive(Debug, Clone)]
pub enum SigningMode {
    /// Key pairs kept in the database, new ones of `algorithm`; published in the JWKS.
    /// `switch`: when the active key has another algorithm, rotate to one of `algorithm`
    /// at start (serving does; an admin command keeps the key it finds).
    Keys {
        algorithm: KeyAlgorithm,
        switch: bool,
    },
    /// HS256 with a secret shared with the verifying services; nothing is published.
    Secret(JwtSecret),
}

/// A node's signer and what it needs to rebuild it.
pub(super) struct Signing {
    current: RwLock<Arc<TokenSigner>>,
    /// [`Store::signing_keys_version`] as of the current signer; `None` when signing with
    /// a secret, which nothing in the database changes.
    version: Option<Mutex<String>>,
    settings: TokenSettings,
    kek: KeyEncryptionKey,
    check: Periodic,
    unknown_kid: Periodic,
}

impl Signing {
    /// The signer `mode` names: the database's key ring (made on first start) opened with
    /// `kek`, or the shared secret.
    pub(super) async fn start(
        store: &Store,
        settings: TokenSettings,
        mode: SigningMode,
        kek: &KeyEncryptionKey,
        now: i64,
    ) -> Result<Self, Error> {
        let (signer, version) = match mode {
            SigningMode::Secret(secret) => {
                (TokenSigner::with_secret(settings.clone(), &secret), None)
            }
            SigningMode::Keys { algorithm, switch } => {
                // Read before the keys, so a change made meanwhile shows at the first check.
                let version = store.signing_keys_version().await?;
                let (mut ring, created) =
                    keys::load_or_create(store, kek, algorithm, switch, now).await?;
                if created {
                    tracing::info!(kid = %ring.active.kid, "created a new signing key");
                }
                let signer = TokenSigner::new(settings.clone(), &ring.active, &ring.verifying);
                // The signer holds the key parsed; these clear bytes are not needed any more.
                zeroize::Zeroize::zeroize(&mut ring.active.private_pkcs8);
                (signer?, Some(Mutex::new(version)))
            }
        };
        Ok(Self {
            current: RwLock::new(Arc::new(signer)),
            version,
            settings,
            kek: kek.clone(),
            check: Periodic::new(KEY_CHECK_INTERVAL),
            unknown_kid: Periodic::new(UNKNOWN_KID_RELOAD_INTERVAL),
        })
    }

    /// Whether tokens are signed with the shared HS256 secret rather than stored keys.
    pub(super) fn uses_secret(&self) -> bool {
        self.version.is_none()
    }

    /// The key that opens the stored signing keys.
    pub(super) fn kek(&self) -> &KeyEncryptionKey {
        &self.kek
    }

    fn signer(&self) -> Result<Arc<TokenSigner>, Error> {
        self.current
            .read()
            .map(|signer| signer.clone())
            .map_err(|_| Error::Internal("signer lock poisoned".into()))
    }

    /// Rebuilds the signer if the database's keys changed since it was built.
    async fn reload_if_changed(&self, store: &Store) -> Result<(), Error> {
        let Some(current_version) = &self.version else {
            return Ok(());
        };
        let version = store.signing_keys_version().await?;
        let unchanged = current_version
            .lock()
            .map(|current| *current == version)
            .map_err(|_| Error::Internal("key version lock poisoned".into()))?;
        if unchanged {
            return Ok(());
        }
        let mut ring = keys::load(store, &self.kek).await?;
        let signer = TokenSigner::new(self.settings.clone(), &ring.active, &ring.verifying);
        zeroize::Zeroize::zeroize(&mut ring.active.private_pkcs8);
        let signer = signer?;
        tracing::info!(
            event = "key.reloaded",
            kid = %signer.signing_kid(),
            verifying = ring.verifying.len(),
            "signing keys reloaded"
        );
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(signer);
        }
        if let Ok(mut current) = current_version.lock() {
            *current = version;
        }
        Ok(())
    }
}

impl Auth {
    /// The signer to use for this request, after the periodic check that it is current.
    pub(super) async fn signer(&self, ctx: &Context) -> Result<Arc<TokenSigner>, Error> {
        if self.signing.check.due(ctx.now) {
            // A failed check keeps the signer this node has; the next interval tries again.
            if let Err(error) = self.signing.reload_if_changed(&self.store).await {
                tracing::warn!(error = %error.with_cause(), "could not check the signing keys");
            }
        }
        self.signing.signer()
    }

    /// The claims of a genuine, unexpired `token` of `kind`. A refusal because the token
    /// names a key this node has not loaded yet reloads the keys (at most once a second)
    /// and verifies again.
    pub(super) async fn verify_token(
        &self,
        ctx: &Context,
        token: &str,
        kind: TokenKind,
    ) -> Result<Claims, Error> {
        let signer = self.signer(ctx).await?;
        match signer.verify(token, kind, ctx.now) {
            Err(Error::InvalidToken)
                if signer.names_unknown_key(token) && self.signing.unknown_kid.due(ctx.now) =>
            {
                self.signing.reload_if_changed(&self.store).await?;
                self.signing.signer()?.verify(token, kind, ctx.now)
            }
            verified => verified,
        }
    }

    /// The public keys that verify authd's tokens, as the JWKS publishes them: the signing
    /// key, and each rotated key for as long as a token it signed may still be live.
    pub async fn public_keys(&self, ctx: &Context) -> Result<Vec<VerificationKey>, Error> {
        let signer = self.signer(ctx).await?;
        // A node may sign with a rotated key until its next check, so add that, and the
        // leeway verification allows, to the longest lifetime.
        let published_for = signer
            .longest_lifetime()
            .saturating_add(CLOCK_LEEWAY)
            .saturating_add(2 * KEY_CHECK_INTERVAL);
        Ok(signer
            .public_keys()
            .iter()
            .filter(|key| {
                key.rotated_at
                    .is_none_or(|rotated| rotated.saturating_add(published_for) > ctx.now)
            })
            .cloned()
            .collect())
    }
}
