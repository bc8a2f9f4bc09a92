//! Builds the service state and serves it: `build` once, then `run` until shutdown.
//!
//! One listener carries everything: the Django-compatible REST endpoints (HTTP/1.1 or 2),
//! `auth.v1.AuthService`, `grpc.health.v1.Health`, and server reflection in both v1 and
//! v1alpha (grpcurl 1.8 and Python's grpcio speak only v1alpha; buf speaks v1), so
//! `grpcurl -plaintext HOST list` works without .proto files. Every gRPC service also
//! speaks grpc-web for browsers: `GrpcWebLayer` wraps each gRPC service and nothing else,
//! because around the REST router it would answer plain HTTP/1.1 requests with 400. Every
//! gRPC service has the same message-size limit and call deadline; the connections they
//! arrive on are `listener`'s, in TLS when `--tls-cert`/`--tls-key` are set (the metrics
//! listener of `--metrics-listen` stays plaintext, for a scraper on a private network).

use std::{future::Future, sync::Arc, time::Duration};

use tokio::net::TcpListener;
use tonic::{server::NamedService, service::Routes};
use tonic_health::{ServingStatus, server::HealthReporter};
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::Layer;

use crate::{
    auth::Auth,
    clock::Clock,
    config::Config,
    error::Error,
    grpc::{Deadline, GrpcAuth},
    key_file,
    listener::{self, ConnectionLimits, Tls},
    pb::{self, auth_service_server::AuthServiceServer},
    pruning::{self, Pruning},
    rest::{self, BodyLimits},
    store::Store,
    telemetry::{
        metrics::{Exposition, Exposure},
        requests::{Requests, RequestsLayer, Transport},
    },
};

/// Everything `run` serves: the core, the browser origins allowed to call it, the limits of
/// the port, and how long shutdown waits for open requests.
pub struct App {
    pub auth: Arc<Auth>,
    pub cors: Option<tower_http::cors::CorsLayer>,
    pub limits: ConnectionLimits,
    pub shutdown_grace: Duration,
    /// How often records past retention are deleted, and how old they must be.
    pub pruning: Pruning,
    /// Where `/metrics` is served (its own listener is bound by `build`).
    pub metrics: Exposure,
    /// The port's TLS, when configured; `run` reloads it on SIGHUP and file changes.
    pub tls: Option<Arc<Tls>>,
}

/// Opens (and migrates) the database and prepares the core.
pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> Result<App, Error> {
    // Before the database: a missing or broken certificate is reported before anything is made.
    let tls = match config.tls_settings() {
        Some(files) => Some(Arc::new(Tls::load(files).map_err(Error::Internal)?)),
        None => None,
    };
    let cors = crate::cors::layer(&config.cors_origins)?;
    let settings = config.auth_settings().map_err(Error::Internal)?;
    let store = Store::connect(config.database_url.expose(), config.pool_settings()).await?;
    tracing::info!(engine = %store.engine_version().await?, "database ready");
    let kek = key_file::key_encryption_key(config, &store).await?;
    let auth = Arc::new(Auth::new(store, settings, clock, &kek).await?);
    let shutdown_grace = Duration::from_secs(config.shutdown_grace.unsigned_abs());
    let metrics = Exposure::bind(config.metrics_listen)
        .await
        .map_err(Error::Internal)?;
    Ok(App {
        auth,
        cors,
        limits: config.connection_limits(),
        shutdown_grace,
        pruning: Pruning {
            interval: config.prune_interval.0,
            retention: config.retention,
        },
        metrics,
        tls,
    })
}

/// Serves every service on `listener` until `shutdown` completes, then lets in-flight
/// requests finish.
pub async fn run(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let App {
        auth,
        cors,
        limits,
        shutdown_grace,
        pruning,
        metrics,
        tls,
    } = app;
    let reloader = tls.clone().map(Tls::watch);
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<AuthServiceServer<GrpcAuth>>().await;
    let draining = health.clone();
    let monitor = tokio::spawn(watch_database(auth.clone(), health));
    let pruner = pruning::spawn(auth.clone(), pruning);

    // On shutdown, tell load balancers first (health goes NOT_SERVING), then let in-flight
    // requests finish, but not forever (the listener's grace): a health Watch stream, for
    // one, never ends.
    let shutdown = async move {
        shutdown.await;
        for service in ["", AUTH_SERVICE_NAME] {
            draining
                .set_service_status(service, ServingStatus::NotServing)
                .await;
        }
        tracing::info!("shutting down: health says NOT_SERVING while requests finish");
    };

    // Each reflection version lists the other too, so every client sees every service.
    let reflection = |other_reflection: &'static [u8]| {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(other_reflection)
            // google.rpc.BadRequest, so grpcurl can print the field violations it receives.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    let max_message = limits.max_message_bytes;
    let reflection_v1 = reflection(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(reflection_error)?
        .max_decoding_message_size(max_message);
    let reflection_v1alpha = reflection(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(reflection_error)?
        .max_decoding_message_size(max_message);
    let health_service = health_service.max_decoding_message_size(max_message);
    let auth_service =
        AuthServiceServer::new(GrpcAuth::new(auth.clone())).max_decoding_message_size(max_message);

    // gRPC services join the REST router as routes of their own, so HTTP/1.1 JSON and
    // HTTP/2 gRPC share the port; the REST fallback answers everything else.
    let body_limits = BodyLimits {
        max_bytes: max_message,
        timeout: limits.body_timeout,
    };
    let grpc = GrpcService {
        deadline: limits.request_timeout,
        requests: RequestsLayer::new(auth.clone(), Transport::Grpc),
    };
    let exposition = Exposition::new(auth.clone());
    let upkeep = tokio::spawn(exposition.clone().upkeep());
    let mut rest = rest::router(auth.clone(), body_limits)?;
    let mut metrics_server = None;
    match metrics {
        Exposure::MainPort => rest = rest.merge(exposition.router()),
        Exposure::Own(listener) => {
            metrics_server = Some(serve_metrics(listener, exposition, &limits));
        }
        Exposure::Off => {}
    }
    let rest = rest.layer(RequestsLayer::new(auth, Transport::Rest));
    let routes = Routes::from(rest)
        .add_service(grpc.wrap(health_service))
        .add_service(grpc.wrap(reflection_v1))
        .add_service(grpc.wrap(reflection_v1alpha))
        .add_service(grpc.wrap(auth_service));
    let service = tower::ServiceBuilder::new()
        .option_layer(cors)
        .service(routes);

    listener::serve(listener, service, &limits, tls, shutdown, shutdown_grace).await;
    monitor.abort();
    if let Some(reloader) = reloader {
        reloader.abort();
    }
    if let Some(pruner) = pruner {
        pruner.abort();
    }
    upkeep.abort();
    if let Some((stop, server)) = metrics_server {
        let _ = stop.send(());
        let _ = server.await;
    }
    Ok(())
}

/// Serves `/metrics` alone on its own listener, with the main port's connection limits,
/// until the sender returned is used (or dropped).
fn serve_metrics(
    listener: TcpListener,
    exposition: Exposition,
    limits: &ConnectionLimits,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "metrics listening");
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let limits = limits.clone();
    let server = tokio::spawn(async move {
        let stopped = async move {
            let _ = stopped.await;
        };
        listener::serve(
            listener,
            exposition.router(),
            &limits,
            None,
            stopped,
            Duration::ZERO,
        )
        .await;
    });
    (stop, server)
}

/// What every gRPC service on the port is wrapped in: the call deadline, the request
/// layer (ids, metrics, the log line), then grpc-web.
struct GrpcService {
    deadline: Duration,
    requests: RequestsLayer,
}

impl GrpcService {
    fn wrap<S>(&self, service: S) -> GrpcWebService<Requests<Deadline<S>>> {
        GrpcWebLayer::new().layer(self.requests.layer(Deadline::new(service, self.deadline)))
    }
}

/// How often health follows the database, and how long one check may take.
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);

const AUTH_SERVICE_NAME: &str = <AuthServiceServer<GrpcAuth> as NamedService>::NAME;

/// Keeps `grpc.health.v1` truthful: NOT_SERVING (for the whole server and for
/// `auth.v1.AuthService`) while the database does not answer, SERVING again once it does.
async fn watch_database(auth: Arc<Auth>, health: HealthReporter) {
    let mut serving = true;
    loop {
        tokio::time::sleep(HEALTH_INTERVAL).await;
        let ready = auth.check_database(HEALTH_INTERVAL * 2).await;
        if ready == serving {
            continue;
        }
        serving = ready;
        let status = if ready {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        health.set_service_status("", status).await;
        health.set_service_status(AUTH_SERVICE_NAME, status).await;
        if ready {
            tracing::info!("database reachable again; serving");
        } else {
            tracing::warn!("database unreachable; health reports NOT_SERVING");
        }
    }
}

fn reflection_error(error: tonic_reflection::server::Error) -> Error {
    Error::Internal(format!("reflection descriptors: {error}"))
}
