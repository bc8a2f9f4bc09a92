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
use sqlx::AnyPool;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::{Code, Request, Status, transport::Channel};
use tonic_types::StatusExt;

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub address: SocketAddr,
    pub clock: ManualClock,
    /// The server's database, for assertions (either backend, through sqlx's Any driver).
    pub db: AnyPool,
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
        let database_url = fresh_database(&dir).await;
        Self::start_with(dir, database_url, flags).await
    }

    /// Starts the server on a database of the test's own choosing.
    pub async fn spawn_on(database_url: &str, flags: &[&str]) -> TestApp {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_with(dir, database_url.to_string(), flags).await
    }

    async fn start_with(dir: tempfile::TempDir, database_url: String, flags: &[&str]) -> TestApp {
        let clock = ManualClock::starting_now();
        let (address, shutdown, server) = start(&database_url, flags, &clock).await;
        let db = AnyPool::connect(&database_url)
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

    /// Asks the server to shut down, as SIGTERM does, and waits for `run` to return.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
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

/// The environment variable that switches the suite to PostgreSQL, and the one naming a
/// server where the test role may create databases.
pub const BACKEND_VARIABLE: &str = "AUTHD_TEST_BACKEND";
pub const POSTGRES_URL_VARIABLE: &str = "AUTHD_TEST_POSTGRES_URL";

/// A new, empty database for one test: a SQLite file in `dir`, or (with
/// `AUTHD_TEST_BACKEND=postgres`) a new database on the PostgreSQL server.
async fn fresh_database(dir: &tempfile::TempDir) -> String {
    sqlx::any::install_default_drivers();
    match std::env::var(BACKEND_VARIABLE).as_deref() {
        Ok("postgres") => {
            let admin_url = std::env::var(POSTGRES_URL_VARIABLE)
                .expect("AUTHD_TEST_BACKEND=postgres needs AUTHD_TEST_POSTGRES_URL");
            fresh_postgres_database(&admin_url).await
        }
        Ok("sqlite") | Err(_) => format!("sqlite://{}", dir.path().join("authd.db").display()),
        Ok(other) => panic!("unknown {BACKEND_VARIABLE}={other:?} (sqlite or postgres)"),
    }
}

/// Creates `authd_test_<random>` on the server of `admin_url` and returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> String {
    let admin = AnyPool::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    let name = format!(
        "authd_test_{}",
        authd::auth::tokens::random_hex::<8>().expect("random")
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create a test database");
    admin.close().await;
    let (server, _database) = admin_url
        .rsplit_once('/')
        .expect("a URL with a database path");
    format!("{server}/{name}")
}

async fn start(
    database_url: &str,
    flags: &[&str],
    clock: &ManualClock,
) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let mut args = vec!["authd", "--database-url", database_url];
    args.extend_from_slice(flags);
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
pub async fn count(db: &AnyPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db)
        .await
        .expect("count query")
}

// REST: the Django-compatible gateway on the same port. Requests go through reqwest
// (HTTP/1.1) with redirects off, so a 301 is seen as a 301.

impl TestApp {
    /// The REST URL of `path` (starting with `/`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

/// An HTTP client that shows redirects instead of following them.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

/// A REST response read whole.
#[derive(Debug)]
pub struct RestReply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The body as JSON; `Null` when it is empty or not JSON (`text` keeps it as sent).
    pub json: serde_json::Value,
    pub text: String,
}

impl RestReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header"))
    }

    /// Asserts the status, the exact JSON body, its content type and the security headers.
    #[track_caller]
    pub fn assert(&self, status: u16, body: serde_json::Value) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.json, body, "{self:?}");
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(content_type.starts_with("application/json"), "{self:?}");
        assert_security_headers(self);
    }

    /// The JSON string at `pointer` (e.g. `/data/access`).
    pub fn str(&self, pointer: &str) -> String {
        let value = self.json.pointer(pointer).and_then(|v| v.as_str());
        value
            .unwrap_or_else(|| panic!("no string at {pointer}: {self:?}"))
            .to_string()
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> RestReply {
    let response = request.send().await.expect("HTTP request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("HTTP body");
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    RestReply {
        status,
        headers,
        json,
        text,
    }
}

pub async fn post_json(app: &TestApp, path: &str, body: &serde_json::Value) -> RestReply {
    send(http().post(app.url(path)).json(body)).await
}

/// POSTs `body` as is, with `content_type` if given.
pub async fn post_raw(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> RestReply {
    let mut request = http().post(app.url(path)).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    send(request).await
}

pub async fn post_form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> RestReply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    post_raw(app, path, Some("application/x-www-form-urlencoded"), body).await
}

/// GET `path` with `Authorization: <authorization>` if given.
pub async fn get_with_auth(app: &TestApp, path: &str, authorization: Option<&str>) -> RestReply {
    let mut request = http().get(app.url(path));
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    send(request).await
}

/// The headers Django's security middleware put on every response.
#[track_caller]
pub fn assert_security_headers(reply: &RestReply) {
    assert_eq!(
        reply.header("x-content-type-options"),
        Some("nosniff"),
        "{reply:?}"
    );
    assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{reply:?}");
    assert_eq!(
        reply.header("referrer-policy"),
        Some("same-origin"),
        "{reply:?}"
    );
}

/// `POST /api/create/` for `username` with `<username>@example.com` and the standard
/// password; the created user's body.
pub async fn api_create(app: &TestApp, username: &str) -> serde_json::Value {
    let body = serde_json::json!({
        "username": username, "email": format!("{username}@example.com"), "password": PASSWORD,
    });
    let reply = post_json(app, "/api/create/", &body).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    reply.json
}

/// `POST /api/token/`: the new key.
pub async fn api_token(app: &TestApp, username: &str, password: &str) -> String {
    let body = serde_json::json!({ "username": username, "password": password });
    let reply = post_json(app, "/api/token/", &body).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.str("/token")
}

/// `POST /auth/login/`: the reply's `data` (`created`, `expires`, `refresh`, `access`).
pub async fn auth_login(app: &TestApp, username: &str, password: &str) -> serde_json::Value {
    let body = serde_json::json!({ "username": username, "password": password });
    let reply = post_json(app, "/auth/login/", &body).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json["data"].clone()
}

/// Whether `text` is `len` lowercase hex digits.
pub fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Lowercase hex SHA-256 of `text`, as `api_keys.key_hash` stores a key.
pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `text` has the shape `dddd-dd-ddTdd:dd:ddZ` (`d` a digit).
pub fn is_utc_timestamp(text: &str) -> bool {
    let shape = "dddd-dd-ddTdd:dd:ddZ";
    text.len() == shape.len()
        && text.bytes().zip(shape.bytes()).all(|(c, s)| match s {
            b'd' => c.is_ascii_digit(),
            _ => c == s,
        })
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (Howard Hinnant's civil-from-days).
pub fn utc(seconds: i64) -> String {
    let (days, second) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let (era, day_of_era) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let m = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * m + 2) / 5 + 1;
    let month = if m < 10 { m + 3 } else { m - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let (h, min, s) = (second / 3600, second % 3600 / 60, second % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{min:02}:{s:02}Z")
}

pub const REQUIRED: &str = "This field is required.";
pub const BLANK: &str = "This field may not be blank.";

/// The rows of a trusted SQL query from the test, as tuples.
pub async fn rows<T>(db: &AnyPool, sql: &'static str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    sqlx::query_as(sql).fetch_all(db).await.expect("query")
}

/// The one-column rows of a trusted SQL query from the test.
pub async fn scalars<T>(db: &AnyPool, sql: &'static str) -> Vec<T>
where
    T: Send + Unpin,
    (T,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
{
    sqlx::query_scalar(sql).fetch_all(db).await.expect("query")
}

pub const INVALID_USERNAME: &str = concat!(
    "Enter a valid username. This value may contain only letters, numbers, ",
    "and @/./+/-/_ characters."
);

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

/// Whether the suite runs on PostgreSQL; tests that only make sense there say when they
/// are skipped.
pub fn on_postgres() -> bool {
    std::env::var(BACKEND_VARIABLE).as_deref() == Ok("postgres")
}

/// A fresh database URL on the suite's PostgreSQL server.
pub async fn postgres_database() -> String {
    sqlx::any::install_default_drivers();
    let admin_url = std::env::var(POSTGRES_URL_VARIABLE).expect(POSTGRES_URL_VARIABLE);
    fresh_postgres_database(&admin_url).await
}
