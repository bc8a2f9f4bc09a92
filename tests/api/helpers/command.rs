//! An admin subcommand of the real `authd` binary, run to completion: its arguments, what
//! it reads on standard input, and what it printed and how it exited, for assertions.
//! It runs in a fresh working directory with the `AUTHD_*` variables of the test's own
//! environment removed, and the key-encryption key every in-process server uses, so it
//! opens the same database a `TestApp` serves.

use std::{
    io::Write,
    process::{Command, ExitStatus, Stdio},
};

use super::app::TEST_KEK;

/// How an `authd` command ended.
#[derive(Debug)]
pub struct Ran {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Asserts it succeeded; its standard output.
    pub fn ok(&self) -> &str {
        assert!(self.status.success(), "authd failed: {self:?}");
        &self.stdout
    }

    /// Asserts it failed with exit code 1 and printed nothing on standard output; its
    /// standard error.
    pub fn failed(&self) -> &str {
        assert_eq!(self.status.code(), Some(1), "{self:?}");
        assert_eq!(self.stdout, "", "{self:?}");
        &self.stderr
    }
}

/// Runs `authd ARGS` with `stdin` on its standard input (closed after it), with no
/// `AUTHD_*` variable but the test key-encryption key.
pub async fn authd(args: &[&str], stdin: &str) -> Ran {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_authd"));
    command.current_dir(dir.path()).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("AUTHD_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command.env("AUTHD_KEY_ENCRYPTION_KEY", TEST_KEK);
    let stdin = stdin.to_string();
    let output = tokio::task::spawn_blocking(move || {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start authd");
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("wait for authd")
    })
    .await
    .expect("join");
    drop(dir);
    Ran {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
