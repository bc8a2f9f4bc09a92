//! The REST gateway: the JSON endpoints of the two Django APIs authd replaces, served on the
//! same listener as gRPC, as thin handlers over the same core.
//!
//! The DRF token API lives in `token_api`, the JWT API in `jwt_api`. This module adds what
//! DRF and Django did around every view: a 301 to the trailing-slash path, JSON 404 and 405
//! (with `Allow`), and the security headers on every response. Each request's context is
//! built in `caller`, bodies are parsed in `payload`, and every failure is worded in
//! `reply`. No rule about users or tokens lives here.

// Handlers return `Result<Response, Response>` (a failure is a finished response), the axum
// idiom; the size of the error side does not matter for a value built once per request.
#![allow(clippy::result_large_err)]

mod account_api;
mod caller;
mod jwks;
mod jwt_api;
mod openapi;
mod openapi_failures;
mod payload;
mod reply;
mod token_api;

use std::sync::Arc;

use axum::{
    Extension, Router,
    body::Body,
    http::{HeaderValue, Method, Request, StatusCode, Uri, header},
    middleware::map_response,
    response::{IntoResponse, Response},
    routing::{MethodRouter, any, delete, get, post},
};

use crate::{auth::Auth, error::Error};
pub use payload::BodyLimits;
use reply::{Dialect, Failure};

/// Every REST path, with the trailing slash Django's URLs have.
fn endpoints() -> [(&'static str, MethodRouter<Arc<Auth>>); 13] {
    [
        ("/api/create/", post(token_api::create)),
        ("/api/token/", post(token_api::token)),
        ("/api/me/", get(token_api::me)),
        ("/auth/register/", post(jwt_api::register)),
        ("/auth/registration/", post(jwt_api::register)),
        ("/auth/login/", post(jwt_api::login)),
        ("/auth/token/refresh/", post(jwt_api::refresh)),
        ("/auth/token/verify/", post(jwt_api::verify)),
        ("/auth/me/", get(jwt_api::me)),
        ("/auth/logout/", post(jwt_api::logout)),
        ("/auth/sessions/", get(account_api::list_sessions)),
        ("/auth/sessions/{id}/", delete(account_api::revoke_session)),
        ("/auth/password/change/", post(account_api::change_password)),
    ]
}

/// The gateway's router, ready to be merged with the gRPC services, reading request bodies
/// within `body_limits`. Fails only if the OpenAPI document cannot be written, which is a
/// bug worth refusing to start over.
pub fn router(auth: Arc<Auth>, body_limits: BodyLimits) -> Result<Router, Error> {
    let openapi = openapi::document()?;
    let mut router = Router::new();
    for (path, handler) in endpoints() {
        let without_slash = path.trim_end_matches('/');
        router = router
            .route(path, handler)
            .route(without_slash, any(add_trailing_slash));
    }
    Ok(router
        .route(
            "/api/openapi.json",
            get(move || async move { openapi::serve(openapi.clone()) }),
        )
        .route("/.well-known/jwks.json", get(jwks::document))
        .merge(crate::demo::routes())
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(map_response(security_headers))
        .layer(Extension(body_limits))
        .with_state(auth))
}

/// Django's `APPEND_SLASH`: a known path without its slash is redirected to it.
async fn add_trailing_slash(uri: Uri) -> Response {
    let location = match uri.query() {
        Some(query) => format!("{}/?{query}", uri.path()),
        None => format!("{}/", uri.path()),
    };
    let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

async fn method_not_allowed(method: Method) -> Response {
    Dialect::Drf.reply(Failure::MethodNotAllowed(method))
}

/// JSON 404 for browsers and REST clients; gRPC clients calling a service that does not
/// exist get the gRPC answer, UNIMPLEMENTED.
async fn not_found(request: Request<Body>) -> Response {
    let is_grpc = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"));
    if is_grpc {
        return tonic::Status::unimplemented("no such service").into_http();
    }
    Dialect::Drf.reply(Failure::NotFound)
}

/// The headers Django's security middleware put on every response.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}
