//! The core of authd: register, login, refresh, logout and "who am I".
//!
//! Every business rule lives here and nowhere else: field validation, password policy,
//! hashing, token issue and verification, session liveness, and the limits on abuse (the
//! per-account login throttle in [`throttle`], the per-client limit in [`client_limit`]).
//! Transports (gRPC, grpc-web and the REST gateway) build a [`Context`] for the request,
//! decode their input into [`fields::Input`]s, call one method of [`Auth`], and encode the
//! result or the [`Error`].
//! Where transports differ in policy (whether an email is required, which `Authorization`
//! schemes are read), the adapter picks a named value ([`EmailRule`],
//! [`AcceptedSchemes`]); the core never sees a wire field name. Nothing in this module
//! knows about tonic, HTTP or protobuf; time comes from an injected [`Clock`].
//!
//! The core talks to storage through the concrete [`Store`], not a trait: its two engines
//! already share one body per method, and what the next layers need (a cache of verified
//! signatures, coalesced liveness reads) sits in front of the signer or inside the store,
//! not between the two.

pub mod accounts;
pub mod api_keys;
pub mod client_limit;
pub mod context;
pub mod credentials;
pub mod django_hashes;
pub mod django_import;
pub mod events;
pub mod fields;
pub mod forwarded;
mod hash_workers;
pub mod hashing;
pub mod key_admin;
pub mod keys;
pub mod model;
pub mod password_policy;
pub mod periodic;
pub mod random;
pub mod rekey;
pub mod retention;
pub mod sealing;
pub mod signing;
pub mod throttle;
pub mod tokens;

mod introspection;
mod jws;
mod login_email;
mod password_change;
mod register;
mod served_user;
mod sessions;
mod user_sessions;

use std::sync::Arc;

use crate::{clock::Clock, error::Error, store::Store};
use client_limit::ClientLimiter;
use forwarded::TrustedProxies;
use hashing::{HashLimits, HashParams, Hasher};
use ipnet::IpNet;
use model::RotationRule;
use password_policy::PasswordPolicy;
use periodic::{Periodic, SampledLine};
use sealing::KeyEncryptionKey;
use tokens::TokenSettings;

pub use context::{Caller, Context};
pub use credentials::AcceptedSchemes;
pub use introspection::{LiveToken, TokenType};
pub use password_change::{Confirmation, PasswordChange};
pub use register::{EmailRule, Registration};
pub use served_user::ServedUser;
pub use signing::SigningMode;

/// How the core is tuned; built from the command line by `server`.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub tokens: TokenSettings,
    /// What signs tokens: key pairs of an algorithm, or a shared secret.
    pub signing: SigningMode,
    pub hashing: HashParams,
    /// How many password hashes run at once, and how many requests may wait for them.
    pub hash_limits: HashLimits,
    /// How long an API key lives (seconds); `None`: until revoked.
    pub api_key_lifetime: Option<i64>,
    /// Limited calls per minute per client address (with a burst of as many); `0`: off.
    pub ip_limit: u32,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpNet>,
    /// Seconds after a refresh during which its token, presented again, gets a working
    /// pair instead of revoking the session; `0`: never.
    pub refresh_grace: i64,
    /// Seconds a session lives from login, however often it is refreshed.
    pub session_max_age: i64,
}

/// The authentication service core, shared by every transport.
pub struct Auth {
    store: Store,
    hasher: Hasher,
    signing: signing::Signing,
    policy: PasswordPolicy,
    clock: Arc<dyn Clock>,
    api_key_lifetime: Option<i64>,
    /// The grace window of refresh rotation.
    rotation: RotationRule,
    /// Seconds a session lives from login.
    session_max_age: i64,
    /// Who the client of a request is, behind proxies.
    proxies: TrustedProxies,
    /// The per-client budget of limited calls.
    clients: ClientLimiter,
    /// When forgotten login failures were last deleted.
    pruning: Periodic,
    /// Log lines a flood would repeat thousands of times.
    lines: FloodLines,
}

/// Events an attack repeats at request rate, each logged at most once a minute with a
/// count, so the log stays readable (and cheap) during a flood.
struct FloodLines {
    throttled_logins: SampledLine,
    replays: SampledLine,
}

/// How often each flood line may be written, in seconds.
const FLOOD_LINE_INTERVAL: i64 = 60;

impl Auth {
    /// Loads (or on first start creates) the signing key, opening it with `kek`, and
    /// prepares the hasher and the password policy.
    pub async fn new(
        store: Store,
        settings: AuthSettings,
        clock: Arc<dyn Clock>,
        kek: &KeyEncryptionKey,
    ) -> Result<Self, Error> {
        let signing =
            signing::Signing::start(&store, settings.tokens, settings.signing, kek, clock.now())
                .await?;
        let hasher = Hasher::new(settings.hashing, settings.hash_limits)?;
        rekey::rekey_users(&store, clock.now()).await?;
        Ok(Self {
            signing,
            policy: PasswordPolicy::load()?,
            hasher,
            store,
            clock,
            api_key_lifetime: settings.api_key_lifetime,
            rotation: RotationRule {
                grace: settings.refresh_grace,
            },
            session_max_age: settings.session_max_age,
            proxies: TrustedProxies::new(settings.trusted_proxies),
            clients: ClientLimiter::new(settings.ip_limit),
            pruning: Periodic::new(throttle::PRUNE_INTERVAL),
            lines: FloodLines {
                throttled_logins: SampledLine::new(FLOOD_LINE_INTERVAL),
                replays: SampledLine::new(FLOOD_LINE_INTERVAL),
            },
        })
    }

    /// The context of one request, stamped with the current time, its client resolved
    /// through the trusted proxies.
    pub fn context(&self, caller: Caller<'_>) -> Context {
        Context::new(self.clock.now(), caller, &self.proxies)
    }

    /// The database pools' connections, in use and idle, read now (for metrics).
    pub fn database_pools(&self) -> Vec<crate::store::PoolUsage> {
        self.store.pool_usage()
    }

    /// Whether the database answers within `limit`: what health checks report. While it
    /// does not, requests fail at once as UNAVAILABLE rather than each waiting for it.
    pub async fn check_database(&self, limit: std::time::Duration) -> bool {
        let reachable = matches!(
            tokio::time::timeout(limit, self.store.ping()).await,
            Ok(Ok(()))
        );
        self.store.mark_reachable(reachable);
        reachable
    }
}
