//! Verifies authd's access tokens inside a tonic or axum service, with one dependency and
//! without the server.
//!
//! A service that trusts authd has two ways to check an `authorization: Bearer <access JWT>`,
//! and this crate offers both behind one [`Verifier`]:
//!
//! - **Locally** ([`Verifier::jwks`], or [`Verifier::hs256`] for `--jwt-algorithm hs256`
//!   deployments): the signature against authd's JWKS (fetched once, cached, refetched when
//!   a token names an unknown `kid` — at most once per [`Builder::refetch_at_most_every`] —
//!   and every [`Builder::refresh_every`]), each `kid` pinned to its JWK's `alg` (EdDSA or
//!   ES256; `none` and HS* are refused), then `iss`, `aud`, `exp`/`nbf`/`iat` with a small
//!   leeway and `token_type == "access"`. No round trip per request, and authd may be down;
//!   but a signature cannot know about a logout: a revoked session's access token passes
//!   until it expires (60 minutes by default).
//! - **By asking authd** ([`Verifier::validate_token`]): its `ValidateToken` RPC, which knows
//!   about logouts, `RevokeAll`, password changes and retired keys. Positive answers are
//!   cached for [`Builder::cache_ttl`] (a few seconds, bounded in size), so a revocation
//!   takes effect here at the latest that long after authd learned of it; refusals are never
//!   cached. Every uncached request costs a round trip, and authd down means 503/UNAVAILABLE.
//!
//! [`AuthdLayer`] puts either in front of any tower HTTP service (an axum `Router` or a tonic
//! `Server`): a missing or refused token is answered with `UNAUTHENTICATED` for gRPC requests
//! or `401` with `WWW-Authenticate: Bearer` for plain HTTP, and an accepted one puts its
//! [`Claims`] in the request's extensions. [`Verifier::authenticate`] does the same for one
//! `tonic::Request`, for services that check inside a handler, and
//! [`Verifier::interceptor`] is a synchronous tonic interceptor for the local modes.
//!
//! ```no_run
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! use authd_verify::{AuthdLayer, Verifier};
//!
//! let verifier = Verifier::jwks("http://127.0.0.1:50051/.well-known/jwks.json").build()?;
//! let (_reporter, health) = tonic_health::server::health_reporter();
//! tonic::transport::Server::builder()
//!     .layer(AuthdLayer::new(verifier))
//!     .add_service(health)
//!     .serve("127.0.0.1:50052".parse()?)
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! Nothing here logs, and no error carries a token or a part of one.
//!
//! Layout: [`verifier`] (the modes), [`builder`] (their settings), `keys` (the JWKS cache), `remote`
//! (the ValidateToken client and its cache), [`layer`] (tower), [`interceptor`] (tonic), [`claims`], [`error`],
//! [`clock`].

pub mod builder;
pub mod claims;
pub mod clock;
pub mod error;
pub mod interceptor;
mod keys;
pub mod layer;
mod remote;
pub mod verifier;

/// authd's `auth.v1` messages and client, generated from its `proto/`.
#[allow(clippy::all, missing_docs)]
mod pb {
    tonic::include_proto!("auth.v1");
}

pub use builder::Builder;
pub use claims::Claims;
pub use clock::{Clock, SystemClock};
pub use error::Error;
pub use interceptor::TokenInterceptor;
pub use layer::{AuthdLayer, AuthdService};
pub use verifier::Verifier;
