//! The Prometheus side: one recorder for the process, the series' names, help and
//! buckets, and `GET /metrics` rendered from the recorder's handle.
//!
//! The exporter is used without its HTTP listener (its own hyper server would bring a
//! second copy of the stack, and none of `listener`'s limits): `/metrics` is an axum route
//! served either on the main port or, with `--metrics-listen ADDR`, by `listener` on a
//! port of its own. Gauges that describe a state rather than count events (the database
//! pools) are read at scrape time, so they are never stale.
//!
//! The recorder is global (the `metrics` macros the core calls reach it from anywhere),
//! so several servers in one process (the in-process tests) share one set of series.

use std::{fmt, net::SocketAddr, str::FromStr, sync::Arc, sync::OnceLock};

use axum::{Router, http::header, routing::get};
use metrics::{describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::auth::{Auth, events};

/// gRPC calls answered, by `rpc` (`auth.v1.AuthService/Login`) and `code` (`OK`).
pub const GRPC_REQUESTS: &str = "authd_grpc_requests_total";
/// gRPC call durations, by `rpc`, from its headers to its last frame.
pub const GRPC_DURATION: &str = "authd_grpc_request_duration_seconds";
/// REST requests answered, by `route` (the template, `/auth/login/`), `method`, `status`.
pub const HTTP_REQUESTS: &str = "authd_http_requests_total";
/// REST request durations, by `route` and `method`.
pub const HTTP_DURATION: &str = "authd_http_request_duration_seconds";
/// Database connections by `pool` and `state` (`in_use`, `idle`), read at scrape time.
pub const DB_CONNECTIONS: &str = "authd_db_connections";
/// Always 1, labelled with the `version` running.
pub const BUILD_INFO: &str = "authd_build_info";

/// Request durations: unary calls take a millisecond (GetMe) to tens of ms (argon2), and a
/// queued login up to the hash wait (5 s by default).
const REQUEST_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Waits for a hashing slot: nothing when idle, up to `--hash-wait` under a flood.
const HASH_WAIT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Requests per batch: 1 when idle, up to the batch limit (64) under load.
const BATCH_SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// How often recorded histogram samples are folded into their buckets.
const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// The process's recorder, installed at the first call; later calls share it.
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(install).clone()
}

fn install() -> PrometheusHandle {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(GRPC_DURATION.into()), REQUEST_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), REQUEST_BUCKETS)
        })
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(events::HASH_WAIT.into()), HASH_WAIT_BUCKETS)
        })
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full(events::DB_BATCH_SIZE.into()),
                BATCH_SIZE_BUCKETS,
            )
        });
    let handle = match builder {
        Ok(builder) => {
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(error) = metrics::set_global_recorder(recorder) {
                tracing::warn!(%error, "another metrics recorder is installed; /metrics stays empty");
            }
            handle
        }
        Err(error) => {
            tracing::warn!(%error, "metrics buckets refused; /metrics stays empty");
            PrometheusBuilder::new().build_recorder().handle()
        }
    };
    describe();
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    handle
}

fn describe() {
    describe_counter!(
        GRPC_REQUESTS,
        "gRPC calls answered, by RPC and status code."
    );
    describe_histogram!(
        GRPC_DURATION,
        metrics::Unit::Seconds,
        "gRPC call durations, by RPC."
    );
    describe_counter!(
        HTTP_REQUESTS,
        "REST requests answered, by route template, method and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "REST request durations, by route template and method."
    );
    describe_counter!(events::LOGINS, "Password logins, by outcome.");
    describe_counter!(
        events::THROTTLED,
        "Requests refused to wait, by limit (account throttle or client budget)."
    );
    describe_counter!(
        events::SHED,
        "Requests shed because password hashing was at its limit, by reason."
    );
    describe_counter!(
        events::REFRESH_REUSE,
        "Spent refresh tokens presented again while their session was live; each revoked it."
    );
    describe_gauge!(
        events::HASH_QUEUE_DEPTH,
        "Requests waiting for a password-hashing slot."
    );
    describe_histogram!(
        events::HASH_WAIT,
        metrics::Unit::Seconds,
        "How long requests waited for a password-hashing slot."
    );
    describe_histogram!(
        events::DB_BATCH_SIZE,
        "Requests answered together by one batch of statements, by queue."
    );
    describe_gauge!(
        DB_CONNECTIONS,
        "Database connections, by pool and state (in_use, idle)."
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the labels say which build is running."
    );
}

/// `--metrics-listen`: `off`, or an address for a listener of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsListen {
    Off,
    Address(SocketAddr),
}

impl FromStr for MetricsListen {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "off" => Ok(Self::Off),
            address => address.parse().map(Self::Address).map_err(|_| {
                format!("{text:?} is neither `off` nor an address like 127.0.0.1:9090")
            }),
        }
    }
}

impl fmt::Display for MetricsListen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::Address(address) => address.fmt(f),
        }
    }
}

/// Where `/metrics` is served.
#[derive(Debug)]
pub enum Exposure {
    /// Beside the API, on the main port (the default).
    MainPort,
    /// On a listener of its own, already bound.
    Own(TcpListener),
    /// Nowhere: `/metrics` is an unknown path like any other.
    Off,
}

impl Exposure {
    /// Binds the metrics listener when the setting names an address; the error names it.
    pub async fn bind(setting: Option<MetricsListen>) -> Result<Self, String> {
        Ok(match setting {
            None => Self::MainPort,
            Some(MetricsListen::Off) => Self::Off,
            Some(MetricsListen::Address(address)) => match TcpListener::bind(address).await {
                Ok(listener) => Self::Own(listener),
                Err(error) => {
                    return Err(format!(
                        "cannot listen for metrics (--metrics-listen) on {address}: {error}"
                    ));
                }
            },
        })
    }

    /// The address of the metrics listener, when it has one of its own.
    pub fn own_address(&self) -> Option<SocketAddr> {
        match self {
            Self::Own(listener) => listener.local_addr().ok(),
            Self::MainPort | Self::Off => None,
        }
    }
}

/// What `GET /metrics` answers: the recorder's series, and the pools read now.
#[derive(Clone)]
pub struct Exposition {
    handle: PrometheusHandle,
    auth: Arc<Auth>,
}

impl Exposition {
    pub fn new(auth: Arc<Auth>) -> Self {
        Self {
            handle: recorder(),
            auth,
        }
    }

    /// The Prometheus text of every series.
    pub fn render(&self) -> String {
        for pool in self.auth.database_pools() {
            gauge!(DB_CONNECTIONS, "pool" => pool.name, "state" => "in_use")
                .set(f64::from(pool.in_use()));
            gauge!(DB_CONNECTIONS, "pool" => pool.name, "state" => "idle")
                .set(f64::from(pool.idle));
        }
        self.handle.run_upkeep();
        self.handle.render()
    }

    /// Drains the histograms into their buckets every few seconds, for as long as it runs.
    /// Without it, samples recorded between scrapes (or with no scraper at all) would pile
    /// up in memory at request rate.
    pub async fn upkeep(self) {
        let mut every = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            every.tick().await;
            self.handle.run_upkeep();
        }
    }

    /// `GET /metrics`, as a router to merge or to serve alone.
    pub fn router(self) -> Router {
        Router::new().route(
            "/metrics",
            get(move || {
                let text = self.render();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        text,
                    )
                }
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_is_off_or_an_address() {
        assert_eq!("off".parse(), Ok(MetricsListen::Off));
        assert_eq!(
            "127.0.0.1:9090".parse(),
            Ok(MetricsListen::Address("127.0.0.1:9090".parse().unwrap()))
        );
        for bad in ["", "on", "9090", "localhost:9090"] {
            assert!(bad.parse::<MetricsListen>().is_err(), "{bad}");
        }
    }
}
