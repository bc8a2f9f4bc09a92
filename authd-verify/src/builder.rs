//! [`Builder`]: the settings of a [`Verifier`], each with a default that suits authd's.

use std::{sync::Arc, time::Duration};

use jsonwebtoken::DecodingKey;
use tonic::transport::Channel;

use crate::{
    claims::Expected,
    clock::{Clock, SystemClock},
    error::Error,
    keys::KeySet,
    remote::Introspection,
    verifier::{Inner, Mode, Verifier},
};

/// What a verifier checks tokens against.
pub(crate) enum Source {
    Jwks(String),
    Secret(Vec<u8>),
    ValidateToken(Channel),
}

/// Settings of a [`Verifier`]; each has a default that suits authd's.
pub struct Builder {
    source: Source,
    issuer: String,
    audience: String,
    leeway: Duration,
    refresh_every: Duration,
    refetch_at_most_every: Duration,
    cache_ttl: Duration,
    cache_capacity: usize,
    clock: Arc<dyn Clock>,
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

impl Builder {
    pub(crate) fn new(source: Source) -> Self {
        Self {
            source,
            issuer: "authd".into(),
            audience: "authd".into(),
            leeway: Duration::from_secs(30),
            refresh_every: Duration::from_secs(300),
            refetch_at_most_every: Duration::from_secs(5),
            cache_ttl: Duration::from_secs(5),
            cache_capacity: 10_000,
            clock: Arc::new(SystemClock),
        }
    }

    /// The `iss` tokens must carry (authd's `--jwt-issuer`); default `authd`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// The `aud` tokens must carry (authd's `--jwt-audience`); default `authd`.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// Clock difference tolerated on `exp`, `nbf` and `iat` (whole seconds); default 30 s.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// How often the JWKS is fetched again even when every kid is known; default 5 minutes
    /// (the `max-age` authd advertises).
    pub fn refresh_every(mut self, every: Duration) -> Self {
        self.refresh_every = every;
        self
    }

    /// The least time between two JWKS fetches, whatever tokens arrive; default 5 s. A
    /// token of a newly rotated key is refused until then (authd's own nodes take up to 5 s
    /// to sign with a new key).
    pub fn refetch_at_most_every(mut self, every: Duration) -> Self {
        self.refetch_at_most_every = every;
        self
    }

    /// How long a yes from ValidateToken is reused (whole seconds); default 5 s, zero for
    /// none. A revocation takes effect here at the latest this long after authd learns of it.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How many tokens the ValidateToken cache holds at most; default 10 000.
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// The clock expiry and caching read; default the system's.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The verifier; [`Error::Config`] for an empty secret or URL.
    pub fn build(self) -> Result<Verifier, Error> {
        let mode = match self.source {
            Source::Jwks(url) if url.is_empty() => return Err(Error::Config("empty JWKS URL")),
            Source::Jwks(url) => Mode::Jwks(Arc::new(KeySet::new(
                url,
                seconds(self.refresh_every),
                seconds(self.refetch_at_most_every),
            )?)),
            Source::Secret(secret) if secret.is_empty() => {
                return Err(Error::Config("empty HS256 secret"));
            }
            Source::Secret(secret) => Mode::Secret(DecodingKey::from_secret(&secret)),
            Source::ValidateToken(channel) => Mode::Remote(Introspection::new(
                channel,
                seconds(self.cache_ttl),
                self.cache_capacity,
            )),
        };
        let expected = Expected {
            issuer: self.issuer,
            audience: self.audience,
            leeway: seconds(self.leeway),
        };
        let inner = Inner {
            mode,
            expected,
            clock: self.clock,
        };
        Ok(Verifier {
            inner: Arc::new(inner),
        })
    }
}
