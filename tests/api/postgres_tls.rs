//! TLS to PostgreSQL, against a real server of the test's own: a throwaway cluster
//! (`initdb` into a temporary directory, started on a free port) with `ssl = on` and a
//! certificate signed by a CA made in the test, and a `pg_hba.conf` that accepts TCP
//! clients only over TLS, so a connection that works is one that used TLS. The suite's
//! shared server is never reconfigured. The PostgreSQL binaries are those `.ci/postgres`
//! installs; as root (CI), the cluster runs as the `postgres` user, since `initdb` refuses
//! root.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
};

use crate::helpers::{ServerCert, TestApp, TestCa, count, refused_start};

/// A PostgreSQL server in a temporary directory, stopped when dropped.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
}

/// The newest installed PostgreSQL's `bin` directory.
fn postgres_bin() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let newest = std::fs::read_dir(root)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .max()
        .unwrap_or_else(|| {
            panic!(
                "no PostgreSQL in {} (bash .ci/postgres installs it)",
                root.display()
            )
        });
    root.join(newest.to_string()).join("bin")
}

fn as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `program` with `args`, as the `postgres` user when the test runs as root.
fn as_postgres(program: &Path, args: &[&str]) -> Command {
    let mut command = if as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    command.args(args);
    command
}

fn run(mut command: Command) {
    let output = command.output().expect("run a PostgreSQL tool");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Hands `path` to the `postgres` user when the test runs as root.
fn give_to_postgres(path: &Path) {
    if as_root() {
        let mut chown = Command::new("chown");
        chown.args(["-R", "postgres:postgres"]).arg(path);
        run(chown);
    }
}

impl Cluster {
    /// A new cluster with `hba` as its `pg_hba.conf`, started with `settings` (`-c` pairs),
    /// and with `cert` as its server certificate when given.
    fn start(cert: Option<&ServerCert>, hba: &str, settings: &[&str]) -> Cluster {
        let bin = postgres_bin();
        let dir = tempfile::tempdir().unwrap();
        give_to_postgres(dir.path());
        let data = dir.path().join("data");
        let data_arg = data.to_str().unwrap();
        run(as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                data_arg,
                "--auth=trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        ));
        if let Some(cert) = cert {
            std::fs::write(data.join("server.crt"), &cert.cert_pem).unwrap();
            std::fs::write(data.join("server.key"), &cert.key_pem).unwrap();
            use std::os::unix::fs::PermissionsExt;
            let owner_only = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(data.join("server.key"), owner_only).unwrap();
        }
        std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
        give_to_postgres(&data);
        // A free port, found by binding it; PostgreSQL takes it a moment later.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut options = format!(
            "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
            dir.path().display()
        );
        for setting in settings {
            options.push_str(" -c ");
            options.push_str(setting);
        }
        let log = dir.path().join("postgres.log");
        run(as_postgres(
            &bin.join("pg_ctl"),
            &[
                "-D",
                data_arg,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "30",
                "-o",
                &options,
                "start",
            ],
        ));
        Cluster {
            bin,
            data,
            port,
            dir,
        }
    }

    fn url(&self, query: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?{query}",
            self.port
        )
    }

    /// Writes `text` to a file of the test's own and returns its path.
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data.to_str().unwrap_or_default().to_string();
        let _ = as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", &data, "-m", "immediate", "stop"],
        )
        .output();
    }
}

const TLS_ONLY: &str = "local all all trust\nhostssl all all 127.0.0.1/32 trust\n";

#[tokio::test]
#[ignore = "needs the PostgreSQL binaries: scripts/test.sh runs it in its PostgreSQL pass"]
async fn authd_reaches_postgresql_over_tls_verifying_the_servers_certificate() {
    let ca = TestCa::new("database CA");
    let cert = ca.server_cert("postgres", &["127.0.0.1", "localhost"]);
    let cluster = Cluster::start(
        Some(&cert),
        TLS_ONLY,
        &[
            "ssl=on",
            "ssl_cert_file=server.crt",
            "ssl_key_file=server.key",
        ],
    );
    let ca_file = cluster.file("ca.pem", &ca.pem());
    let url = cluster.url(&format!("sslmode=verify-full&sslrootcert={ca_file}"));

    let app = TestApp::spawn_on(&url, &[]).await;
    app.signed_in("tls-db-user").await;
    let stored = count(
        &app.db,
        "SELECT COUNT(*) FROM users WHERE username = 'tls-db-user'",
    )
    .await;
    assert_eq!(stored, 1);
    let over_tls = count(
        &app.db,
        "SELECT COUNT(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
         WHERE ssl AND backend_type = 'client backend'",
    )
    .await;
    assert!(over_tls >= 2, "authd's pool and the test's: {over_tls}");
    app.stop().await;

    // The server takes TCP clients over TLS only…
    let dir = tempfile::tempdir().unwrap();
    let plain = cluster.url("sslmode=disable");
    let log = refused_start(dir.path(), &["--database-url", &plain], &[]).await;
    assert!(log.contains("no encryption"), "{log}");
    // …and authd checks whom it talks to: a CA that did not sign the server's certificate.
    let stranger = cluster.file("stranger.pem", &TestCa::new("another CA").pem());
    let unverified = cluster.url(&format!("sslmode=verify-full&sslrootcert={stranger}"));
    let log = refused_start(dir.path(), &["--database-url", &unverified], &[]).await;
    assert!(log.contains("certificate"), "{log}");
}

#[tokio::test]
#[ignore = "needs the PostgreSQL binaries: scripts/test.sh runs it in its PostgreSQL pass"]
async fn sslmode_require_against_a_server_without_tls_refuses_to_start_and_says_why() {
    let cluster = Cluster::start(None, "host all all 127.0.0.1/32 trust\n", &["ssl=off"]);
    let dir = tempfile::tempdir().unwrap();
    let url = cluster.url("sslmode=require");
    let log = refused_start(dir.path(), &["--database-url", &url], &[]).await;
    assert!(log.contains("does not support TLS"), "{log}");
    // The same server without `sslmode` is reachable: the refusal was about TLS.
    let app = TestApp::spawn_on(&cluster.url("sslmode=disable"), &[]).await;
    app.signed_in("plain-db-user").await;
}
