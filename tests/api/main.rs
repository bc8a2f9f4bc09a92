//! Integration tests: the real server on 127.0.0.1:0 over a fresh SQLite file per test,
//! called by a real tonic client over TCP. One binary, so it links once.

// A failed expectation in a test should stop that test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod binary;
mod faults;
mod grpc_web;
mod ip_limits;
mod jwks;
mod login;
mod logout;
mod nodes;
mod refresh;
mod register;
mod replays;
mod rest_common;
mod rest_cross;
mod rest_seed1;
mod rest_seed2;
mod service;
mod throttling;
mod throttling_nodes;
mod tokens;
