//! [`Verifier`]: one of three ways to check a token — authd's JWKS, an HS256 secret, or
//! authd's `ValidateToken` — set up by a [`Builder`].

use std::sync::Arc;

use http::{HeaderMap, header::AUTHORIZATION};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tonic::transport::Channel;

use crate::{
    builder::{Builder, Source},
    claims::{Claims, Expected},
    clock::Clock,
    error::Error,
    keys::KeySet,
    remote::Introspection,
};

/// Checks `authorization: Bearer <access JWT>` values against one authd deployment.
/// Cheap to clone: clones share the key cache and the ValidateToken cache.
#[derive(Clone)]
pub struct Verifier {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) mode: Mode,
    pub(crate) expected: Expected,
    pub(crate) clock: Arc<dyn Clock>,
}

pub(crate) enum Mode {
    Jwks(Arc<KeySet>),
    Secret(DecodingKey),
    Remote(Introspection),
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
