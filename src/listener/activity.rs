//! Whether a connection has an open request, and since when it has had none: what the
//! idle timeout measures.
//!
//! A request counts as open from the moment hyper hands it over until its answer's body
//! has been sent or dropped ([`Tracked`] carries the count), so a health Watch stream keeps
//! its connection open however quiet it is, and a connection whose only traffic is pings
//! does not. The count is two atomic operations per request; the connection's task reads
//! it only when its idle deadline comes, instead of being woken by every request.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use http_body::{Body, Frame, SizeHint};

pub(super) struct Activity {
    /// Requests handed to the service whose answers are not yet sent.
    open: AtomicUsize,
    /// When the last open request ended (or the connection began), as milliseconds after
    /// `began`.
    quiet_since: AtomicU64,
    began: Instant,
}

impl Activity {
    pub(super) fn new() -> Self {
        Self {
            open: AtomicUsize::new(0),
            quiet_since: AtomicU64::new(0),
            began: Instant::now(),
        }
    }

    /// Counts a request open until the returned guard is dropped.
    pub(super) fn open(self: &Arc<Self>) -> Open {
        self.open.fetch_add(1, SeqCst);
        Open(self.clone())
    }

    /// When the connection will have been idle for `idle`, as far as is known now (with a
    /// request open: `idle` from now, when it is worth looking again).
    pub(super) fn idle_deadline(&self, idle: Duration) -> tokio::time::Instant {
        let from = match self.open.load(SeqCst) {
            0 => self.quiet_since(),
            _ => Instant::now(),
        };
        tokio::time::Instant::from_std(from + idle)
    }

    pub(super) fn is_idle_for(&self, idle: Duration) -> bool {
        self.open.load(SeqCst) == 0 && self.quiet_since().elapsed() >= idle
    }

    fn quiet_since(&self) -> Instant {
        self.began + Duration::from_millis(self.quiet_since.load(SeqCst))
    }
}

/// One open request; dropping it ends it.
pub(super) struct Open(Arc<Activity>);

impl Drop for Open {
    fn drop(&mut self) {
        let activity = &self.0;
        let now = u64::try_from(activity.began.elapsed().as_millis()).unwrap_or(u64::MAX);
        // The time first, then the count: whoever sees the count at zero sees this time.
        activity.quiet_since.store(now, SeqCst);
        activity.open.fetch_sub(1, SeqCst);
    }
}

/// An answer's body, holding its request open until hyper has sent or dropped it.
pub(super) struct Tracked<B> {
    body: B,
    _open: Open,
}

impl<B> Tracked<B> {
    pub(super) fn new(body: B, open: Open) -> Self {
        Self { body, _open: open }
    }
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_idle_only_with_no_request_open() {
        let activity = Arc::new(Activity::new());
        assert!(activity.is_idle_for(Duration::ZERO));
        let first = activity.open();
        let second = activity.open();
        assert!(!activity.is_idle_for(Duration::ZERO));
        drop(first);
        assert!(!activity.is_idle_for(Duration::ZERO));
        drop(second);
        assert!(activity.is_idle_for(Duration::ZERO));
        assert!(!activity.is_idle_for(Duration::from_secs(3600)));
    }
}
