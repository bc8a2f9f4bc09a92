//! What the integration tests share, one concern per file: [`app`] starts authd in-process,
//! [`database`] makes the fresh database each test gets and reads it back, [`grpc`] and
//! [`rest`] call the server as clients do, [`scrape`] reads `/metrics`, [`guarded`] runs
//! services behind `authd-verify`, [`certs`] makes the certificates TLS tests serve and
//! trust, [`node`] runs the real binary as a server, [`command`] runs its admin
//! subcommands, [`values`] holds the expected values and shapes several tests check,
//! [`test_log`] is the `TEST_LOG` switch.
//! Tests import everything from here (`use crate::helpers::{...}`).
//!
//! `TEST_LOG`: by default the servers' logs are dropped. With `TEST_LOG=1 cargo test ...`
//! (or a filter, e.g. `TEST_LOG=authd=debug`), in-process servers log through cargo's test
//! writer, so a failing test shows its servers' logs and a passing one shows nothing, and a
//! failing test prints the stderr of the `authd` processes it started.

mod app;
mod certs;
mod command;
mod database;
mod grpc;
mod guarded;
mod node;
mod rest;
mod scrape;
mod test_log;
mod values;

pub use app::{TEST_KEK, TestApp};
pub use certs::{ServerCert, TestCa, write_whole};
pub use command::{Ran, authd, authd_in_terminal, authd_with_env};
pub use database::{count, fresh_database, postgres_database, require_postgres, rows, scalars};
pub use grpc::{assert_unauthenticated, pairs, violations};
pub use guarded::{AppClock, guarded_grpc, guarded_http, health_check, intercepted_grpc, jwks_url};
pub use node::{Node, refused_start};
pub use rest::{
    RestReply, api_create, api_token, assert_security_headers, auth_login, get_with_auth, http,
    post_form, post_json, post_raw, send,
};
pub use scrape::Scrape;
pub use values::{
    BLANK, INVALID_USERNAME, PASSWORD, REQUIRED, is_lower_hex, is_utc_timestamp, jwt_parts,
};
