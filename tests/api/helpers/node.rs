//! `Node`: the real `authd` binary as a child process, on 127.0.0.1:0, with its stderr
//! collected for assertions.

use std::sync::Arc;

use authd::pb::auth_service_client::AuthServiceClient;
use tonic::transport::Channel;

/// An `authd` process (the real binary), listening on an ephemeral port. Its stderr is
/// collected in the background; it is killed when dropped.
pub struct Node {
    pub address: String,
    child: Option<std::process::Child>,
    log: Arc<std::sync::Mutex<String>>,
}

impl Node {
    /// Starts the binary in `dir` with `args` (after `--listen 127.0.0.1:0`) and waits, at
    /// most 30 s, for the line that names its address.
    pub async fn start(dir: &std::path::Path, args: &[&str]) -> Node {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_authd"))
            .current_dir(dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("AUTHD_DATABASE_URL")
            .env("AUTHD_LOG", "info")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start authd");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(std::sync::Mutex::new(String::new()));
        let (found, address) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(address) = line.split("address=").nth(1) {
                    let _ = found.send(address.trim().to_string());
                }
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let address = tokio::task::spawn_blocking(move || {
            address.recv_timeout(std::time::Duration::from_secs(30))
        })
        .await
        .expect("join");
        let mut node = Node {
            address: String::new(),
            child: Some(child),
            log,
        };
        match address {
            Ok(address) => node.address = address,
            Err(_) => panic!("authd did not start within 30 s:\n{}", node.log()),
        }
        node
    }

    pub fn log(&self) -> String {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    pub async fn client(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::connect(format!("http://{}", self.address))
            .await
            .expect("connect to authd")
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("a running node");
        let pid = child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        assert!(sent.expect("kill").success());
        tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("join")
            .expect("wait for authd")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
