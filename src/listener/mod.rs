//! Every TCP connection of the port, from `accept` to close: a cap on how many are open, a
//! deadline for each stage, and the HTTP/2 limits, all set here and nowhere else.
//!
//! authd owns this loop instead of handing the listener to tonic's server, because that
//! server cannot be made safe from outside: its accept loop retries at once when `accept`
//! fails (at the file limit it spins a core and answers no one), a connection that never
//! sends a byte is held forever (hyper's header timeout starts at the first byte), nothing
//! closes a connection with no open request, and it passes hyper no HTTP/2 stream limits.
//! So each connection is served here with hyper's own HTTP/1.1 and HTTP/2 builders:
//! - A connection holds a permit from a semaphore of `max_connections` until it closes.
//!   When none is free, authd stops accepting: new clients wait in the kernel's listen
//!   queue and are served as soon as a connection closes, instead of being accepted only
//!   to be closed (which costs a descriptor and tells a load balancer nothing more).
//! - `accept` errors that belong to one client (it reset, it gave up) are skipped; any other
//!   (out of descriptors: `EMFILE`/`ENFILE`, out of memory: `ENOMEM`/`ENOBUFS`) backs off,
//!   5 ms doubling to 1 s, so the open connections keep being served meanwhile.
//! - The stages of one connection, each with its deadline, are in `connection`; TLS, when
//!   configured, is one of them, with the certificate and its reloading in [`tls`].
//!
//! Nothing here knows about gRPC or REST: it serves one tower service, and records tonic's
//! [`TcpConnectInfo`](tonic::transport::server::TcpConnectInfo) on every request, as tonic's
//! server did, so `Request::remote_addr()` and the REST context still see the peer.

mod activity;
mod connection;
mod prefixed;
pub mod tls;

use std::{convert::Infallible, error::Error as StdError, future::Future, pin::pin, sync::Arc};
use std::{io, time::Duration};

use http::{Request, Response};
use hyper::body::Incoming;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Semaphore, watch},
};

use connection::Builders;
pub use tls::{Tls, TlsSettings};

/// The limits of the port: what one connection, one request and all of them together may
/// make authd hold, and for how long. Built from the settings by `Config::connection_limits`.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Most connections open at once; past it, new ones wait in the listen queue.
    pub max_connections: usize,
    /// From accept to the first byte.
    pub first_byte_timeout: Duration,
    /// For the bytes that say which protocol a connection speaks, and for each HTTP/1.1
    /// request's headers (on a kept-alive connection, counted from the previous answer).
    pub header_timeout: Duration,
    /// For a REST request's body, from its headers (applied by the REST gateway).
    pub body_timeout: Duration,
    /// For a gRPC call, from its headers to the beginning of its answer (applied to each
    /// gRPC service).
    pub request_timeout: Duration,
    /// How long a connection with no open request stays open.
    pub idle_timeout: Duration,
    /// How often a quiet HTTP/2 connection is pinged.
    pub http2_keepalive_interval: Duration,
    /// How long a ping (and a graceful close) may wait for the peer's answer.
    pub http2_keepalive_timeout: Duration,
    /// Most streams open at once on one HTTP/2 connection (`SETTINGS_MAX_CONCURRENT_STREAMS`).
    pub http2_max_concurrent_streams: u32,
    /// Most streams authd may reset on one HTTP/2 connection for the client's protocol
    /// errors (refusals included) before it sends GOAWAY.
    pub http2_max_local_resets: usize,
    /// Most streams a client may open and reset before authd has taken them up.
    pub http2_max_pending_resets: usize,
    /// Largest request header section, HTTP/1.1 and HTTP/2 alike.
    pub max_header_bytes: u32,
    /// Largest REST body or gRPC message (applied by the REST gateway and each gRPC service).
    pub max_message_bytes: usize,
}

/// What the port serves: one tower service, cloned for each connection, answering every
/// request (it cannot fail: an error is an answer).
pub trait PortService:
    tower::Service<
        Request<Incoming>,
        Response = Response<Self::Body>,
        Error = Infallible,
        Future: Send,
    > + Clone
    + Send
    + 'static
{
    type Body: AnswerBody;
}

impl<S, B> PortService for S
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible, Future: Send>
        + Clone
        + Send
        + 'static,
    B: AnswerBody,
{
    type Body = B;
}

/// The body of an answer, as hyper sends it from the connection's tasks.
pub trait AnswerBody:
    http_body::Body<Data: Send, Error: Into<Box<dyn StdError + Send + Sync>>> + Unpin + Send + 'static
{
}

impl<B> AnswerBody for B where
    B: http_body::Body<Data: Send, Error: Into<Box<dyn StdError + Send + Sync>>>
        + Unpin
        + Send
        + 'static
{
}

/// Serves `service` on every connection `listener` accepts until `shutdown` completes; then
/// stops accepting, asks every connection to finish (HTTP/2 GOAWAY; HTTP/1.1 closes after
/// the answer in progress), and closes whatever is still open after `grace`. With `tls`,
/// every connection is TLS.
pub async fn serve(
    listener: TcpListener,
    service: impl PortService,
    limits: &ConnectionLimits,
    tls: Option<Arc<Tls>>,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let builders = Arc::new(Builders::new(limits));
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    // Every connection holds a receiver: a message asks it to finish, the sender's drop
    // closes it, and the sender learns when the last one is gone.
    let (draining, drain) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    let mut backoff = Backoff::default();
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            stream = accept(&listener, &mut backoff) => stream,
            () = &mut shutdown => break,
        };
        // Unary calls are small writes: with Nagle's algorithm each waits ~40 ms for an ACK.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let connection = connection::serve(
            stream,
            service.clone(),
            builders.clone(),
            tls.clone(),
            drain.clone(),
        );
        tokio::spawn(async move {
            connection.await;
            drop(permit);
        });
    }
    // From here the kernel refuses new connections instead of queueing them unserved.
    drop(listener);
    drop(drain);
    let _ = draining.send(());
    tokio::select! {
        () = draining.closed() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(?grace, "requests still open after the grace period; closing them");
        }
    }
}

/// The next connection, waiting out errors that are not that connection's own.
async fn accept(listener: &TcpListener, backoff: &mut Backoff) -> TcpStream {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                backoff.reset();
                return stream;
            }
            Err(error) if one_clients_error(&error) => {
                tracing::debug!(%error, "a connection failed before it was accepted");
            }
            Err(error) => tokio::time::sleep(backoff.next(&error)).await,
        }
    }
}

/// Errors of the one connection being accepted (accept(2) lists the network ones as
/// "treat like EAGAIN"); the next `accept` may succeed at once.
fn one_clients_error(error: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionAborted
            | ConnectionReset
            | Interrupted
            | WouldBlock
            | NetworkDown
            | NetworkUnreachable
            | HostUnreachable
    )
}

/// How long to wait before the next `accept` while they keep failing.
#[derive(Debug, Default)]
struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_secs(1);

    fn next(&mut self, error: &io::Error) -> Duration {
        let pause = self.next.unwrap_or(Self::FIRST);
        if self.next.is_none() {
            // Once per episode: at the file limit this would otherwise log 100 lines a second.
            tracing::warn!(%error, "cannot accept connections (file or memory limit?); backing off");
        }
        self.next = Some((pause * 2).min(Self::MAX));
        pause
    }

    fn reset(&mut self) {
        if self.next.take().is_some() {
            tracing::info!("accepting connections again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_second_and_starts_over_after_a_success() {
        let mut backoff = Backoff::default();
        let error = io::Error::from_raw_os_error(24); // EMFILE
        let pauses: Vec<u128> = (0..10).map(|_| backoff.next(&error).as_millis()).collect();
        assert_eq!(pauses, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.next(&error), Duration::from_millis(5));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn only_one_clients_failures_are_retried_at_once() {
        for (errno, retried_at_once) in [(24, false), (23, false), (12, false), (105, false)] {
            let error = io::Error::from_raw_os_error(errno); // EMFILE ENFILE ENOMEM ENOBUFS
            assert_eq!(one_clients_error(&error), retried_at_once, "{error}");
        }
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert!(one_clients_error(&aborted));
    }
}
