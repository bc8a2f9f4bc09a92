//! The log's shape: `--log-format text` (the default; colours only on a terminal) or
//! `json` (one object a line, for log shippers), both on stderr, the lines below WARN
//! written in batches every 50 ms (`batched_lines`).
//!
//! The user id on a request's line comes from the core (`auth::ServedUser`), not from
//! the spans, so no layer here has to watch them.

use std::io::{IsTerminal, Stderr};

use tracing_subscriber::{EnvFilter, Layer, prelude::*};

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
        .with(lines)
        .try_init();
    flushing
}
