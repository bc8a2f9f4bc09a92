//! [`TokenInterceptor`]: the local modes as a synchronous tonic interceptor
//! (`MyServer::with_interceptor(service, verifier.interceptor()?)`).
//!
//! A tonic interceptor cannot wait, so it verifies against the keys already cached: a
//! token naming a `kid` the cache lacks is refused while one refetch runs in the background
//! (the next such request passes), and until the first fetch has finished every request is
//! `UNAVAILABLE`. [`crate::AuthdLayer`] waits instead and has neither gap; prefer it, or
//! warm the cache with one [`Verifier::verify`] at start.

use tonic::{Request, Status, service::Interceptor};

use crate::verifier::{Verifier, bearer};

/// Puts the [`crate::Claims`] of a live access token in the request's extensions, or
/// answers `UNAUTHENTICATED` (`UNAVAILABLE` before the keys are known).
#[derive(Clone)]
pub struct TokenInterceptor {
    verifier: Verifier,
}

impl TokenInterceptor {
    pub(crate) fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }
}

impl Interceptor for TokenInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let headers = request.metadata().clone().into_headers();
        let claims = bearer(&headers)
            .and_then(|token| self.verifier.verify_now(token))
            .map_err(|error| error.to_status())?;
        request.extensions_mut().insert(claims);
        Ok(request)
    }
}
