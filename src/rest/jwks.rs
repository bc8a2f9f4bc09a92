//! `GET /.well-known/jwks.json`: the public keys other services verify authd's tokens with.
//!
//! Tokens are EdDSA- (or ES256-) signed and carry a `kid` header naming one of these keys,
//! so a service that trusts authd needs no shared secret: it fetches this document (and may
//! cache it for the advertised five minutes), picks the key by `kid`, and checks signature,
//! `iss`, `aud`, `exp` and `token_type` itself. Checking that the session is still live
//! needs authd (`ValidateToken`); a signature alone cannot know about a logout. With HS256
//! the document is empty: the verifying services hold the secret. After a key rotation the
//! document lists the new key and, for as long as a token it signed may still be live, the
//! old one; a retired key is gone from it at once.

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Serialize;

use super::{caller::RequestContext, reply::Dialect};
use crate::auth::{
    Auth,
    keys::ec_coordinates,
    model::{KeyAlgorithm, VerificationKey},
};

/// A JSON Web Key Set (RFC 7517).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JwkSet {
    pub keys: Vec<PublicJwk>,
}

/// A verification key as a JSON Web Key: an Ed25519 one (RFC 8037) or a P-256 one (RFC 7518).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicJwk {
    /// `OKP` (Ed25519) or `EC` (P-256).
    pub kty: &'static str,
    /// `Ed25519` or `P-256`.
    pub crv: &'static str,
    /// The public key (Ed25519) or its x coordinate (P-256), base64url without padding.
    pub x: String,
    /// The y coordinate of a P-256 key, base64url without padding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The `kid` tokens signed with this key carry (its RFC 7638 thumbprint).
    pub kid: String,
    #[serde(rename = "use")]
    pub usage: &'static str,
    pub alg: &'static str,
}

impl PublicJwk {
    /// The JWK of `key`; `None` for a P-256 key not in uncompressed form (never stored).
    fn of(key: &VerificationKey) -> Option<Self> {
        let (kty, crv, x, y) = match key.algorithm {
            KeyAlgorithm::EdDsa => (
                "OKP",
                "Ed25519",
                URL_SAFE_NO_PAD.encode(&key.public_key),
                None,
            ),
            KeyAlgorithm::Es256 => {
                let (x, y) = ec_coordinates(&key.public_key)?;
                ("EC", "P-256", x, Some(y))
            }
        };
        Some(Self {
            kty,
            crv,
            x,
            y,
            kid: key.kid.clone(),
            usage: "sig",
            alg: key.algorithm.as_str(),
        })
    }
}

/// `GET /.well-known/jwks.json`.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys",
    responses((status = 200, description = "The keys that verify authd's tokens", body = JwkSet)))]
pub async fn document(
    State(auth): State<Arc<Auth>>,
    RequestContext(ctx): RequestContext,
) -> Response {
    let keys = match auth.public_keys(&ctx).await {
        Ok(keys) => keys.iter().filter_map(PublicJwk::of).collect(),
        Err(error) => return Dialect::Drf.reply(error),
    };
    let mut response = Json(JwkSet { keys }).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
