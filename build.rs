//! Generates the gRPC code and the descriptor set (for server reflection) from `proto/`.
//!
//! protoc comes from the `protoc-bin-vendored` crate unless `PROTOC` is set, so a new machine
//! needs nothing outside Cargo. Messages that carry a password or a token get a hand-written,
//! redacting `Debug` (in `src/grpc/redact.rs`) instead of the derived one, so no log line can
//! ever print one whole.

use std::{env, error::Error, path::PathBuf};

const SECRET_BEARING_MESSAGES: [&str; 7] = [
    "auth.v1.RegisterRequest",
    "auth.v1.LoginRequest",
    "auth.v1.LoginResponse",
    "auth.v1.RefreshRequest",
    "auth.v1.RefreshResponse",
    "auth.v1.LogoutRequest",
    "auth.v1.TokenPair",
];

fn main() -> Result<(), Box<dyn Error>> {
    // tonic-prost-build prints no rerun-if-changed of its own: without this, editing a
    // .proto would not rebuild.
    println!("cargo:rerun-if-changed=proto");
    // `sqlx::migrate!` embeds the migrations at compile time: a new migration file must
    // rebuild, as sqlx's documentation advises.
    println!("cargo:rerun-if-changed=migrations");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let mut config = tonic_prost_build::Config::new();
    match env::var_os("PROTOC") {
        Some(protoc) => config.protoc_executable(protoc),
        None => config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?),
    };
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("auth_descriptor.bin"))
        .skip_debug(SECRET_BEARING_MESSAGES)
        .compile_with_config(config, &["proto/auth/v1/auth.proto"], &["proto"])?;
    Ok(())
}
