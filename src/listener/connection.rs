//! One connection's life. Each stage has its deadline, and a connection whose stage runs
//! past it is closed:
//!
//! 1. Accepted → first byte: `first_byte_timeout`, waited for here (`peek`) in the
//!    connection's own task, so a silent client never holds up the accept loop. hyper's
//!    own timeouts only start once bytes arrive.
//! 2. Which protocol: up to 24 bytes tell HTTP/2's preface from HTTP/1.1, within
//!    `header_timeout`. They are read here, not by hyper-util's `auto` builder, because that
//!    waits for them without a deadline; the bytes read are handed on to hyper (`Prefixed`).
//!    With TLS, the handshake comes first and shares that deadline, so a client that
//!    trickles its handshake is closed like one that trickles its first bytes; ALPN then
//!    names the protocol (`h2` or `http/1.1`), and only a client that named none is read.
//! 3. HTTP/1.1 request headers: hyper's `header_read_timeout`, which on a kept-alive
//!    connection also bounds the wait for the next request. An HTTP/2 connection whose
//!    headers do not come has no open request, so stage 5 closes it.
//! 4. Bodies: a REST body by the gateway's `body_timeout`, a gRPC call by its service's
//!    `request_timeout`. Neither is judged here: a gRPC stream may rightly stay open (health
//!    Watch), a REST body may not.
//! 5. No open request for `idle_timeout`: a graceful close (HTTP/2 GOAWAY), and if the peer
//!    has not let the connection close within `http2_keepalive_timeout` (h2 waits for the
//!    answer to a ping before its last GOAWAY), a hard one. HTTP/2 pings every
//!    `http2_keepalive_interval` find peers that went away while streams are open.
//! 6. Shutdown: a graceful close, then the listener's grace period.

use std::{convert::Infallible, future::Future, pin::Pin, sync::Arc};
use std::{pin::pin, time::Duration};

use http::{Request, Response};
use hyper::{
    body::Incoming,
    server::conn::{http1, http2},
};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::graceful::GracefulConnection,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
    sync::watch,
    time::Instant,
};
use tonic::transport::server::TcpConnectInfo;

use super::{
    ConnectionLimits, PortService,
    activity::{Activity, Tracked},
    prefixed::{Prefixed, Protocol},
    tls::Tls,
};

/// How every connection is served: hyper's builders with the limits set, and the deadlines
/// of the stages hyper does not time.
pub(super) struct Builders {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
    first_byte: Duration,
    detect: Duration,
    idle: Duration,
    close: Duration,
}

impl Builders {
    pub(super) fn new(limits: &ConnectionLimits) -> Self {
        let mut http1 = http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_header_size(usize::try_from(limits.max_header_bytes).unwrap_or(usize::MAX));
        // Every limit explicitly: tonic 0.14's server passes `None` for the stream limits,
        // which turns off hyper's defaults (200 streams, 1024 resets).
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(limits.http2_max_concurrent_streams)
            .max_local_error_reset_streams(limits.http2_max_local_resets)
            .max_pending_accept_reset_streams(limits.http2_max_pending_resets)
            .max_header_list_size(limits.max_header_bytes)
            .keep_alive_interval(limits.http2_keepalive_interval)
            .keep_alive_timeout(limits.http2_keepalive_timeout);
        Self {
            http1,
            http2,
            first_byte: limits.first_byte_timeout,
            detect: limits.header_timeout,
            idle: limits.idle_timeout,
            close: limits.http2_keepalive_timeout,
        }
    }
}

/// Serves one accepted connection until it closes, a deadline passes, or `drain` says to
/// finish (a message) or to stop (the sender's drop).
pub(super) async fn serve(
    stream: TcpStream,
    service: impl PortService,
    builders: Arc<Builders>,
    tls: Option<Arc<Tls>>,
    mut drain: watch::Receiver<()>,
) {
    let connect_info = TcpConnectInfo {
        local_addr: stream.local_addr().ok(),
        remote_addr: stream.peer_addr().ok(),
    };
    // `peek`, not `readable()`: readiness may be reported before any byte has arrived.
    let mut first = [0; 1];
    let first_byte = tokio::time::timeout(builders.first_byte, stream.peek(&mut first));
    let arrived = tokio::select! {
        arrived = first_byte => matches!(arrived, Ok(Ok(1..))),
        _ = drain.changed() => false,
    };
    if !arrived {
        return;
    }
    let Some(tls) = tls else {
        let detected = tokio::select! {
            detected = tokio::time::timeout(builders.detect, Prefixed::detect(stream)) => detected,
            _ = drain.changed() => return,
        };
        let Ok(Ok(Some((protocol, io)))) = detected else {
            return;
        };
        return serve_http(protocol, io, service, connect_info, &builders, drain).await;
    };
    let handshake = async {
        let stream = tls.acceptor().accept(stream).await?;
        match stream.get_ref().1.alpn_protocol() {
            Some(b"h2") => Ok(Some((Protocol::Http2, Prefixed::untouched(stream)))),
            Some(_http1) => Ok(Some((Protocol::Http1, Prefixed::untouched(stream)))),
            None => Prefixed::detect(stream).await,
        }
    };
    let detected = tokio::select! {
        detected = tokio::time::timeout(builders.detect, handshake) => detected,
        _ = drain.changed() => return,
    };
    match detected {
        Ok(Ok(Some((protocol, io)))) => {
            serve_http(protocol, io, service, connect_info, &builders, drain).await;
        }
        // A client's failure (a plaintext client, an unknown CA, a handshake that stalled):
        // at debug level, or a scan would flood the log.
        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
        Ok(Ok(None)) | Err(_) => {}
    }
}

/// Serves HTTP over `io`, whose protocol is known.
async fn serve_http<I>(
    protocol: Protocol,
    io: I,
    service: impl PortService,
    connect_info: TcpConnectInfo,
    builders: &Builders,
    drain: watch::Receiver<()>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let requests = Requests {
        inner: service,
        connect_info,
        activity: activity.clone(),
    };
    let io = TokioIo::new(io);
    match protocol {
        Protocol::Http1 => {
            let connection = builders.http1.serve_connection(io, requests);
            drive(connection, &activity, builders, drain).await;
        }
        Protocol::Http2 => {
            let connection = builders.http2.serve_connection(io, requests);
            drive(connection, &activity, builders, drain).await;
        }
    }
}

/// Polls `connection` to its end, closing it when it has been idle too long or when the
/// server drains.
async fn drive<C>(
    connection: C,
    activity: &Activity,
    builders: &Builders,
    mut drain: watch::Receiver<()>,
) where
    C: GracefulConnection<Error = hyper::Error>,
{
    let mut connection = pin!(connection);
    let mut closing_since: Option<Instant> = None;
    loop {
        let idle_check = activity.idle_deadline(builders.idle);
        let give_up = closing_since.map(|since| since + builders.close);
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(error) = ended {
                    // A client's failure (a timeout, a protocol error, a reset); logged
                    // only at debug level, or an attack would flood the log.
                    tracing::debug!(%error, "connection closed with an error");
                }
                return;
            }
            () = tokio::time::sleep_until(idle_check), if closing_since.is_none() => {
                if activity.is_idle_for(builders.idle) {
                    connection.as_mut().graceful_shutdown();
                    closing_since = Some(Instant::now());
                }
            }
            () = sleep_until_some(give_up) => return,
            changed = drain.changed() => match changed {
                Ok(()) => connection.as_mut().graceful_shutdown(),
                Err(_grace_over) => return,
            },
        }
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The service hyper calls for each request: it records the peer (as tonic's server did,
/// for `Request::remote_addr()` and the REST context) and counts the request open until
/// its answer has been sent.
struct Requests<S> {
    inner: S,
    connect_info: TcpConnectInfo,
    activity: Arc<Activity>,
}

type Answer<B> = Pin<Box<dyn Future<Output = Result<Response<Tracked<B>>, Infallible>> + Send>>;

impl<S: PortService> hyper::service::Service<Request<Incoming>> for Requests<S> {
    type Response = Response<Tracked<S::Body>>;
    type Error = Infallible;
    type Future = Answer<S::Body>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(self.connect_info.clone());
        let open = self.activity.open();
        let answer = tower::ServiceExt::oneshot(self.inner.clone(), request);
        Box::pin(async move {
            let response = answer.await?;
            Ok(response.map(|body| Tracked::new(body, open)))
        })
    }
}
