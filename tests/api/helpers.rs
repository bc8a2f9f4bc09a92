//! `TestApp::spawn` starts authd exactly as `main` does (same `server::build` and
//! `server::run`) on an ephemeral port, over a fresh SQLite file in a temp directory, with a
//! manual clock the test can move. Helpers call it through a real gRPC channel.

use std::{net::SocketAddr, sync::Arc};

use authd::{
    clock::ManualClock,
    config::Config,
    pb::{
        GetMeRequest, LoginRequest, LoginResponse, RegisterRequest, User,
        auth_service_client::AuthServiceClient,
    },
    server,
};
use clap::Parser;
use sqlx::{SqlitePool, sqlite::SqliteConnectOptions};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::{Code, Request, Status, transport::Channel};
use tonic_types::StatusExt;

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub address: SocketAddr,
    pub clock: ManualClock,
    pub db: SqlitePool,
    database_url: String,
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
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("authd.db");
        let database_url = format!("sqlite://{}", path.display());
        let clock = ManualClock::starting_now();
        let (address, shutdown, server) = start(&database_url, flags, &clock).await;
        let db = SqlitePool::connect_with(SqliteConnectOptions::new().filename(&path))
            .await
            .expect("open the test database");
        TestApp {
            address,
            clock,
            db,
            database_url,
            shutdown: Some(shutdown),
            server: Some(server),
            _dir: dir,
        }
    }

    /// Stops the server gracefully and starts a new one on the same database file.
    pub async fn restart(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
        }
        let (address, shutdown, server) = start(&self.database_url, &[], &self.clock).await;
        self.address = address;
        self.shutdown = Some(shutdown);
        self.server = Some(server);
    }

    /// The server's current time (the manual clock).
    pub fn now(&self) -> i64 {
        authd::clock::Clock::now(&self.clock)
    }

    pub async fn client(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::connect(format!("http://{}", self.address))
            .await
            .expect("connect to authd")
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .expect("uri")
            .connect()
            .await
            .expect("connect to authd")
    }

    pub async fn register(
        &self,
        username: &str,
        email: &str,
        password: &str,
    ) -> Result<User, Status> {
        let request = RegisterRequest {
            username: username.into(),
            email: email.into(),
            password: password.into(),
        };
        let response = self.client().await.register(request).await?;
        Ok(response
            .into_inner()
            .user
            .expect("user in RegisterResponse"))
    }

    pub async fn login(&self, username: &str, password: &str) -> Result<LoginResponse, Status> {
        let request = LoginRequest {
            username: username.into(),
            password: password.into(),
        };
        Ok(self.client().await.login(request).await?.into_inner())
    }

    /// Registers `username` with the standard password and logs in.
    pub async fn signed_in(&self, username: &str) -> LoginResponse {
        self.register(username, &format!("{username}@example.com"), PASSWORD)
            .await
            .expect("register");
        self.login(username, PASSWORD).await.expect("login")
    }

    /// GetMe with `authorization: <value>`.
    pub async fn get_me_with(&self, authorization: &str) -> Result<User, Status> {
        let mut request = Request::new(GetMeRequest {});
        request.metadata_mut().insert(
            "authorization",
            authorization.parse().expect("ascii metadata"),
        );
        let response = self.client().await.get_me(request).await?;
        Ok(response.into_inner().user.expect("user in GetMeResponse"))
    }

    pub async fn get_me(&self, access_token: &str) -> Result<User, Status> {
        self.get_me_with(&format!("Bearer {access_token}")).await
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
    flags: &[&str],
    clock: &ManualClock,
) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let mut args = vec!["authd", "--database-url", database_url];
    args.extend_from_slice(flags);
    let config = Config::try_parse_from(args).expect("test config");
    let auth = server::build(&config, Arc::new(clock.clone()))
        .await
        .expect("build authd");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    let (shutdown, stop) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        server::run(listener, auth, async {
            let _ = stop.await;
        })
        .await
        .expect("server ran");
    });
    (address, shutdown, server)
}

/// The field violations of a status as `(field, message)` pairs, in order.
pub fn violations(status: &Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|bad| {
            bad.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

pub fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(field, message)| (field.to_string(), message.to_string()))
        .collect()
}

/// Asserts the call failed as UNAUTHENTICATED.
pub fn assert_unauthenticated<T: std::fmt::Debug>(result: Result<T, Status>) {
    match result {
        Err(status) => assert_eq!(status.code(), Code::Unauthenticated, "{status:?}"),
        Ok(value) => panic!("expected UNAUTHENTICATED, got {value:?}"),
    }
}

/// The decoded JSON header and payload of a JWT (no verification: for assertions only).
pub fn jwt_parts(token: &str) -> (serde_json::Value, serde_json::Value) {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let mut parts = token.split('.');
    let mut decode = || {
        let part = parts.next().expect("jwt part");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
    };
    (decode(), decode())
}

/// Counts rows of `table` matching `condition` (a trusted SQL fragment from the test).
pub async fn count(db: &SqlitePool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db)
        .await
        .expect("count query")
}
