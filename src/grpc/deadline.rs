//! The server's deadline for every gRPC call, on every gRPC service of the port.
//!
//! A call that has not been answered within it (its request never finished arriving, or
//! the work took too long) ends with `DEADLINE_EXCEEDED`, and the stream it held is freed.
//! It times the answer's beginning, as tonic's `Server::timeout` does, so a stream that has
//! begun (health `Watch`, a reflection session) is not cut. It wraps each service, not the
//! whole port, because the REST gateway words its own failures (and times bodies itself).

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use http::{Request, Response};
use tonic::{Status, body::Body, server::NamedService};

/// `service`, answering `DEADLINE_EXCEEDED` when a call is not answered within `limit`.
#[derive(Debug, Clone)]
pub struct Deadline<S> {
    service: S,
    limit: Duration,
}

impl<S> Deadline<S> {
    pub fn new(service: S, limit: Duration) -> Self {
        Self { service, limit }
    }
}

impl<S: NamedService> NamedService for Deadline<S> {
    const NAME: &'static str = S::NAME;
}

type Answer = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl<S, B> tower::Service<Request<B>> for Deadline<S>
where
    S: tower::Service<Request<B>, Response = Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.service.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Answer {
        let limit = self.limit;
        let answer = self.service.call(request);
        Box::pin(async move {
            match tokio::time::timeout(limit, answer).await {
                Ok(answered) => answered,
                Err(_elapsed) => {
                    let message = format!("not answered within the server's {limit:?}");
                    Ok(Status::deadline_exceeded(message).into_http())
                }
            }
        })
    }
}
