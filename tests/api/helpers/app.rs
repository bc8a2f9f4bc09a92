//! `TestApp`: authd started in-process exactly as `main` starts it (the same `server::build`
//! and `server::run`) on 127.0.0.1:0, over a fresh database, with a manual clock the test
//! moves. It owns starting, stopping and restarting the server; how to call it lives in
//! `grpc` and `rest`, how its database is made in `database`.

use std::{net::SocketAddr, sync::Arc};

use authd::{clock::ManualClock, config::Config, server};
use clap::Parser;
use sqlx::AnyPool;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use super::{database, test_log};

/// The key-encryption key of every in-process server not given another.
pub const TEST_KEK: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub struct TestApp {
    pub address: SocketAddr,
    pub clock: ManualClock,
    /// The server's database, for assertions (either backend, through sqlx's Any driver).
    pub db: AnyPool,
    database_url: String,
    /// The extra flags it was spawned with, so a restart starts the same server.
    flags: Vec<String>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// Starts the server with extra command-line flags (e.g. token lifetimes).
    pub async fn spawn_with(flags: &[&str]) -> TestApp {
        Self::spawn_fresh(flags, ManualClock::starting_now()).await
    }

    /// Starts the server with its clock at `seconds` since the Unix epoch, for tests that
    /// expect literal times. Tokens it signs then do not verify against the system clock.
    pub async fn spawn_at(seconds: i64) -> TestApp {
        Self::spawn_fresh(&[], ManualClock::starting_at(seconds)).await
    }

    /// Starts the server on a database of the test's own choosing.
    pub async fn spawn_on(database_url: &str, flags: &[&str]) -> TestApp {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = ManualClock::starting_now();
        Self::start_with(dir, database_url.to_string(), flags, clock).await
    }

    async fn spawn_fresh(flags: &[&str], clock: ManualClock) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = database::fresh_database(&dir).await;
        Self::start_with(dir, database_url, flags, clock).await
    }

    async fn start_with(
        dir: tempfile::TempDir,
        database_url: String,
        flags: &[&str],
        clock: ManualClock,
    ) -> TestApp {
        let flags: Vec<String> = flags.iter().map(|flag| flag.to_string()).collect();
        let (address, shutdown, server) = start(&database_url, &flags, &clock).await;
        let db = AnyPool::connect(&database_url)
            .await
            .expect("open the test database");
        TestApp {
            address,
            clock,
            db,
            database_url,
            flags,
            shutdown: Some(shutdown),
            server: Some(server),
            _dir: dir,
        }
    }

    /// Asks the server to shut down, as SIGTERM does, and waits for `run` to return.
    pub async fn stop(mut self) {
        self.stop_server().await;
    }

    /// Stops the server gracefully and starts a new one on the same database, with the
    /// flags and the clock it had.
    pub async fn restart(&mut self) {
        self.stop_server().await;
        let (address, shutdown, server) = start(&self.database_url, &self.flags, &self.clock).await;
        self.address = address;
        self.shutdown = Some(shutdown);
        self.server = Some(server);
    }

    async fn stop_server(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
        }
    }

    /// The URL of the server's database, for more nodes on it.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// The server's current time (the manual clock).
    pub fn now(&self) -> i64 {
        authd::clock::Clock::now(&self.clock)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

async fn start(
    database_url: &str,
    flags: &[String],
    clock: &ManualClock,
) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    test_log::init();
    let mut args = vec!["authd", "--database-url", database_url];
    args.extend(flags.iter().map(String::as_str));
    // Every in-process server shares one KEK, so servers on one PostgreSQL database agree
    // and none writes a generated one into the working directory.
    if !flags
        .iter()
        .any(|flag| flag.starts_with("--key-encryption-key"))
    {
        args.extend(["--key-encryption-key", TEST_KEK]);
    }
    let config = Config::try_parse_from(args).expect("test config");
    let app = server::build(&config, Arc::new(clock.clone()))
        .await
        .expect("build authd");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    let (shutdown, stop) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        server::run(listener, app, async {
            let _ = stop.await;
        })
        .await
        .expect("server ran");
    });
    (address, shutdown, server)
}
