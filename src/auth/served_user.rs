//! The user a request turned out to serve, for its log line.
//!
//! A request's line is written by the telemetry layer after the handler has run, but the
//! user it served is known only here, in the middle of the core. Rather than return it
//! through every method and adapter, the layer opens a [`ServedUser`] slot around the
//! handler (a task-local), and the core names the user with [`serving`] where it learns
//! them. The same call records the id in the current span, for the audit lines inside it.
//!
//! It used to travel only through spans (a subscriber layer copied every span's `user_id`
//! into the slot). That made a span per request necessary for the line to name its user,
//! and on "who am I", which needs no span for anything else, the span's bookkeeping and
//! formatting were about a tenth of the request's CPU (BENCHMARKS.md). Outside a request
//! (start-up work, tests calling the core directly) there is no slot, and nothing is noted.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

tokio::task_local! {
    static SERVED_USER: ServedUser;
}

/// A request's slot for the id of the user it serves.
#[derive(Debug, Clone)]
pub struct ServedUser(Arc<AtomicI64>);

/// `user_id`s are positive database ids; this one means "not known".
const UNKNOWN: i64 = i64::MIN;

impl ServedUser {
    pub fn new() -> Self {
        Self(Arc::new(AtomicI64::new(UNKNOWN)))
    }

    /// The user the request served, once the core has named one.
    pub fn get(&self) -> Option<i64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|&id| id != UNKNOWN)
    }

    /// Runs `future` with this slot as the one the core's `serving` writes into.
    pub fn scope<F: Future>(&self, future: F) -> tokio::task::futures::TaskLocalFuture<Self, F> {
        SERVED_USER.scope(self.clone(), future)
    }
}

impl Default for ServedUser {
    fn default() -> Self {
        Self::new()
    }
}

/// Names `user_id` as the user the current request serves: in its slot, for the request's
/// log line, and in the current span's `user_id` field, for the audit lines inside it.
pub(super) fn serving(user_id: i64) {
    tracing::Span::current().record("user_id", user_id);
    let _ = SERVED_USER.try_with(|slot| slot.0.store(user_id, Ordering::Relaxed));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_slot_holds_the_user_named_inside_its_scope() {
        let slot = ServedUser::new();
        assert_eq!(slot.get(), None);
        slot.scope(async { serving(42) }).await;
        assert_eq!(slot.get(), Some(42));
    }

    #[tokio::test]
    async fn outside_any_scope_naming_a_user_changes_nothing() {
        let slot = ServedUser::new();
        serving(7);
        assert_eq!(slot.get(), None);
    }
}
