//! A tonic service behind authd: `grpc.health.v1.Health`, answering only callers with a
//! live authd access token, verified locally against authd's JWKS.
//!
//! ```sh
//! cargo run --release                      # authd, in another terminal, on 127.0.0.1:50051
//! cargo run -p authd-verify --example protected_service -- 127.0.0.1:50052 http://127.0.0.1:50051
//! grpcurl -plaintext -H "authorization: Bearer $ACCESS" -import-path proto \
//!   -proto health.proto 127.0.0.1:50052 grpc.health.v1.Health/Check
//! ```
//! Without a token, or with a refresh token, the call fails with `Unauthenticated`.

use std::error::Error;

use authd_verify::{AuthdLayer, Verifier};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:50052".into());
    let authd = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:50051".into());

    let verifier = Verifier::jwks(format!("{authd}/.well-known/jwks.json")).build()?;
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = TcpListener::bind(&listen).await?;
    println!(
        "serving grpc.health.v1.Health on {}",
        listener.local_addr()?
    );
    tonic::transport::Server::builder()
        .layer(AuthdLayer::new(verifier))
        .add_service(health)
        .serve_with_incoming(TcpListenerStream::new(listener))
        .await?;
    Ok(())
}
