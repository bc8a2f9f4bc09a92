//! `GET /.well-known/jwks.json`: the public keys other services verify authd's tokens with.
//!
//! Tokens are EdDSA-signed and carry a `kid` header naming one of these keys, so a service
//! that trusts authd needs no shared secret: it fetches this document (and may cache it for
//! the advertised five minutes), picks the key by `kid`, and checks signature, `iss`, `aud`,
//! `exp` and `token_type` itself. Checking that the session is still live needs authd
//! (`GetMe`); a signature alone cannot know about a logout.

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::auth::{Auth, tokens::PublicJwk};

/// A JSON Web Key Set (RFC 7517).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JwkSet<'a> {
    pub keys: &'a [PublicJwk],
}

/// `GET /.well-known/jwks.json`.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys",
    responses((status = 200, description = "The keys that verify authd's tokens", body = JwkSet)))]
pub async fn document(State(auth): State<Arc<Auth>>) -> Response {
    let mut response = Json(JwkSet {
        keys: auth.public_keys(),
    })
    .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
