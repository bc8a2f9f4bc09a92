//! [`Verifier`]: one of three ways to check a token — authd's JWKS, an HS256 secret, or
//! authd's `ValidateToken` — and the [`Builder`] that sets it up.

use std::{sync::Arc, time::Duration};

use http::{HeaderMap, header::AUTHORIZATION};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tonic::transport::Channel;

use crate::{
    claims::{Claims, Expected},
    clock::{Clock, SystemClock},
    error::Error,
    keys::KeySet,
    remote::Introspection,
};

/// Checks `authorization: Bearer <access JWT>` values against one authd deployment.
/// Cheap to clone: clones share the key cache and the ValidateToken cache.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    mode: Mode,
    expected: Expected,
    clock: Arc<dyn Clock>,
}

enum Mode {
    Jwks(Arc<KeySet>),
    Secret(DecodingKey),
    Remote(Introspection),
}

enum Source {
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

impl Verifier {
    /// Verifies locally against the JWKS at `url` (authd's `/.well-known/jwks.json`, e.g.
    /// `http://authd:50051/.well-known/jwks.json`; https needs the `rustls` feature).
    pub fn jwks(url: impl Into<String>) -> Builder {
        Builder::new(Source::Jwks(url.into()))
    }

    /// Verifies locally with the secret authd signs with under `--jwt-algorithm hs256`
    /// (`AUTHD_JWT_SECRET`).
    pub fn hs256(secret: impl Into<Vec<u8>>) -> Builder {
        Builder::new(Source::Secret(secret.into()))
    }

    /// Asks authd's `ValidateToken` over `channel` (revocation-aware), caching yes for
    /// [`Builder::cache_ttl`].
    pub fn validate_token(channel: Channel) -> Builder {
        Builder::new(Source::ValidateToken(channel))
    }

    /// The claims of `token` if it is a live access token of this authd.
    pub async fn verify(&self, token: &str) -> Result<Claims, Error> {
        let inner = &self.inner;
        let now = inner.clock.now();
        if token.is_empty() {
            return Err(Error::MissingToken);
        }
        let claims = match &inner.mode {
            Mode::Remote(remote) => return remote.verify(token, &inner.expected, now).await,
            Mode::Secret(key) => signed(token, Algorithm::HS256, key)?,
            Mode::Jwks(keys) => {
                let kid = kid_of(token)?;
                let keys = keys.for_kid(&kid, now).await?;
                let (algorithm, key) = keys.get(&kid).ok_or(Error::InvalidToken)?;
                signed(token, *algorithm, key)?
            }
        };
        if !inner.expected.admits(&claims, now) {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }

    /// The claims of the bearer token in `headers`' `authorization` (the scheme matched
    /// ignoring case, as RFC 7235 says).
    pub async fn verify_headers(&self, headers: &HeaderMap) -> Result<Claims, Error> {
        self.verify(bearer(headers)?).await
    }

    /// As [`Verifier::verify`], without waiting: against the keys at hand (a refresh they
    /// need runs in the background). Local modes only.
    pub(crate) fn verify_now(&self, token: &str) -> Result<Claims, Error> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let claims = match &inner.mode {
            Mode::Remote(_) => return Err(Error::Config("ValidateToken cannot answer at once")),
            Mode::Secret(key) => signed(token, Algorithm::HS256, key)?,
            Mode::Jwks(keys) => {
                let kid = kid_of(token)?;
                let keys = keys.cached(&kid, now)?;
                let (algorithm, key) = keys.get(&kid).ok_or(Error::InvalidToken)?;
                signed(token, *algorithm, key)?
            }
        };
        if !inner.expected.admits(&claims, now) {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }

    /// A synchronous tonic interceptor for the local modes; [`Error::Config`] for the
    /// ValidateToken mode, which must wait for authd (use [`crate::AuthdLayer`] or
    /// [`Verifier::authenticate`] there).
    pub fn interceptor(&self) -> Result<crate::TokenInterceptor, Error> {
        match self.inner.mode {
            Mode::Remote(_) => Err(Error::Config(
                "the ValidateToken mode needs AuthdLayer or authenticate",
            )),
            Mode::Jwks(_) | Mode::Secret(_) => Ok(crate::TokenInterceptor::new(self.clone())),
        }
    }

    /// Interceptor-style, for a tonic handler or an async interceptor: `request` with its
    /// [`Claims`] in its extensions, or `UNAUTHENTICATED` (`UNAVAILABLE` when authd could
    /// not be asked).
    pub async fn authenticate<T>(
        &self,
        mut request: tonic::Request<T>,
    ) -> Result<tonic::Request<T>, tonic::Status> {
        let headers = request.metadata().clone().into_headers();
        let claims = self
            .verify_headers(&headers)
            .await
            .map_err(|error| error.to_status())?;
        request.extensions_mut().insert(claims);
        Ok(request)
    }
}

/// The token of a `Bearer` `authorization` value in `headers`.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, Error> {
    let value = headers.get(AUTHORIZATION).ok_or(Error::MissingToken)?;
    let value = value.to_str().map_err(|_| Error::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(Error::InvalidToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Error::InvalidToken);
    }
    match token.trim() {
        "" => Err(Error::MissingToken),
        token => Ok(token),
    }
}

fn kid_of(token: &str) -> Result<String, Error> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Error::InvalidToken)?;
    header.kid.ok_or(Error::InvalidToken)
}

/// The claims of `token` if `algorithm` signed it with `key` (its header saying so, and no
/// `crit` extension, which authd never sets).
fn signed(token: &str, algorithm: Algorithm, key: &DecodingKey) -> Result<Claims, Error> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Error::InvalidToken)?;
    if header.alg != algorithm || header.crit.is_some() {
        return Err(Error::InvalidToken);
    }
    let mut validation = Validation::new(algorithm);
    // Time, iss and aud are checked by `Expected::admits`, against the injected clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Claims>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|_| Error::InvalidToken)
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

impl Builder {
    fn new(source: Source) -> Self {
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
