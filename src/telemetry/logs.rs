//! The log's shape: `--log-format text` (the default; colours only on a terminal) or
//! `json` (one object a line, for log shippers), both on stderr, the lines below WARN
//! written in batches every 50 ms (`batched_lines`).
//!
//! A request's log line is written by `requests` after the handler has run, but the user
//! it served is known only inside the core, which names it in its spans' `user_id`
//! field. Rather than thread a slot through every handler, [`RequestUsers`] (a subscriber
//! layer) watches spans for that field and copies it into a task-local slot the request
//! layer opened around its handler. So the user id reaches the line wherever the core
//! learns it, and without this subscriber (tests in-process) the line has no user id,
//! which is also when there is no line.

use std::{
    io::{IsTerminal, Stderr},
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
};

use tracing::{
    Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_subscriber::{EnvFilter, Layer, layer::Context, prelude::*};

use super::batched_lines::BatchedLines;
pub use super::batched_lines::Flushing;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, coloured on a terminal.
    #[default]
    Text,
    /// One JSON object a line: `timestamp`, `level`, `target`, `message`, the event's
    /// fields at the top level, and the enclosing span's fields under `span`.
    Json,
}

impl LogFormat {
    /// `AUTHD_LOG_FORMAT` as the admin subcommands read it (they take no `--log-format`):
    /// `json`, or text.
    pub fn from_env() -> Self {
        match std::env::var("AUTHD_LOG_FORMAT").as_deref() {
            Ok("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// Installs the process's subscriber: `filter`, then lines in `format` on stderr, those
/// below WARN written in batches (`batched_lines`). A subscriber already installed (a
/// test's) is left in place. Keep the returned handle until the process ends: dropping it
/// writes the lines still waiting.
pub fn init(filter: EnvFilter, format: LogFormat) -> Flushing<Stderr> {
    let (stderr, flushing) = BatchedLines::start(std::io::stderr());
    let lines = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(stderr)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(RequestUsers)
        .with(lines)
        .try_init();
    flushing
}

tokio::task_local! {
    static REQUEST_USER: RequestUser;
}

/// The user a request turned out to serve, filled in by the core's spans while the
/// request's handler runs.
#[derive(Debug, Clone, Default)]
pub(super) struct RequestUser(Arc<AtomicI64>);

/// `user_id`s are positive database ids; this one means "not known".
const UNKNOWN: i64 = i64::MIN;

impl RequestUser {
    pub(super) fn new() -> Self {
        Self(Arc::new(AtomicI64::new(UNKNOWN)))
    }

    pub(super) fn get(&self) -> Option<i64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|&id| id != UNKNOWN)
    }

    /// Runs `future` with this slot as the one spans write into.
    pub(super) fn scope<F: Future>(
        &self,
        future: F,
    ) -> tokio::task::futures::TaskLocalFuture<Self, F> {
        REQUEST_USER.scope(self.clone(), future)
    }
}

/// Copies every `user_id` a span is given into the slot of the request being served.
pub struct RequestUsers;

impl<S: Subscriber> Layer<S> for RequestUsers {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, _id: &span::Id, _ctx: Context<'_, S>) {
        if attrs.metadata().fields().field(USER_ID).is_some() {
            attrs.record(&mut UserIdVisitor);
        }
    }

    fn on_record(&self, _id: &span::Id, values: &span::Record<'_>, _ctx: Context<'_, S>) {
        values.record(&mut UserIdVisitor);
    }
}

const USER_ID: &str = "user_id";

struct UserIdVisitor;

impl UserIdVisitor {
    fn note(id: i64) {
        // Outside a request (start-up work), there is no slot and nothing to note.
        let _ = REQUEST_USER.try_with(|slot| slot.0.store(id, Ordering::Relaxed));
    }
}

impl Visit for UserIdVisitor {
    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == USER_ID {
            Self::note(value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == USER_ID {
            Self::note(i64::try_from(value).unwrap_or(UNKNOWN));
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}
