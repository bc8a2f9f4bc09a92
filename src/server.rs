//! Builds the service state and serves it: `build` once, then `run` until shutdown.
//!
//! One listener carries everything: the Django-compatible REST endpoints (HTTP/1.1 or 2),
//! `auth.v1.AuthService`, `grpc.health.v1.Health`, and server reflection in both v1 and
//! v1alpha (grpcurl 1.8 and Python's grpcio speak only v1alpha; buf speaks v1), so
//! `grpcurl -plaintext HOST list` works without .proto files. Every gRPC service also
//! speaks grpc-web for browsers: `GrpcWebLayer` wraps each gRPC service and nothing else,
//! because around the REST router it would answer plain HTTP/1.1 requests with 400.

use std::{future::Future, sync::Arc, time::Duration};

use tokio::net::TcpListener;
use tonic::{
    server::NamedService,
    service::Routes,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::{ServingStatus, server::HealthReporter};
use tonic_web::GrpcWebLayer;
use tower::Layer;

use crate::{
    auth::Auth,
    clock::Clock,
    config::Config,
    error::Error,
    grpc::{GrpcAuth, MAX_REQUEST_BYTES},
    pb::{self, auth_service_server::AuthServiceServer},
    rest,
    store::Store,
};

/// Everything `run` serves: the core, the browser origins allowed to call it, and how long
/// shutdown waits for open requests.
pub struct App {
    pub auth: Arc<Auth>,
    pub cors: Option<tower_http::cors::CorsLayer>,
    pub shutdown_grace: Duration,
}

/// Opens (and migrates) the database and prepares the core.
pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> Result<App, Error> {
    let cors = crate::cors::layer(&config.cors_origins)?;
    let store = Store::connect(config.database_url.expose(), config.pool_settings()).await?;
    tracing::info!(engine = %store.engine_version().await?, "database ready");
    let auth = Arc::new(Auth::new(store, config.auth_settings(), clock).await?);
    let shutdown_grace = Duration::from_secs(config.shutdown_grace.unsigned_abs());
    Ok(App {
        auth,
        cors,
        shutdown_grace,
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
        shutdown_grace,
    } = app;
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<AuthServiceServer<GrpcAuth>>().await;
    let draining = health.clone();
    let monitor = tokio::spawn(watch_database(auth.clone(), health));

    // On shutdown, tell load balancers first (health goes NOT_SERVING), then let in-flight
    // requests finish, but not forever: a health Watch stream, for one, never ends.
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown.await;
        for service in ["", AUTH_SERVICE_NAME] {
            draining
                .set_service_status(service, ServingStatus::NotServing)
                .await;
        }
        tracing::info!("shutting down: health says NOT_SERVING while requests finish");
        let _ = stopping.send(());
    };
    let grace_over = async move {
        match stopped.await {
            Ok(()) => tokio::time::sleep(shutdown_grace).await,
            Err(_) => std::future::pending().await,
        }
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
    let reflection_v1 = reflection(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(reflection_error)?;
    let reflection_v1alpha = reflection(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(reflection_error)?;

    let auth_service = AuthServiceServer::new(GrpcAuth::new(auth.clone()))
        .max_decoding_message_size(MAX_REQUEST_BYTES);

    // gRPC services join the REST router as routes of their own, so HTTP/1.1 JSON and
    // HTTP/2 gRPC share the port; the REST fallback answers everything else.
    let grpc_web = GrpcWebLayer::new();
    let routes = Routes::from(rest::router(auth)?)
        .add_service(grpc_web.layer(health_service))
        .add_service(grpc_web.layer(reflection_v1))
        .add_service(grpc_web.layer(reflection_v1alpha))
        .add_service(grpc_web.layer(auth_service));

    // Unary RPCs are small writes: without TCP_NODELAY, Nagle's algorithm adds ~40 ms.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let server = Server::builder()
        .accept_http1(true)
        .layer(tower::util::option_layer(cors))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown);
    let served = tokio::select! {
        served = server => served.map_err(|e| Error::Internal(format!("server: {e}"))),
        () = grace_over => {
            tracing::warn!(?shutdown_grace, "requests still open after the grace period; closing them");
            Ok(())
        }
    };
    monitor.abort();
    served
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
