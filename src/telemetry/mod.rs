//! What operators see of a running authd: Prometheus metrics, the log's format, and one
//! line and one set of series per request.
//!
//! - [`metrics`] — the process's recorder, the series' descriptions and buckets, and
//!   `GET /metrics`, on the main port, on a listener of its own, or off.
//! - [`requests`] — the tower layer around every gRPC service and around the REST router:
//!   it settles the request id (the caller's sane `x-request-id`, else a new one) before
//!   any handler reads it, returns it as `x-request-id`, and when the answer's last frame
//!   leaves, counts and times the request and writes its log line; `request_series`
//!   keeps each thread's handles to those series, so a request only records into them.
//! - [`logs`] — `--log-format text|json`; `batched_lines` writes the lines below WARN
//!   to stderr in one call every 50 ms instead of one call each. The user id on a
//!   request's line is the one the core names in `auth::ServedUser`.
//!
//! Nothing here decides anything about users or tokens: the core counts its own events
//! (`auth::events`) and writes its own audit lines; this module only exposes them.

mod answer;
mod batched_lines;
pub mod logs;
pub mod metrics;
mod request_series;
pub mod requests;
