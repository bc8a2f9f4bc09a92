//! Generates the client half of `auth.v1` from authd's own contract (`../proto`), for the
//! ValidateToken mode. Only the client: this crate never serves authd's API.
//!
//! protoc comes from the `protoc-bin-vendored` crate unless `PROTOC` is set.

use std::{env, error::Error};

fn main() -> Result<(), Box<dyn Error>> {
    // tonic-prost-build prints no rerun-if-changed of its own.
    println!("cargo:rerun-if-changed=../proto");
    let mut config = tonic_prost_build::Config::new();
    match env::var_os("PROTOC") {
        Some(protoc) => config.protoc_executable(protoc),
        None => config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?),
    };
    tonic_prost_build::configure()
        .build_server(false)
        .build_transport(false)
        .compile_with_config(config, &["../proto/auth/v1/auth.proto"], &["../proto"])?;
    Ok(())
}
