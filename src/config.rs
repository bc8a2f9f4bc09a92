//! Every setting of authd: one clap struct whose doc comments are the `--help`.
//!
//! Each flag has an `AUTHD_*` environment variable and a default that works on a new
//! machine: `cargo run --release` with no settings serves on 127.0.0.1:50051 from
//! `./authd.db`, created on first start.

use std::{fmt, net::SocketAddr, str::FromStr};

use clap::Parser;
use ipnet::IpNet;

use crate::{
    auth::{AuthSettings, forwarded::parse_network, hashing::HashParams, tokens::TokenSettings},
    store::PoolSettings,
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

    /// Most connections one node keeps to PostgreSQL. Size it so that nodes × this stays
    /// under the server's `max_connections`. (SQLite uses one writer and a few readers.)
    #[arg(long, env = "AUTHD_DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,

    /// Browser origins allowed to call authd from other sites (CORS), comma-separated, e.g.
    /// `https://app.example.com,http://localhost:5173`; `*` allows any. Default: none (a
    /// page served by authd itself needs none).
    #[arg(long, env = "AUTHD_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

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
    #[arg(long, env = "AUTHD_HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,

    /// On SIGTERM/SIGINT, how long to let open requests finish (health already says
    /// NOT_SERVING) before closing them.
    #[arg(long, env = "AUTHD_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: i64,

    /// Log filter, in tracing's `EnvFilter` syntax (e.g. `info`, `authd=debug`).
    #[arg(long, env = "AUTHD_LOG", default_value = "info")]
    pub log: String,
}

impl Config {
    pub fn pool_settings(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.database_max_connections,
        }
    }

    pub fn auth_settings(&self) -> AuthSettings {
        AuthSettings {
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
            hash_concurrency: self
                .hash_concurrency
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
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

/// `90`, `90s`, `15m`, `1h`, `7d` → seconds (at least one).
fn parse_duration(text: &str) -> Result<i64, String> {
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
        assert_eq!(config.ip_limit, 300);
        assert!(config.trusted_proxies.is_empty());
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
