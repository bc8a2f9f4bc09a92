//! Every setting of authd: one clap struct whose doc comments are the `--help`.
//!
//! Each flag has an `AUTHD_*` environment variable and a default that works on a new
//! machine: `cargo run --release` with no settings serves on 127.0.0.1:50051 from
//! `./authd.db`, created on first start.

use std::{fmt, net::SocketAddr, str::FromStr, time::Duration};

use clap::Parser;
use ipnet::IpNet;

use crate::{
    auth::{
        AuthSettings, SigningMode,
        forwarded::parse_network,
        hashing::{HashLimits, HashParams},
        model::KeyAlgorithm,
        sealing::KeyEncryptionKey,
        tokens::{JwtSecret, TokenSettings},
    },
    listener::{ConnectionLimits, TlsSettings},
    store::PoolSettings,
    telemetry::{logs::LogFormat, metrics::MetricsListen},
};

#[derive(Parser, Debug, Clone)]
#[command(
    name = "authd",
    version,
    about = "Authentication service: gRPC, grpc-web and Django-compatible REST on one port."
)]
pub struct Config {
    /// Address to serve on.
    #[arg(long, env = "AUTHD_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Serve TLS on the port with this certificate chain (PEM, leaf first); needs
    /// `--tls-key`. HTTP/2 or HTTP/1.1 is chosen by ALPN. Read again on SIGHUP and when
    /// the file changes. Default: plaintext.
    #[arg(
        long,
        env = "AUTHD_TLS_CERT",
        value_name = "PATH",
        requires = "tls_key"
    )]
    pub tls_cert: Option<std::path::PathBuf>,

    /// The private key of `--tls-cert` (PEM: PKCS#8, PKCS#1 or SEC1); needs `--tls-cert`.
    #[arg(
        long,
        env = "AUTHD_TLS_KEY",
        value_name = "PATH",
        requires = "tls_cert"
    )]
    pub tls_key: Option<std::path::PathBuf>,

    /// How often authd looks whether the TLS files changed (their modification time or
    /// size) and reloads them (e.g. 5s, 500ms); `off`: only on SIGHUP.
    #[arg(long, env = "AUTHD_TLS_WATCH_INTERVAL", default_value = "5s", value_parser = parse_schedule)]
    pub tls_watch_interval: Schedule,

    /// Most client connections open at once; past it authd accepts no more until one
    /// closes (new clients wait in the kernel's listen queue). Each connection holds a file
    /// descriptor: keep this below the file limit (`ulimit -n`), leaving room for the
    /// database and log files. At the file limit authd backs off instead of spinning.
    #[arg(long, env = "AUTHD_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// How long a new connection may stay silent before its first byte; then it is closed.
    #[arg(long, env = "AUTHD_FIRST_BYTE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub first_byte_timeout: i64,

    /// How long a client may take to send the bytes that name its protocol and each
    /// HTTP/1.1 request's headers (on a kept-alive connection, from the previous answer).
    #[arg(long, env = "AUTHD_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: i64,

    /// How long a REST request body may take to arrive after its headers; one that
    /// trickles or stalls past it is refused with 400.
    #[arg(long, env = "AUTHD_BODY_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub body_timeout: i64,

    /// How long a gRPC call may take to arrive and be answered; past it, it ends with
    /// DEADLINE_EXCEEDED. A stream, once answered (health Watch), is not cut.
    #[arg(long, env = "AUTHD_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: i64,

    /// How long a connection with no open request stays open (HTTP/2 ends it with GOAWAY).
    #[arg(long, env = "AUTHD_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: i64,

    /// How often a quiet HTTP/2 connection is pinged, to find peers that went away.
    #[arg(long, env = "AUTHD_HTTP2_KEEPALIVE_INTERVAL", default_value = "20s", value_parser = parse_duration)]
    pub http2_keepalive_interval: i64,

    /// How long a ping may go unanswered before the connection is closed.
    #[arg(long, env = "AUTHD_HTTP2_KEEPALIVE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub http2_keepalive_timeout: i64,

    /// Most streams (calls) open at once on one HTTP/2 connection, advertised as
    /// SETTINGS_MAX_CONCURRENT_STREAMS; more are refused with REFUSED_STREAM.
    #[arg(long, env = "AUTHD_HTTP2_MAX_CONCURRENT_STREAMS", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub http2_max_concurrent_streams: u32,

    /// Most streams authd may reset on one HTTP/2 connection for the client's protocol
    /// errors, refused streams included, before it closes the connection with GOAWAY
    /// ENHANCE_YOUR_CALM (the "MadeYouReset" attack).
    #[arg(long, env = "AUTHD_HTTP2_MAX_LOCAL_RESETS", default_value_t = 1024)]
    pub http2_max_local_resets: usize,

    /// Most streams a client may open and reset before authd has taken them up, before the
    /// connection is closed with GOAWAY ENHANCE_YOUR_CALM (the "Rapid Reset" attack).
    #[arg(long, env = "AUTHD_HTTP2_MAX_PENDING_RESETS", default_value_t = 20)]
    pub http2_max_pending_resets: usize,

    /// Largest request header section in bytes, HTTP/1.1 and HTTP/2 alike; a larger one is
    /// refused with 431.
    #[arg(long, env = "AUTHD_MAX_HEADER_BYTES", default_value_t = 16 * 1024, value_parser = clap::value_parser!(u32).range(1024..))]
    pub max_header_bytes: u32,

    /// Largest REST request body (413 past it) and gRPC request message on every service
    /// (OUT_OF_RANGE past it), in bytes.
    #[arg(long, env = "AUTHD_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_message_bytes: u32,

    /// Database URL. `sqlite://PATH` keeps everything in one file, created with its schema
    /// on first start; `postgres://USER:PASSWORD@HOST/DB` lets several nodes share one
    /// database (the schema is created on first start).
    #[arg(
        long,
        env = "AUTHD_DATABASE_URL",
        default_value = "sqlite://authd.db",
        hide_env_values = true
    )]
    pub database_url: DatabaseUrl,

    /// The key-encryption key that seals the signing keys in the database: 64 hex
    /// characters (32 bytes). Give it as the variable, not the flag: a command line is
    /// visible to every local user. Nodes sharing a database need the same key.
    #[arg(
        long,
        env = "AUTHD_KEY_ENCRYPTION_KEY",
        hide_env_values = true,
        value_parser = KekParser,
        conflicts_with = "key_encryption_key_file"
    )]
    pub key_encryption_key: Option<KeyEncryptionKey>,

    /// A file holding the key-encryption key (64 hex characters, a newline allowed); it
    /// must exist. Default: none given, the key is read from (or on a new database
    /// generated, owner-only, as) `DATABASE.kek` beside a SQLite file, `./authd.kek` for
    /// PostgreSQL.
    #[arg(long, env = "AUTHD_KEY_ENCRYPTION_KEY_FILE", value_name = "PATH")]
    pub key_encryption_key_file: Option<std::path::PathBuf>,

    /// Most connections one node keeps to PostgreSQL. Size it so that nodes × this stays
    /// under the server's `max_connections`. One per core of them, up to a quarter, stay
    /// open for Refresh's reads. (SQLite uses one writer and a few readers.)
    #[arg(long, env = "AUTHD_DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,

    /// Browser origins allowed to call authd from other sites (CORS), comma-separated, e.g.
    /// `https://app.example.com,http://localhost:5173`; `*` allows any. Default: none (a
    /// page served by authd itself needs none).
    #[arg(long, env = "AUTHD_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// What signs tokens: `eddsa` (Ed25519), `es256` (ECDSA P-256, for verifiers without
    /// EdDSA such as simplejwt 5.3) or `hs256` (a secret shared with the verifying services,
    /// from AUTHD_JWT_SECRET; the JWKS then publishes nothing). Key pairs are made and kept
    /// in the database; changing between `eddsa` and `es256` rotates to a new key at start,
    /// and the old one keeps verifying its tokens. Give every node the same value.
    #[arg(long, env = "AUTHD_JWT_ALGORITHM", value_enum, default_value_t = JwtAlgorithm::Eddsa)]
    pub jwt_algorithm: JwtAlgorithm,

    /// Set by admin commands: open the signing keys as they are, never rotating them to
    /// `--jwt-algorithm` (only a serving node, or `keys rotate`, changes the signing key).
    #[arg(skip)]
    pub keep_signing_algorithm: bool,

    /// The HS256 secret, at least 32 bytes (read only with `--jwt-algorithm hs256`). Give it
    /// in the environment, never on the command line, where other local users can read it.
    #[arg(long, env = "AUTHD_JWT_SECRET", hide = true, value_parser = JwtSecretParser)]
    pub jwt_secret: Option<JwtSecret>,

    /// `iss` claim of issued tokens; tokens from another issuer are refused.
    #[arg(long, env = "AUTHD_JWT_ISSUER", default_value = "authd")]
    pub jwt_issuer: String,

    /// `aud` claim of issued tokens; tokens for another audience are refused.
    #[arg(long, env = "AUTHD_JWT_AUDIENCE", default_value = "authd")]
    pub jwt_audience: String,

    /// How long an access token is accepted: seconds, or with a unit (90s, 15m, 1h, 7d).
    #[arg(long, env = "AUTHD_ACCESS_TOKEN_LIFETIME", default_value = "60m", value_parser = parse_duration)]
    pub access_token_lifetime: i64,

    /// How long a refresh token is accepted; each refresh issues a new one.
    #[arg(long, env = "AUTHD_REFRESH_TOKEN_LIFETIME", default_value = "1d", value_parser = parse_duration)]
    pub refresh_token_lifetime: i64,

    /// How long after a refresh its (now spent) refresh token, presented again, still gets a
    /// working pair and keeps the session: a retry after a lost response, a second tab, the
    /// losers of a race. Past it, or for any older token, the session is revoked as theft.
    /// `0` turns the window off.
    #[arg(long, env = "AUTHD_REFRESH_GRACE", default_value = "10s", value_parser = parse_grace)]
    pub refresh_grace: i64,

    /// How long a session lives from login, however often it is refreshed; then its tokens
    /// stop working and the user logs in again.
    #[arg(long, env = "AUTHD_SESSION_MAX_AGE", default_value = "30d", value_parser = parse_duration)]
    pub session_max_age: i64,

    /// How long an API key from `/api/token/` is accepted (e.g. 30d). Unset: until revoked.
    #[arg(long, env = "AUTHD_API_KEY_LIFETIME", value_parser = parse_duration)]
    pub api_key_lifetime: Option<i64>,

    /// Login, Register, Refresh and REST token-endpoint calls each client address may make
    /// per minute on this node, with a burst of as many; further calls are answered
    /// RESOURCE_EXHAUSTED / 429 with a retry-after. IPv6 clients count per /64. `0` turns
    /// the limit off (for load tests, or a trusted network).
    #[arg(long, env = "AUTHD_IP_LIMIT", default_value_t = 300)]
    pub ip_limit: u32,

    /// Proxies and load balancers whose `X-Forwarded-For` is believed, as addresses or
    /// CIDRs, comma-separated (e.g. `10.0.0.0/8,192.0.2.10`): the client is the rightmost
    /// address in the chain that is not one of them. Default: none, so the client is the
    /// TCP peer and the header is ignored.
    #[arg(long, env = "AUTHD_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<IpNet>,

    /// argon2id memory per hash, in KiB (OWASP: 19456).
    #[arg(long, env = "AUTHD_ARGON2_MEMORY_KIB", default_value_t = 19_456)]
    pub argon2_memory_kib: u32,

    /// argon2id passes over memory (OWASP: 2).
    #[arg(long, env = "AUTHD_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,

    /// argon2id lanes (OWASP: 1).
    #[arg(long, env = "AUTHD_ARGON2_PARALLELISM", default_value_t = 1)]
    pub argon2_parallelism: u32,

    /// Most password hashes computed at once; the rest wait. Peak hashing memory is this
    /// times the argon2 memory. Default: the number of CPU cores.
    #[arg(long, env = "AUTHD_HASH_CONCURRENCY", value_parser = clap::value_parser!(u64).range(1..))]
    pub hash_concurrency: Option<u64>,

    /// Most requests that may wait for a hashing slot (Login, Register, `/api/token/`);
    /// one more is refused at once with UNAVAILABLE / 503 and a retry-after, instead of
    /// waiting in a line that only grows. Default: 16 per hashing slot (about 16 hash
    /// times, ≈ 0.3 s, of waiting at most).
    #[arg(long, env = "AUTHD_HASH_QUEUE")]
    pub hash_queue: Option<usize>,

    /// Longest a request waits for a hashing slot (e.g. 500ms, 5s); a client's shorter
    /// `grpc-timeout` wins. Past it the answer is UNAVAILABLE / 503 with a retry-after.
    #[arg(long, env = "AUTHD_HASH_WAIT", default_value = "5s", value_parser = parse_wait)]
    pub hash_wait: std::time::Duration,

    /// On SIGTERM/SIGINT, how long to let open requests finish (health already says
    /// NOT_SERVING) before closing them.
    #[arg(long, env = "AUTHD_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: i64,

    /// Log filter, in tracing's `EnvFilter` syntax (e.g. `info`, `authd=debug`). Unset:
    /// `RUST_LOG`, as in the rest of the Rust ecosystem, and `info` without either.
    #[arg(long, env = "AUTHD_LOG")]
    pub log: Option<String>,

    /// How log lines are written: `text` (colours only on a terminal) or `json` (one
    /// object a line, the event's fields at the top level).
    #[arg(long, env = "AUTHD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Where Prometheus metrics (`GET /metrics`) are served: unset, on the main port; an
    /// address (e.g. `127.0.0.1:9090`), on a listener of their own (and not on the main
    /// port); `off`, nowhere.
    #[arg(long, env = "AUTHD_METRICS_LISTEN", value_name = "ADDR|off")]
    pub metrics_listen: Option<MetricsListen>,

    /// Once listening, write the bound address (e.g. `127.0.0.1:40123`) and a newline to
    /// PATH, for scripts and supervisors that start authd on port 0.
    #[arg(long, env = "AUTHD_ADDRESS_FILE", value_name = "PATH")]
    pub address_file: Option<std::path::PathBuf>,

    /// How long the records of ended sessions, tokens and API keys are kept after they end
    /// (revoked or expired), before they are deleted (e.g. 30d, 12h).
    #[arg(long, env = "AUTHD_RETENTION", default_value = "30d", value_parser = parse_duration)]
    pub retention: i64,

    /// How often the server deletes the records past `--retention`, in small batches
    /// (e.g. 1h, 10m); `off`: never (run `authd tokens purge` instead).
    #[arg(long, env = "AUTHD_PRUNE_INTERVAL", default_value = "1h", value_parser = parse_schedule)]
    pub prune_interval: Schedule,
}

impl Config {
    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: usize_from(self.max_connections),
            first_byte_timeout: seconds(self.first_byte_timeout),
            header_timeout: seconds(self.header_timeout),
            body_timeout: seconds(self.body_timeout),
            request_timeout: seconds(self.request_timeout),
            idle_timeout: seconds(self.idle_timeout),
            http2_keepalive_interval: seconds(self.http2_keepalive_interval),
            http2_keepalive_timeout: seconds(self.http2_keepalive_timeout),
            http2_max_concurrent_streams: self.http2_max_concurrent_streams,
            http2_max_local_resets: self.http2_max_local_resets,
            http2_max_pending_resets: self.http2_max_pending_resets,
            max_header_bytes: self.max_header_bytes,
            max_message_bytes: usize_from(self.max_message_bytes),
        }
    }

    /// The TLS files, when both are set (clap refuses one without the other).
    pub fn tls_settings(&self) -> Option<TlsSettings> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsSettings {
                cert: cert.clone(),
                key: key.clone(),
                poll: self.tls_watch_interval.0,
            }),
            _ => None,
        }
    }

    pub fn pool_settings(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.database_max_connections,
        }
    }

    fn keys(&self, algorithm: KeyAlgorithm) -> SigningMode {
        SigningMode::Keys {
            algorithm,
            switch: !self.keep_signing_algorithm,
        }
    }

    /// Every mistake in the settings that would otherwise surface only once the database is
    /// open (or never): what serving checks before it binds or touches anything, so a bad
    /// setting leaves no database, key or key file behind.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(problem) = self.signing_mode() {
            problems.push(problem);
        }
        let hashing = HashParams {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
        };
        if let Some(problem) = hashing.problem() {
            problems.push(format!(
                "--argon2-memory-kib {} / --argon2-iterations {} / --argon2-parallelism {}: {problem}",
                self.argon2_memory_kib, self.argon2_iterations, self.argon2_parallelism
            ));
        }
        if let Some(directives) = &self.log
            && let Err(error) = tracing_subscriber::EnvFilter::try_new(directives)
        {
            problems.push(format!(
                "--log / AUTHD_LOG {directives:?} is not a log filter: {error}"
            ));
        }
        problems
    }

    /// What signs tokens; `hs256` without a secret is a configuration error.
    pub fn signing_mode(&self) -> Result<SigningMode, String> {
        match (self.jwt_algorithm, &self.jwt_secret) {
            (JwtAlgorithm::Eddsa, _) => Ok(self.keys(KeyAlgorithm::EdDsa)),
            (JwtAlgorithm::Es256, _) => Ok(self.keys(KeyAlgorithm::Es256)),
            (JwtAlgorithm::Hs256, Some(secret)) => Ok(SigningMode::Secret(secret.clone())),
            (JwtAlgorithm::Hs256, None) => Err(format!(
                "--jwt-algorithm hs256 needs the shared secret in AUTHD_JWT_SECRET (at least {} bytes)",
                JwtSecret::MIN_BYTES
            )),
        }
    }

    pub fn auth_settings(&self) -> Result<AuthSettings, String> {
        Ok(AuthSettings {
            signing: self.signing_mode()?,
            tokens: TokenSettings {
                issuer: self.jwt_issuer.clone(),
                audience: self.jwt_audience.clone(),
                access_lifetime: self.access_token_lifetime,
                refresh_lifetime: self.refresh_token_lifetime,
            },
            hashing: HashParams {
                memory_kib: self.argon2_memory_kib,
                iterations: self.argon2_iterations,
                parallelism: self.argon2_parallelism,
            },
            api_key_lifetime: self.api_key_lifetime,
            ip_limit: self.ip_limit,
            trusted_proxies: self.trusted_proxies.clone(),
            refresh_grace: self.refresh_grace,
            session_max_age: self.session_max_age,
            hash_limits: self.hash_limits(),
        })
    }

    fn hash_limits(&self) -> HashLimits {
        let concurrency = self
            .hash_concurrency
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        HashLimits {
            concurrency,
            queue: self.hash_queue.unwrap_or(concurrency * 16),
            max_wait: self.hash_wait,
        }
    }
}

/// A database URL whose password never reaches a log line or `--help`.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;
    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(Self(url.to_string()))
    }
}

impl fmt::Debug for DatabaseUrl {
    /// `postgres://user:secret@host/db` prints as `postgres://user:***@host/db`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.0;
        let redacted = url.split_once("://").and_then(|(scheme, rest)| {
            let (userinfo, host) = rest.split_once('@')?;
            let (user, _password) = userinfo.split_once(':')?;
            Some(format!("{scheme}://{user}:***@{host}"))
        });
        f.write_str(redacted.as_deref().unwrap_or(url))
    }
}

/// The algorithms `--jwt-algorithm` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JwtAlgorithm {
    Eddsa,
    Es256,
    Hs256,
}

/// Parses the HS256 secret with an error that never quotes the value.
#[derive(Clone)]
struct JwtSecretParser;

impl clap::builder::TypedValueParser for JwtSecretParser {
    type Value = JwtSecret;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        JwtSecret::new(value.as_encoded_bytes().to_vec()).map_err(|reason| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid AUTHD_JWT_SECRET: {reason}\n"),
            )
            .with_cmd(cmd)
        })
    }
}

/// Parses the key-encryption key with an error that never quotes the value (clap's own
/// errors do, and a mistyped key is still most of a key).
#[derive(Clone)]
pub struct KekParser;

impl clap::builder::TypedValueParser for KekParser {
    type Value = KeyEncryptionKey;

    fn parse_ref(
        &self,
        _command: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<KeyEncryptionKey, clap::Error> {
        let refuse = |problem: &str| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("--key-encryption-key (AUTHD_KEY_ENCRYPTION_KEY): {problem}\n"),
            )
        };
        let text = value.to_str().ok_or_else(|| refuse("not UTF-8"))?;
        KeyEncryptionKey::parse_hex(text).map_err(|problem| refuse(&problem))
    }
}

/// Seconds from `parse_duration` (never negative) as a `Duration`.
fn seconds(seconds: i64) -> Duration {
    Duration::from_secs(seconds.unsigned_abs())
}

fn usize_from(value: u32) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// `90`, `90s`, `15m`, `1h`, `7d` → seconds (at least one).
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let multiplier = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit {unit:?}: use s, m, h or d")),
    };
    let number: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration"))?;
    match number.checked_mul(multiplier) {
        Some(seconds) if seconds > 0 => Ok(seconds),
        _ => Err(format!(
            "{text:?} must be at least one second and not absurdly long"
        )),
    }
}

/// A window that may be off: `0`, or anything [`parse_duration`] takes.
fn parse_grace(text: &str) -> Result<i64, String> {
    match text.trim() {
        "0" | "0s" | "0m" | "0h" | "0d" => Ok(0),
        _ => parse_duration(text),
    }
}

/// How often a periodic job runs: every interval, or (`None`) never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule(pub Option<std::time::Duration>);

/// `off`, or an interval as [`parse_wait`] takes it.
fn parse_schedule(text: &str) -> Result<Schedule, String> {
    match text.trim() {
        "off" => Ok(Schedule(None)),
        _ => parse_wait(text).map(|interval| Schedule(Some(interval))),
    }
}

/// A wait: milliseconds (`250ms`) or anything [`parse_duration`] takes.
fn parse_wait(text: &str) -> Result<std::time::Duration, String> {
    match text.trim().strip_suffix("ms") {
        Some(millis) => match millis.parse::<u64>() {
            Ok(millis) if millis > 0 => Ok(std::time::Duration::from_millis(millis)),
            _ => Err(format!(
                "{text:?} must be a whole number of milliseconds, at least 1"
            )),
        },
        None => parse_duration(text)
            .map(|seconds| std::time::Duration::from_secs(seconds.unsigned_abs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("1d"), Ok(86_400));
        for bad in ["", "0", "5w", "m", "-1m", "99999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn waits_take_milliseconds_too() {
        use std::time::Duration;
        assert_eq!(parse_wait("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_wait("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_wait("2"), Ok(Duration::from_secs(2)));
        for bad in ["0ms", "ms", "1.5ms", "-3ms", "0"] {
            assert!(parse_wait(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_refresh_grace_may_be_off_and_sessions_end_after_30_days() {
        assert_eq!(parse_grace("0"), Ok(0));
        assert_eq!(parse_grace("0s"), Ok(0));
        assert_eq!(parse_grace("10s"), Ok(10));
        for bad in ["", "-1", "0w", "s"] {
            assert!(parse_grace(bad).is_err(), "{bad}");
        }
        let config = Config::try_parse_from(["authd"]).expect("defaults parse");
        assert_eq!(config.refresh_grace, 10);
        assert_eq!(config.session_max_age, 30 * 86_400);
    }

    #[test]
    fn records_are_kept_30_days_and_pruned_hourly_unless_off() {
        use std::time::Duration;
        let config = Config::try_parse_from(["authd"]).expect("defaults parse");
        assert_eq!(config.retention, 30 * 86_400);
        assert_eq!(
            config.prune_interval,
            Schedule(Some(Duration::from_secs(3600)))
        );
        assert_eq!(parse_schedule("off"), Ok(Schedule(None)));
        assert_eq!(
            parse_schedule("250ms"),
            Ok(Schedule(Some(Duration::from_millis(250))))
        );
        assert!(parse_schedule("never").is_err());
    }

    #[test]
    fn database_passwords_are_redacted() {
        let url = DatabaseUrl("postgres://authd:s3cret@db:5432/authd".into());
        assert_eq!(format!("{url:?}"), "postgres://authd:***@db:5432/authd");
        let sqlite = DatabaseUrl("sqlite://authd.db".into());
        assert_eq!(format!("{sqlite:?}"), "sqlite://authd.db");
    }

    #[test]
    fn defaults_just_work() {
        let config = Config::try_parse_from(["authd"]).expect("defaults parse");
        assert_eq!(config.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(config.database_url.expose(), "sqlite://authd.db");
        assert_eq!(config.access_token_lifetime, 3600);
        assert_eq!(config.refresh_token_lifetime, 86_400);
        let limits = config.connection_limits();
        assert_eq!(limits.max_connections, 10_000);
        assert_eq!(limits.first_byte_timeout, Duration::from_secs(10));
        assert_eq!(limits.http2_max_concurrent_streams, 200);
        assert_eq!(limits.max_message_bytes, 65_536);
        assert_eq!(config.ip_limit, 300);
        assert!(config.trusted_proxies.is_empty());
    }

    #[test]
    fn the_key_encryption_key_is_never_printed() {
        let hex = "ab".repeat(32);
        let config =
            Config::try_parse_from(["authd", "--key-encryption-key", &hex]).expect("flags parse");
        assert!(config.key_encryption_key.is_some());
        assert!(!format!("{config:?}").contains(&hex));
        let short = Config::try_parse_from(["authd", "--key-encryption-key", "abcd"]);
        assert!(short.is_err_and(|e| !e.to_string().contains("abcd")));
    }

    #[test]
    fn tls_needs_both_files_and_is_off_by_default() {
        let plain = Config::try_parse_from(["authd"]).expect("defaults parse");
        assert_eq!(plain.tls_settings(), None);
        let both = Config::try_parse_from(["authd", "--tls-cert", "c.pem", "--tls-key", "k.pem"])
            .expect("flags parse");
        let files = both.tls_settings().expect("TLS files");
        assert_eq!(files.cert, std::path::PathBuf::from("c.pem"));
        assert_eq!(files.key, std::path::PathBuf::from("k.pem"));
        assert_eq!(files.poll, Some(Duration::from_secs(5)));
        let cert_only = Config::try_parse_from(["authd", "--tls-cert", "c.pem"]);
        assert!(cert_only.is_err_and(|e| e.to_string().contains("--tls-key")));
        let key_only = Config::try_parse_from(["authd", "--tls-key", "k.pem"]);
        assert!(key_only.is_err_and(|e| e.to_string().contains("--tls-cert")));
    }

    #[test]
    fn trusted_proxies_are_a_list_of_networks() {
        let config = Config::try_parse_from([
            "authd",
            "--trusted-proxies",
            "10.0.0.0/8,192.0.2.10,2001:db8::/32",
            "--ip-limit",
            "0",
        ])
        .expect("flags parse");
        let proxies: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(proxies, ["10.0.0.0/8", "192.0.2.10/32", "2001:db8::/32"]);
        assert_eq!(config.ip_limit, 0);
        assert!(Config::try_parse_from(["authd", "--trusted-proxies", "nonsense"]).is_err());
    }
}
