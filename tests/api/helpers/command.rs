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
    authd_with_env(args, stdin, &[("AUTHD_KEY_ENCRYPTION_KEY", TEST_KEK)]).await
}

/// As [`authd`], with exactly the `AUTHD_*` variables `env` sets.
pub async fn authd_with_env(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Ran {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_authd"));
    command.current_dir(dir.path()).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("AUTHD_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
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

/// Runs `authd ARGS` with a pseudo-terminal as its standard input, output and error, and
/// answers its prompts as an operator would: for each `(prompt, answer)`, waits (at most
/// 30 s) until the prompt appears, then types the answer and Enter. Returns how it exited
/// and everything the terminal showed, which includes whatever it echoed.
pub async fn authd_in_terminal(args: &[&str], dialogue: &[(&str, &str)]) -> (ExitStatus, String) {
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    let dialogue: Vec<(String, String)> = dialogue
        .iter()
        .map(|(prompt, answer)| (prompt.to_string(), answer.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || in_terminal(&args, &dialogue))
        .await
        .expect("join")
}

fn in_terminal(args: &[String], dialogue: &[(String, String)]) -> (ExitStatus, String) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    use std::{
        io::Read,
        sync::mpsc,
        time::{Duration, Instant},
    };

    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().expect("a UTF-8 pty name"))
        .expect("open the terminal");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_authd"));
    command.current_dir(dir.path()).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("AUTHD_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command
        .env("AUTHD_KEY_ENCRYPTION_KEY", TEST_KEK)
        .stdin(terminal.try_clone().expect("dup"))
        .stdout(terminal.try_clone().expect("dup"))
        .stderr(terminal);
    let mut child = command.spawn().expect("start authd");
    // The terminal's last copies here: once authd exits, reading the master ends.
    drop(command);

    let mut master = std::fs::File::from(master);
    let mut reader = master.try_clone().expect("dup");
    let (shown, received) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 1024];
        while let Ok(read @ 1..) = reader.read(&mut buffer) {
            if shown.send(buffer[..read].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut transcript = String::new();
    let mut answered = 0;
    let take = |transcript: &mut String, wait: Duration| match received.recv_timeout(wait) {
        Ok(chunk) => {
            transcript.push_str(&String::from_utf8_lossy(&chunk));
            true
        }
        Err(_) => false,
    };
    for (prompt, answer) in dialogue {
        while !transcript[answered..].contains(prompt.as_str()) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                take(&mut transcript, left),
                "no prompt {prompt:?}; the terminal showed {transcript:?}"
            );
        }
        answered = transcript.len();
        master
            .write_all(format!("{answer}\n").as_bytes())
            .expect("type");
    }
    let status = child.wait().expect("wait for authd");
    while take(&mut transcript, Duration::from_secs(5)) {}
    (status, transcript)
}
