//! authd: an authentication service for gRPC shops.
//!
//! The map:
//! - [`auth`] — the core: register, login, refresh, logout, "who am I". All the rules about
//!   users, passwords and tokens, and nothing about transports.
//! - [`store`] — users, sessions, issued tokens and signing keys in the database, as whole
//!   domain operations.
//! - [`grpc`] — the `auth.v1.AuthService` adapter: decode, call the core, encode.
//! - [`rest`] — the Django-compatible JSON endpoints on the same port, over the same core.
//! - [`error`] — the one error type and its one mapping to gRPC codes and HTTP statuses.
//! - [`server`] — builds the state and serves every service (and grpc-web) on one listener.
//! - [`web`] — CORS for the browser origins an operator allows.
//! - [`demo`] — the demo page at `/`, built from `web/` and embedded in the binary.
//! - [`config`] — every setting, from flags or `AUTHD_*` variables.
//! - [`clock`] — time as a parameter, so expiry is testable without sleeping.
//! - [`pb`] — code generated from `proto/auth/v1/auth.proto`.

pub mod auth;
pub mod clock;
pub mod config;
pub mod cors;
pub mod demo;
pub mod error;
pub mod grpc;
pub mod rest;
pub mod server;
pub mod store;

/// Generated from `proto/auth/v1/auth.proto`, the public contract.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod pb {
    tonic::include_proto!("auth.v1");

    /// The encoded descriptors of `auth.v1`, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("auth_descriptor");
}
