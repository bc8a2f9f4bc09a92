//! authd's JWKS, cached: each `kid` with the one algorithm its JWK names and the key itself.
//!
//! Fetched at the first token, then again when a token names a `kid` the cache lacks (a key
//! rotated in since) and every `refresh_every` seconds — but never more often than once per
//! `refetch_at_most_every` seconds, counting failed attempts too, so a flood of tokens with
//! forged kids, or authd being down, costs authd at most one request per interval. While a
//! refetch runs, requests with an unknown `kid` wait for it and use its result, and requests
//! whose key is known use the keys at hand. A failed refetch keeps the keys already known.

use std::{
    collections::HashMap,
    sync::{
        Arc, PoisonError, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm},
};
use tokio::sync::{Mutex, MutexGuard};

use crate::error::Error;

/// How long one JWKS request may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The keys of one fetch.
#[derive(Default)]
pub(crate) struct Keys {
    by_kid: HashMap<String, (Algorithm, DecodingKey)>,
    /// When they were fetched; `None` before the first successful fetch.
    fetched_at: Option<i64>,
}

impl Keys {
    /// The algorithm `kid`'s tokens must use, and its key.
    pub(crate) fn get(&self, kid: &str) -> Option<&(Algorithm, DecodingKey)> {
        self.by_kid.get(kid)
    }
}

pub(crate) struct KeySet {
    url: String,
    http: reqwest::Client,
    refresh_every: i64,
    refetch_at_most_every: i64,
    current: RwLock<Arc<Keys>>,
    /// When the last fetch was attempted; held across a fetch, so fetches never overlap.
    last_attempt: Mutex<Option<i64>>,
    /// Whether a refresh started by [`KeySet::cached`] is running (at most one is).
    refreshing: AtomicBool,
}

impl KeySet {
    pub(crate) fn new(
        url: String,
        refresh_every: i64,
        refetch_at_most_every: i64,
    ) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|_| Error::Config("cannot build the HTTP client for the JWKS"))?;
        Ok(Self {
            url,
            http,
            refresh_every,
            refetch_at_most_every,
            current: RwLock::new(Arc::new(Keys::default())),
            last_attempt: Mutex::new(None),
            refreshing: AtomicBool::new(false),
        })
    }

    fn snapshot(&self) -> Arc<Keys> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The keys to verify a token naming `kid` with at `now`: the cached ones, or fresh
    /// ones when those are stale or lack `kid` and the rate limit allows a fetch.
    pub(crate) async fn for_kid(&self, kid: &str, now: i64) -> Result<Arc<Keys>, Error> {
        let keys = self.snapshot();
        if keys.get(kid).is_none() {
            let last_attempt = self.last_attempt.lock().await;
            return self.refetch(last_attempt, keys, now).await;
        }
        let fresh = keys
            .fetched_at
            .is_some_and(|at| now.saturating_sub(at) < self.refresh_every);
        if fresh {
            return Ok(keys);
        }
        // Stale: this request refreshes them, unless another one already is (these keys
        // serve meanwhile, so an authd that is down delays one request, not all).
        match self.last_attempt.try_lock() {
            Ok(last_attempt) => self.refetch(last_attempt, keys, now).await,
            Err(_) => Ok(keys),
        }
    }

    /// The keys at hand for `kid`, without waiting (for a synchronous interceptor): when
    /// they lack it or are stale, one refresh is started in the background, on the current
    /// tokio runtime, for the next request to benefit from.
    pub(crate) fn cached(self: &Arc<Self>, kid: &str, now: i64) -> Result<Arc<Keys>, Error> {
        let keys = self.snapshot();
        let fresh = keys
            .fetched_at
            .is_some_and(|at| now.saturating_sub(at) < self.refresh_every);
        if !fresh || keys.get(kid).is_none() {
            self.refresh_in_background(kid, now);
        }
        match keys.fetched_at {
            Some(_) => Ok(keys),
            None => Err(Error::Unavailable("the JWKS is being fetched")),
        }
    }

    fn refresh_in_background(self: &Arc<Self>, kid: &str, now: i64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let set = Arc::clone(self);
        let kid = kid.to_string();
        runtime.spawn(async move {
            // The outcome lands in the cache; a failure keeps the keys already known.
            let _ = set.for_kid(&kid, now).await;
            set.refreshing.store(false, Ordering::Release);
        });
    }

    /// Fetches the JWKS unless another task replaced `seen` meanwhile or the rate limit
    /// says not yet; the keys to use either way.
    async fn refetch(
        &self,
        mut last_attempt: MutexGuard<'_, Option<i64>>,
        seen: Arc<Keys>,
        now: i64,
    ) -> Result<Arc<Keys>, Error> {
        let current = self.snapshot();
        if !Arc::ptr_eq(&current, &seen) {
            return Ok(current);
        }
        let limited =
            last_attempt.is_some_and(|at| now.saturating_sub(at) < self.refetch_at_most_every);
        let fetched = if limited {
            None
        } else {
            *last_attempt = Some(now);
            Some(self.fetch(now).await)
        };
        match fetched {
            Some(Ok(keys)) => {
                let keys = Arc::new(keys);
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&keys);
                Ok(keys)
            }
            _ if current.fetched_at.is_some() => Ok(current),
            Some(Err(error)) => Err(error),
            None => Err(Error::Unavailable("the JWKS could not be fetched yet")),
        }
    }

    async fn fetch(&self, now: i64) -> Result<Keys, Error> {
        let unavailable = |_| Error::Unavailable("the JWKS could not be fetched");
        let document: serde_json::Value = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        let by_kid = document
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .ok_or(Error::Unavailable("the JWKS has no keys array"))?
            .iter()
            .filter_map(|jwk| serde_json::from_value::<Jwk>(jwk.clone()).ok())
            .filter_map(|jwk| pinned(&jwk))
            .collect();
        Ok(Keys {
            by_kid,
            fetched_at: Some(now),
        })
    }
}

/// `jwk`'s kid, the one algorithm it verifies and the key, if it is one authd publishes: an
/// Ed25519 key for EdDSA or a P-256 key for ES256, its `alg` (when given) agreeing.
fn pinned(jwk: &Jwk) -> Option<(String, (Algorithm, DecodingKey))> {
    let kid = jwk.common.key_id.clone()?;
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        _ => return None,
    };
    let named = match jwk.common.key_algorithm {
        None => None,
        Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(_) => return None,
    };
    if named.is_some_and(|named| named != algorithm) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((kid, (algorithm, key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(value: serde_json::Value) -> Jwk {
        serde_json::from_value(value).unwrap()
    }

    const ED25519_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn an_ed25519_key_is_pinned_to_eddsa() {
        let key = jwk(serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "x": ED25519_X, "kid": "k1", "alg": "EdDSA"
        }));
        let (kid, (algorithm, _)) = pinned(&key).unwrap();
        assert_eq!((kid.as_str(), algorithm), ("k1", Algorithm::EdDSA));
    }

    #[test]
    fn a_key_whose_alg_disagrees_or_that_has_no_kid_is_dropped() {
        let wrong_alg = jwk(serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "x": ED25519_X, "kid": "k1", "alg": "HS256"
        }));
        assert!(pinned(&wrong_alg).is_none());
        let no_kid = jwk(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": ED25519_X}));
        assert!(pinned(&no_kid).is_none());
        let secret = jwk(serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "kid": "k2"}));
        assert!(pinned(&secret).is_none());
    }
}
