//! The pruning `authd serve` does on its own: every `--prune-interval`, the records that
//! ended more than `--retention` ago are deleted, by the same core function as
//! `authd tokens purge` ([`Auth::purge_ended`], in small batches).
//!
//! A task beside the server, not work riding on requests: no request waits for a purge, and
//! an idle node still prunes. The interval is real time; what counts as old is the core's
//! clock, so a test moves its manual clock and the next tick prunes by it. Every node of a
//! cluster prunes; the deletes are idempotent, so two nodes at once only share the work.
//! A failure is logged and retried at the next tick, never fatal to serving.

use std::{sync::Arc, time::Duration};

use tokio::task::JoinHandle;

use crate::auth::Auth;

/// When and what to prune.
#[derive(Debug, Clone, Copy)]
pub struct Pruning {
    /// How often; `None`: never.
    pub interval: Option<Duration>,
    /// Seconds a record is kept after it ended.
    pub retention: i64,
}

/// Starts the pruning task, if pruning is on; abort the handle to stop it.
pub fn spawn(auth: Arc<Auth>, pruning: Pruning) -> Option<JoinHandle<()>> {
    let interval = pruning.interval?;
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate: a node that was down for a while catches up at start.
        loop {
            ticks.tick().await;
            match auth.purge_ended(pruning.retention).await {
                Ok(purged) if purged == Default::default() => {}
                Ok(purged) => tracing::info!(
                    sessions = purged.sessions,
                    tokens = purged.tokens,
                    api_keys = purged.api_keys,
                    login_attempts = purged.login_attempts,
                    "pruned records past retention"
                ),
                Err(error) => tracing::warn!(error = %error.with_cause(), "pruning records"),
            }
        }
    }))
}
