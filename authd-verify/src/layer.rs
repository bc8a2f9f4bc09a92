//! [`AuthdLayer`]: a tower layer that lets only requests with a live access token through,
//! for any tower HTTP service — an axum `Router` (`.layer(…)`) or a tonic `Server`
//! (`Server::builder().layer(…)`) alike.
//!
//! A refused gRPC request (content type `application/grpc…`, grpc-web included) gets a
//! trailers-only `UNAUTHENTICATED` (or `UNAVAILABLE`) answer, as a tonic interceptor's
//! `Err(Status)` would; any other request gets `401` with `WWW-Authenticate: Bearer` (or
//! `503`), and an empty body. The inner service is never called for a refused request.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use http::{HeaderValue, Request, Response, header};
use tower::{Layer, Service};

use crate::{error::Error, verifier::Verifier};

/// Wraps a service in [`AuthdService`].
#[derive(Clone)]
pub struct AuthdLayer {
    verifier: Verifier,
}

impl AuthdLayer {
    /// A layer that checks every request with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for AuthdLayer {
    type Service = AuthdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthdService {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// A service whose requests reach `S` only with a live access token, its
/// [`crate::Claims`] in their extensions.
#[derive(Clone)]
pub struct AuthdService<S> {
    inner: S,
    verifier: Verifier,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthdService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            match verifier.verify_headers(request.headers()).await {
                Ok(claims) => {
                    request.extensions_mut().insert(claims);
                    inner.call(request).await
                }
                Err(error) => Ok(refusal(&error, is_grpc(&request))),
            }
        })
    }
}

fn is_grpc<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/grpc"))
}

/// The answer to a refused request: a gRPC status, or an HTTP one with its challenge.
fn refusal<B: Default>(error: &Error, grpc: bool) -> Response<B> {
    if grpc {
        return error.to_status().into_http();
    }
    let mut response = Response::new(B::default());
    *response.status_mut() = error.http_status();
    if let Some(challenge) = error.challenge() {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    response
}
