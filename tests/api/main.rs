//! Integration tests: the real server on 127.0.0.1:0 over a fresh SQLite file per test,
//! called by a real tonic client over TCP. One binary, so it links once.

// clippy.toml allows unwrap/expect/panic inside #[test] functions; the helpers of this crate
// are plain functions, and a failed expectation there should stop the test loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod admin_commands;
mod admin_users;
mod algorithms;
mod api_key_bound;
mod binary;
mod connections;
mod django_consumer;
mod django_import;
mod faults;
mod grpc_web;
mod http_health;
mod identity;
mod ip_limits;
mod jwks;
mod key_rotation;
mod login;
mod login_email;
mod logout;
mod metrics;
mod no_store;
mod nodes;
mod overload;
mod postgres_tls;
mod readme_examples;
mod readme_table;
mod refresh;
mod refresh_batches;
mod refresh_grace;
mod register;
mod replays;
mod request_logs;
mod rest_account;
mod rest_common;
mod rest_cross;
mod rest_fidelity;
mod rest_jwt_api;
mod rest_token_api;
mod retention;
mod secrets;
mod service;
mod sessions;
mod startup;
mod throttling;
mod throttling_nodes;
mod tokens;
mod validate;
mod verifier;
mod verifier_validate;
