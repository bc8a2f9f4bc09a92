//! `Node`: the real `authd` binary as a child process, on 127.0.0.1:0. It learns its
//! address from the file `--address-file` names, never from the log text, and collects
//! its stderr for assertions (and, with `TEST_LOG`, for the output of a failing test).

use std::{
    net::SocketAddr,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use authd::pb::auth_service_client::AuthServiceClient;
use tonic::transport::Channel;

use super::test_log;

const STARTUP_LIMIT: Duration = Duration::from_secs(30);
const POLL_EVERY: Duration = Duration::from_millis(20);

/// An `authd` process, killed when dropped.
pub struct Node {
    pub address: String,
    child: Option<Child>,
    log: Arc<Mutex<String>>,
    /// Reads stderr into `log` until the process closes it.
    reader: Option<JoinHandle<()>>,
    /// Holds the address file, one per node even when nodes share a working directory.
    _run: tempfile::TempDir,
}

impl Node {
    /// Starts the binary in `dir` with `args` (after `--listen 127.0.0.1:0` and
    /// `--address-file`) and waits, at most 30 s, for it to write its address; fails at
    /// once, with its log, if it exits first.
    pub async fn start(dir: &Path, args: &[&str]) -> Node {
        Self::start_with_env(dir, args, &[("AUTHD_LOG", Some("info"))]).await
    }

    /// As [`Node::start`], with `env` set (`Some`) or removed (`None`) instead of the
    /// default `AUTHD_LOG=info`.
    pub async fn start_with_env(dir: &Path, args: &[&str], env: &[(&str, Option<&str>)]) -> Node {
        Self::start_command(Command::new(env!("CARGO_BIN_EXE_authd")), dir, args, env).await
    }

    /// Starts `authd serve` (the subcommand, rather than no subcommand) as [`Node::start`]
    /// starts `authd`.
    pub async fn start_serving(dir: &Path, args: &[&str]) -> Node {
        let mut command = Command::new(env!("CARGO_BIN_EXE_authd"));
        command.arg("serve");
        Self::start_command(command, dir, args, &[("AUTHD_LOG", Some("info"))]).await
    }

    /// Starts the binary as [`Node::start`] does, under the file-creation mask `umask`
    /// (set by a shell that then execs authd).
    pub async fn start_with_umask(umask: &str, dir: &Path, args: &[&str]) -> Node {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_authd"));
        Self::start_command(command, dir, args, &[("AUTHD_LOG", Some("info"))]).await
    }

    async fn start_command(
        mut command: Command,
        dir: &Path,
        args: &[&str],
        env: &[(&str, Option<&str>)],
    ) -> Node {
        let run = tempfile::tempdir().expect("temp dir");
        let address_file = run.path().join("address");
        command
            .current_dir(dir)
            .args(["--listen", "127.0.0.1:0"])
            .arg("--address-file")
            .arg(&address_file)
            .args(args)
            .env_remove("AUTHD_DATABASE_URL")
            .env_remove("AUTHD_LOG")
            .env_remove("RUST_LOG")
            .env_remove("AUTHD_KEY_ENCRYPTION_KEY")
            .env_remove("AUTHD_KEY_ENCRYPTION_KEY_FILE");
        for (name, value) in env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let mut child = command.stderr(Stdio::piped()).spawn().expect("start authd");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let mut node = Node {
            address: String::new(),
            child: Some(child),
            log,
            reader: Some(reader),
            _run: run,
        };
        node.address = node.wait_for_address(&address_file).await;
        node
    }

    async fn wait_for_address(&mut self, file: &Path) -> String {
        let deadline = Instant::now() + STARTUP_LIMIT;
        loop {
            // authd writes the file whole (a temporary file, then a rename).
            if let Ok(text) = std::fs::read_to_string(file) {
                let address = text.strip_suffix('\n').unwrap_or_default();
                assert!(
                    address.parse::<SocketAddr>().is_ok(),
                    "the address file holds {text:?}, not an address and a newline"
                );
                return address.to_string();
            }
            let exited = self.child.as_mut().map(Child::try_wait);
            if let Some(Ok(Some(status))) = exited {
                self.finish_reading();
                panic!(
                    "authd exited with {status} before listening:\n{}",
                    self.log()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "authd did not write {} within {STARTUP_LIMIT:?}:\n{}",
                    file.display(),
                    self.log()
                );
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Waits until the log holds everything the process wrote (only once it has exited).
    pub fn finish_reading(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    /// What the process wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    /// The process id, for tests that look at the process itself (its limits, its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("a running node")
    }

    pub async fn client(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::connect(format!("http://{}", self.address))
            .await
            .expect("connect to authd")
    }

    /// Sends SIGHUP (reload the TLS files).
    pub fn hang_up(&self) {
        let sent = Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status();
        assert!(sent.expect("kill").success());
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn terminate(&mut self) -> ExitStatus {
        let pid = self
            .child
            .as_ref()
            .expect("a running node")
            .id()
            .to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.expect("kill").success());
        let mut child = self.child.take().expect("a running node");
        tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("join")
            .expect("wait for authd")
    }
}

/// Starts the binary in `dir` with `args` and the environment `env`, expecting it to refuse
/// to start: waits (at most 30 s) for it to exit, asserts it failed, returns its stderr.
pub async fn refused_start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_authd"))
        .current_dir(dir)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("AUTHD_DATABASE_URL")
        .env_remove("AUTHD_KEY_ENCRYPTION_KEY")
        .env_remove("AUTHD_KEY_ENCRYPTION_KEY_FILE")
        .envs(env.iter().copied())
        .env("AUTHD_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start authd");
    let deadline = Instant::now() + STARTUP_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for authd") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("authd did not exit within {STARTUP_LIMIT:?}");
        }
        tokio::time::sleep(POLL_EVERY).await;
    };
    let mut log = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        std::io::Read::read_to_string(&mut stderr, &mut log).expect("read stderr");
    }
    assert!(!status.success(), "authd started:\n{log}");
    log
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // A node that failed to start already put its log in the panic message.
        if std::thread::panicking() && test_log::enabled() && self.reader.is_some() {
            self.finish_reading();
            eprintln!("---- stderr of authd {} ----\n{}", self.address, self.log());
        }
    }
}
