//! authd: an authentication service for gRPC shops.
//!
//! The map, with the arrows between modules running one way (adapters → core → storage;
//! `architecture_tests` fails on one that runs back):
//! - [`grpc`] — the `auth.v1.AuthService` adapter: metadata to a request context, decode,
//!   call the core, encode; errors to `tonic::Status` in one place.
//! - [`rest`] — the Django-compatible JSON endpoints on the same port, over the same core,
//!   each failure worded in its API's dialect in one place.
//! - [`auth`] — the core: register, login, refresh, logout, "who am I". All the rules about
//!   users, passwords and tokens, the limits on guessing and flooding, and nothing about
//!   transports. [`auth::model`] holds the domain's nouns, which the core and storage share.
//! - [`store`] — users, sessions, issued tokens, API keys, signing keys and failed-login
//!   counts in SQLite or PostgreSQL, as whole domain operations; it knows the core only
//!   through [`auth::model`].
//! - [`error`] — the one error type and its one choice of gRPC code and HTTP status per
//!   variant; a leaf.
//! - [`clock`] — time as a parameter, so expiry is testable without sleeping; a leaf.
//! - [`utc`] — Unix seconds as ISO 8601 UTC text, for REST bodies and the shell; a leaf.
//! - [`server`] — builds the state and composes every service (and grpc-web) for one port.
//! - [`listener`] — every TCP connection of that port, accept to close: the connection cap,
//!   a deadline for each stage, the HTTP/2 limits, and TLS when configured (its certificate
//!   reloaded on SIGHUP and file changes); it knows no service, only HTTP.
//! - [`telemetry`] — what operators see: Prometheus series at `/metrics`, the log's
//!   format, and one log line per request with its request id; the core counts its own
//!   events ([`auth::events`]) through the `metrics` facade.
//! - [`config`] — every setting, from flags or `AUTHD_*` variables.
//! - [`cli`] — the command line: serving (the default) or one admin subcommand.
//! - [`admin`] — the admin subcommands (`migrate`, `users …`, `sessions …`, `keys …`,
//!   `tokens purge`): an adapter
//!   over the same core, for the shell.
//! - [`pruning`] — the task `serve` runs to delete records past `--retention`.
//! - [`key_file`] — where the key-encryption key comes from: a setting, or a file
//!   generated on first start.
//! - [`cors`] — CORS for the browser origins an operator allows.
//! - [`demo`] — the demo page at `/`, built from `web/` and embedded in the binary.
//! - [`pb`] — code generated from `proto/auth/v1/auth.proto`.

pub mod admin;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cors;
pub mod demo;
pub mod error;
pub mod grpc;
pub mod key_file;
pub mod listener;
pub mod pruning;
pub mod rest;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod utc;

#[cfg(test)]
mod architecture_tests;

/// Generated from `proto/auth/v1/auth.proto`, the public contract.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod pb {
    tonic::include_proto!("auth.v1");

    /// The encoded descriptors of `auth.v1`, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("auth_descriptor");
}
