//! Services guarded by `authd-verify`, as another team would run them: a tonic server
//! (`grpc.health.v1.Health` behind `AuthdLayer`, or behind the synchronous interceptor) and an axum one (`GET /whoami` answering
//! the claims the layer left in the extensions), each on 127.0.0.1:0, and the `TestApp`'s
//! clock lent to a verifier so expiry and caching move with the server's time.

use std::net::SocketAddr;

use authd::clock::ManualClock;
use authd_verify::{AuthdLayer, Claims, Verifier};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Code, Request, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// A `TestApp`'s manual clock as the verifier's clock.
pub struct AppClock(pub ManualClock);

impl authd_verify::Clock for AppClock {
    fn now(&self) -> i64 {
        authd::clock::Clock::now(&self.0)
    }
}

/// The JWKS URL of the authd at `address`.
pub fn jwks_url(address: SocketAddr) -> String {
    format!("http://{address}/.well-known/jwks.json")
}

/// A tonic server of `grpc.health.v1.Health` behind `verifier`, and its address.
pub async fn guarded_grpc(verifier: Verifier) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(async move {
        let _reporter = reporter;
        tonic::transport::Server::builder()
            .layer(AuthdLayer::new(verifier))
            .add_service(health)
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    address
}

/// `Health/Check` on `address` with `authorization: <value>` if given: the status code.
pub async fn health_check(address: SocketAddr, authorization: Option<&str>) -> Code {
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut request = Request::new(HealthCheckRequest::default());
    if let Some(value) = authorization {
        request
            .metadata_mut()
            .insert("authorization", value.parse().unwrap());
    }
    match HealthClient::new(channel).check(request).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// An axum server whose `GET /whoami` answers the verified claims as JSON, behind
/// `verifier`, and its address.
pub async fn guarded_http(verifier: Verifier) -> SocketAddr {
    async fn whoami(axum::Extension(claims): axum::Extension<Claims>) -> axum::Json<Claims> {
        axum::Json(claims)
    }
    let router = axum::Router::new()
        .route("/whoami", axum::routing::get(whoami))
        .layer(AuthdLayer::new(verifier));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

/// A tonic server of `grpc.health.v1.Health` behind a synchronous interceptor, and its
/// address.
pub async fn intercepted_grpc(interceptor: authd_verify::TokenInterceptor) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (reporter, health) = tonic_health::server::health_reporter();
    let intercepted = tonic::service::interceptor::InterceptedService::new(health, interceptor);
    tokio::spawn(async move {
        let _reporter = reporter;
        tonic::transport::Server::builder()
            .add_service(intercepted)
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    address
}
