//! The layer every request passes: it settles the request id before the handler, opens
//! the slot the user id lands in, and hands the answer's body to `answer` to be counted,
//! timed and logged when its last frame leaves.
//!
//! One layer type serves both transports, placed where each one's facts are plain: around
//! each gRPC service *inside* grpc-web (so the status is in real trailers, not encoded in
//! a grpc-web body) and around the REST router's routes (so axum's `MatchedPath`, the
//! route template, is in the request's extensions). The id is resolved exactly as the
//! core resolves it, by asking the core for the request's [`Context`](crate::auth::Context),
//! then written back into the request's `x-request-id`: the core, reading it again, adopts
//! the same value, so the log line, the core's spans and the answer's header agree.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{self, Poll},
};

use axum::extract::MatchedPath;
use http::{HeaderName, HeaderValue, Request, Response, header::USER_AGENT};
use http_body::Body;
use tokio::{task::futures::TaskLocalFuture, time::Instant};
use tonic::{server::NamedService, transport::server::TcpConnectInfo};

use super::answer::{Observed, Record, Target};
use crate::auth::{Auth, Caller, ServedUser};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Which transport a wrapped service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Grpc,
    Rest,
}

/// Counts, times and logs every request of the service it wraps.
#[derive(Clone)]
pub struct RequestsLayer {
    auth: Arc<Auth>,
    transport: Transport,
}

impl RequestsLayer {
    pub fn new(auth: Arc<Auth>, transport: Transport) -> Self {
        Self { auth, transport }
    }
}

impl<S> tower::Layer<S> for RequestsLayer {
    type Service = Requests<S>;
    fn layer(&self, inner: S) -> Requests<S> {
        Requests {
            inner,
            auth: self.auth.clone(),
            transport: self.transport,
        }
    }
}

#[derive(Clone)]
pub struct Requests<S> {
    inner: S,
    auth: Arc<Auth>,
    transport: Transport,
}

impl<S: NamedService> NamedService for Requests<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B, RB> tower::Service<Request<B>> for Requests<S>
where
    S: tower::Service<Request<B>, Response = Response<RB>>,
    RB: Body + Unpin,
{
    type Response = Response<Observed<RB>>;
    type Error = S::Error;
    type Future = Answering<S::Future>;

    fn poll_ready(&mut self, cx: &mut task::Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let started = Instant::now();
        let ctx = self.auth.context(caller(&request));
        if let Ok(id) = HeaderValue::from_str(ctx.request_id.as_str()) {
            request.headers_mut().insert(REQUEST_ID, id);
        }
        let target = match self.transport {
            Transport::Grpc => Target::Grpc {
                path: request.uri().path().into(),
            },
            Transport::Rest => Target::Rest {
                route: request.extensions().get::<MatchedPath>().cloned(),
                method: request.method().clone(),
            },
        };
        let user = ServedUser::new();
        let record = Record {
            target,
            started,
            request_id: ctx.request_id,
            client: ctx.client,
            user: user.clone(),
            grpc_code: None,
            http_status: 0,
        };
        Answering {
            inner: Box::pin(user.scope(self.inner.call(request))),
            record: Some(record),
        }
    }
}

impl<F> Drop for Answering<F> {
    /// A request dropped before its answer (the client went away, the service failed)
    /// is still counted and logged, as cancelled.
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            record.finish(true);
        }
    }
}

/// What the layer knows of a request before the core sees it, as the core reads it.
fn caller<B>(request: &Request<B>) -> Caller<'_> {
    let headers = request.headers();
    let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
    Caller {
        peer: request
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr),
        forwarded_for: headers
            .get_all("x-forwarded-for")
            .iter()
            .map(HeaderValue::as_bytes)
            .collect(),
        user_agent: text(USER_AGENT.as_str()),
        request_id: text(REQUEST_ID.as_str()),
        timeout: None,
    }
}

/// The answer on its way: once it comes, its status is noted, the request id is added to
/// its headers, and its body carries the record to the end.
pub struct Answering<F> {
    inner: Pin<Box<TaskLocalFuture<ServedUser, F>>>,
    record: Option<Record>,
}

impl<F, RB, E> Future for Answering<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
    RB: Body + Unpin,
{
    type Output = Result<Response<Observed<RB>>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        let answer = match self.inner.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(answer) => answer,
        };
        // An error here is the service's own failure; the record, dropped, logs it.
        let mut response = answer?;
        let mut record = self.record.take();
        if let Some(record) = &mut record {
            record.note_headers(response.status(), response.headers());
            if let Ok(id) = HeaderValue::from_str(record.request_id.as_str()) {
                response.headers_mut().insert(REQUEST_ID, id);
            }
        }
        Poll::Ready(Ok(response.map(|body| Observed::new(body, record))))
    }
}
