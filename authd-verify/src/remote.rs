//! The revocation-aware mode: ask authd's `ValidateToken`, remember a yes for a few seconds.
//!
//! Only positive answers are cached, for `ttl` seconds and never past the token's own
//! `exp`; a refusal is asked again every time. The cache is bounded: when full, stale
//! entries go first, and if every entry is still fresh it is emptied (a burst of new tokens
//! costs round trips, never memory). So a token authd has revoked (logout, `RevokeAll`, a
//! password change, a retired key) may still pass here for up to `ttl` seconds after a
//! request that cached it — the staleness window this mode trades for fewer round trips.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use tonic::{Code, transport::Channel};

use crate::{
    claims::{Claims, Expected},
    error::Error,
    pb::{ValidateTokenRequest, auth_service_client::AuthServiceClient},
};

struct Cached {
    claims: Claims,
    at: i64,
}

pub(crate) struct Introspection {
    client: AuthServiceClient<Channel>,
    ttl: i64,
    capacity: usize,
    answers: Mutex<HashMap<String, Cached>>,
}

impl Introspection {
    pub(crate) fn new(channel: Channel, ttl: i64, capacity: usize) -> Self {
        Self {
            client: AuthServiceClient::new(channel),
            ttl,
            capacity,
            answers: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, token: &str, now: i64) -> Option<Claims> {
        let answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        let cached = answers.get(token)?;
        let fresh = now.saturating_sub(cached.at) < self.ttl && cached.claims.exp > now;
        fresh.then(|| cached.claims.clone())
    }

    fn remember(&self, token: &str, claims: &Claims, now: i64) {
        if self.ttl <= 0 || self.capacity == 0 {
            return;
        }
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        if answers.len() >= self.capacity {
            answers.retain(|_, cached| now.saturating_sub(cached.at) < self.ttl);
            if answers.len() >= self.capacity {
                answers.clear();
            }
        }
        let cached = Cached {
            claims: claims.clone(),
            at: now,
        };
        answers.insert(token.to_string(), cached);
    }

    fn forget(&self, token: &str) {
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        answers.remove(token);
    }

    pub(crate) async fn verify(
        &self,
        token: &str,
        expected: &Expected,
        now: i64,
    ) -> Result<Claims, Error> {
        if let Some(claims) = self.cached(token, now) {
            return Ok(claims);
        }
        let request = ValidateTokenRequest {
            token: token.to_string(),
        };
        let answer = match self.client.clone().validate_token(request).await {
            Ok(answer) => answer.into_inner(),
            Err(status) if status.code() == Code::InvalidArgument => {
                return Err(Error::InvalidToken);
            }
            Err(_) => {
                return Err(Error::Unavailable(
                    "authd's ValidateToken could not be asked",
                ));
            }
        };
        let owner = answer.user.as_ref().map(|user| user.id);
        if !answer.active || answer.token_type != "access" {
            self.forget(token);
            return Err(Error::InvalidToken);
        }
        // authd vouched for the token; its claims are read from it, not re-verified.
        let claims: Claims = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| Error::InvalidToken)?;
        if owner != Some(claims.user_id) || !expected.admits(&claims, now) {
            return Err(Error::InvalidToken);
        }
        self.remember(token, &claims, now);
        Ok(claims)
    }
}
