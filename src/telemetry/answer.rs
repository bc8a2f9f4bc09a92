//! The answer's body, watched to its end: a gRPC status may come in its trailers, and a
//! request is over (its latency known) only when the last frame leaves. The record is
//! finished exactly once: at the last frame, at an error, or, if the body is dropped
//! first (the client went away), on drop.

use std::{
    net::IpAddr,
    pin::Pin,
    task::{Context, Poll},
};

use axum::extract::MatchedPath;
use http::{HeaderMap, Method, StatusCode};
use http_body::{Body, Frame, SizeHint};
use tokio::time::Instant;
use tonic::Code;

use super::request_series;
use crate::auth::{ServedUser, context::RequestId};

/// What is being answered.
pub(super) enum Target {
    /// A gRPC call to this path (`/auth.v1.AuthService/Login`).
    Grpc { path: Box<str> },
    /// A REST request to this route template (none: no route matched).
    Rest {
        route: Option<MatchedPath>,
        method: Method,
    },
}

/// One request, until its answer is over.
pub(super) struct Record {
    pub target: Target,
    pub started: Instant,
    pub request_id: RequestId,
    pub client: Option<IpAddr>,
    pub user: ServedUser,
    pub grpc_code: Option<Code>,
    /// 0 until the answer's headers are seen.
    pub http_status: u16,
}

/// Label for REST requests no route matched, so unknown paths are one series.
const UNMATCHED: &str = "unmatched";
/// Label for gRPC paths no service implements, so made-up methods are one series.
const UNKNOWN_RPC: &str = "unknown";

impl Record {
    pub(super) fn note_headers(&mut self, status: StatusCode, headers: &HeaderMap) {
        self.http_status = status.as_u16();
        self.note_grpc_status(headers);
    }

    fn note_grpc_status(&mut self, headers: &HeaderMap) {
        if let Some(code) = headers.get("grpc-status") {
            let code = std::str::from_utf8(code.as_bytes())
                .ok()
                .and_then(|text| text.parse::<i32>().ok())
                .map_or(Code::Unknown, Code::from_i32);
            self.grpc_code = Some(code);
        }
    }

    /// Counts, times and logs the request; `cancelled` when the answer never finished.
    pub(super) fn finish(self, cancelled: bool) {
        let seconds = self.started.elapsed().as_secs_f64();
        match &self.target {
            Target::Grpc { path } => self.finish_grpc(Some(path), cancelled, seconds),
            // A gRPC call to a service that does not exist is answered by the REST router's
            // fallback (UNIMPLEMENTED): it is still a gRPC call, to no known RPC.
            Target::Rest { .. } if self.grpc_code.is_some() => {
                self.finish_grpc(None, cancelled, seconds);
            }
            Target::Rest { route, method } => {
                self.finish_rest(route.as_ref(), method, cancelled, seconds);
            }
        }
    }

    fn finish_grpc(&self, path: Option<&str>, cancelled: bool, seconds: f64) {
        let code = match (cancelled, self.grpc_code) {
            (true, None) => Code::Cancelled,
            (_, code) => code.unwrap_or(Code::Unknown),
        };
        let rpc = match (code, path) {
            (Code::Unimplemented, _) | (_, None) => UNKNOWN_RPC,
            (_, Some(path)) => path.trim_start_matches('/'),
        };
        let code = code_name(code);
        request_series::record_grpc(rpc, code, seconds);
        tracing::info!(
            target: "authd::request",
            transport = "grpc",
            rpc,
            code,
            latency_ms = milliseconds(seconds),
            client = self.client.map(tracing::field::display),
            user_id = self.user.get(),
            request_id = self.request_id.as_str(),
            "request"
        );
    }

    fn finish_rest(
        &self,
        route: Option<&MatchedPath>,
        method: &Method,
        cancelled: bool,
        seconds: f64,
    ) {
        let route = route.map_or(UNMATCHED, MatchedPath::as_str);
        let method = method_label(method);
        let status = match (cancelled, self.http_status) {
            (true, 0) => None,
            (_, status) => Some(status),
        };
        let status = request_series::record_rest(route, method, status, seconds);
        let status = &*status;
        tracing::info!(
            target: "authd::request",
            transport = "rest",
            route,
            method,
            status,
            latency_ms = milliseconds(seconds),
            client = self.client.map(tracing::field::display),
            user_id = self.user.get(),
            request_id = self.request_id.as_str(),
            "request"
        );
    }
}

/// Seconds as milliseconds to the microsecond, as log lines give latencies.
fn milliseconds(seconds: f64) -> f64 {
    (seconds * 1_000_000.0).round() / 1000.0
}

/// gRPC's own names for its codes, as `grpc-status` documentation and dashboards use them.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The method as a label: the standard ones by name, any other as `other` (a client may
/// send any token as a method).
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("other", Method::as_str)
}

/// An answer's body, finishing its request's record at its end.
pub struct Observed<B> {
    inner: B,
    record: Option<Record>,
}

impl<B: Body> Observed<B> {
    pub(super) fn new(inner: B, record: Option<Record>) -> Self {
        let mut observed = Self { inner, record };
        // hyper never polls a body that is already over.
        if observed.inner.is_end_stream() {
            observed.finish(false);
        }
        observed
    }

    fn finish(&mut self, cancelled: bool) {
        if let Some(record) = self.record.take() {
            record.finish(cancelled);
        }
    }
}

impl<B: Body + Unpin> Body for Observed<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(trailers), Some(record)) = (frame.trailers_ref(), &mut this.record) {
                    record.note_grpc_status(trailers);
                }
                if this.inner.is_end_stream() {
                    this.finish(false);
                }
            }
            Poll::Ready(Some(Err(_))) => this.finish(true),
            Poll::Ready(None) => this.finish(false),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for Observed<B> {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            record.finish(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_set_are_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        let made_up = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&made_up), "other");
    }
}
