//! What the core knows about the request it is serving: when, from where, and under which id.
//!
//! Each adapter builds one [`Context`] per request, from what its transport knows (the
//! peer's socket address, the `x-forwarded-for`, `user-agent` and `x-request-id` headers or
//! metadata), through [`Auth::context`](super::Auth::context), which stamps the time from
//! the injected clock and resolves the client's address through the trusted proxies. Every
//! rule of one request then sees the same instant, and limits, audit lines and metrics find
//! the client's address and the request id here instead of in new parameters.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use tokio::time::Instant;

use super::forwarded::TrustedProxies;

/// Longest `user-agent` kept (longer ones are cut, at a character boundary).
const MAX_USER_AGENT_CHARS: usize = 256;
/// Longest `x-request-id` adopted from a caller; a longer or odd one is replaced.
const MAX_REQUEST_ID_CHARS: usize = 128;

/// What a transport knows about a request before the core sees it.
#[derive(Debug, Clone, Default)]
pub struct Caller<'a> {
    /// The TCP peer (the load balancer's address when there is one in front).
    pub peer: Option<SocketAddr>,
    /// Every `x-forwarded-for` value, in the order received, as sent (bytes: one garbled
    /// entry must not hide the others). Read only when the peer is a trusted proxy.
    pub forwarded_for: Vec<&'a [u8]>,
    pub user_agent: Option<&'a str>,
    /// The caller's `x-request-id`, adopted when it is short printable ASCII.
    pub request_id: Option<&'a str>,
    /// How long the caller will wait for an answer (gRPC's `grpc-timeout`), if it said.
    pub timeout: Option<Duration>,
}

/// One request, as the core sees it.
#[derive(Debug, Clone)]
pub struct Context {
    /// The request's instant (Unix seconds): every expiry check and every timestamp the
    /// request writes uses this one value.
    pub now: i64,
    pub peer: Option<SocketAddr>,
    /// The client's address: the peer, or what trusted proxies say they received the
    /// request from. What per-client limits and audit lines key on.
    pub client: Option<IpAddr>,
    pub user_agent: Option<Box<str>>,
    pub request_id: RequestId,
    /// When the caller stops waiting: work that would finish later (a queued password
    /// hash) is not started.
    pub deadline: Option<Instant>,
}

impl Context {
    pub(super) fn new(now: i64, caller: Caller<'_>, proxies: &TrustedProxies) -> Self {
        let request_id = caller
            .request_id
            .filter(|id| is_acceptable_request_id(id))
            .map_or_else(RequestId::generate, |id| RequestId(id.into()));
        let user_agent =
            caller.user_agent.map(
                |agent| match agent.char_indices().nth(MAX_USER_AGENT_CHARS) {
                    Some((cut, _)) => agent[..cut].into(),
                    None => agent.into(),
                },
            );
        Self {
            now,
            peer: caller.peer,
            client: proxies.client(caller.peer, &caller.forwarded_for),
            user_agent,
            request_id,
            deadline: caller.timeout.map(|timeout| Instant::now() + timeout),
        }
    }
}

/// A request's name in logs: the caller's `x-request-id` when it sent a usable one,
/// otherwise one made here (unique within this process, different across restarts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(Box<str>);

impl RequestId {
    fn generate() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        let prefix = PREFIX.get_or_init(|| {
            let mut bytes = [0u8; 4];
            // A fixed prefix only makes ids of two processes collide more often; never fatal.
            let _ = getrandom::fill(&mut bytes);
            u32::from_le_bytes(bytes)
        });
        let sequence = NEXT.fetch_add(1, Ordering::Relaxed);
        Self(format!("{prefix:08x}-{sequence:x}").into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Printable ASCII without spaces or quotes, at most [`MAX_REQUEST_ID_CHARS`]: safe to put
/// in a log line as it is.
fn is_acceptable_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usable_request_id_is_adopted() {
        let caller = Caller {
            request_id: Some("7f3c-01:a.b_c"),
            ..Caller::default()
        };
        assert_eq!(
            Context::new(5, caller, &TrustedProxies::default())
                .request_id
                .as_str(),
            "7f3c-01:a.b_c"
        );
    }

    #[test]
    fn odd_or_missing_request_ids_are_replaced_by_distinct_ones() {
        let long = "x".repeat(MAX_REQUEST_ID_CHARS + 1);
        let mut made = Vec::new();
        for sent in [
            None,
            Some(""),
            Some("two words"),
            Some("quote\""),
            Some(long.as_str()),
        ] {
            let caller = Caller {
                request_id: sent,
                ..Caller::default()
            };
            let id = Context::new(5, caller, &TrustedProxies::default()).request_id;
            assert_ne!(Some(id.as_str()), sent);
            made.push(id);
        }
        made.dedup();
        assert_eq!(made.len(), 5);
    }

    #[test]
    fn the_client_is_resolved_through_the_trusted_proxies() {
        let caller = Caller {
            peer: Some("10.0.0.1:5000".parse().unwrap()),
            forwarded_for: vec![b"203.0.113.7"],
            ..Caller::default()
        };
        let direct = Context::new(5, caller.clone(), &TrustedProxies::default());
        assert_eq!(direct.client, Some("10.0.0.1".parse().unwrap()));
        let proxies = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let proxied = Context::new(5, caller, &proxies);
        assert_eq!(proxied.client, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(proxied.peer, Some("10.0.0.1:5000".parse().unwrap()));
    }

    #[test]
    fn long_user_agents_are_cut_at_a_character_boundary() {
        let agent = "é".repeat(MAX_USER_AGENT_CHARS + 10);
        let caller = Caller {
            user_agent: Some(&agent),
            ..Caller::default()
        };
        let kept = Context::new(5, caller, &TrustedProxies::default())
            .user_agent
            .unwrap();
        assert_eq!(kept.chars().count(), MAX_USER_AGENT_CHARS);
    }
}
