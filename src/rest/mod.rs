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
mod health;
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
    extract::State,
    http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, header},
    middleware::map_response,
    response::{IntoResponse, Response},
    routing::{MethodRouter, any, delete, get, post},
};

use crate::{auth::Auth, error::Error};
use caller::{RequestContext, authorization, credentials_dialect};
pub use payload::BodyLimits;
use reply::{Dialect, Failure};

/// Every REST path, with the trailing slash Django's URLs have.
fn endpoints() -> [(&'static str, MethodRouter<Arc<Auth>>); 13] {
    [
        ("/api/create/", post(token_api::create)),
        ("/api/token/", post(token_api::token)),
        (
            "/api/me/",
            authenticated(get(token_api::me), Dialect::TokenAuthentication, "GET,HEAD"),
        ),
        ("/auth/register/", post(jwt_api::register)),
        ("/auth/registration/", post(jwt_api::register)),
        ("/auth/login/", post(jwt_api::login)),
        ("/auth/token/refresh/", post(jwt_api::refresh)),
        ("/auth/token/verify/", post(jwt_api::verify)),
        (
            "/auth/me/",
            authenticated(get(jwt_api::me), Dialect::JwtAuthentication, "GET,HEAD"),
        ),
        ("/auth/logout/", post(jwt_api::logout)),
        (
            "/auth/sessions/",
            authenticated(
                get(account_api::list_sessions),
                Dialect::JwtAuthentication,
                "GET,HEAD",
            ),
        ),
        (
            "/auth/sessions/{id}/",
            authenticated(
                delete(account_api::revoke_session),
                Dialect::JwtAuthentication,
                "DELETE",
            ),
        ),
        (
            "/auth/password/change/",
            authenticated(
                post(account_api::change_password),
                Dialect::JwtAuthentication,
                "POST",
            ),
        ),
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
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
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

/// An endpoint that authenticates: as DRF does, its credentials are checked before its
/// method, so a wrong method without (or with bad) credentials is that 401, and only an
/// authenticated caller learns which methods the endpoint takes (405 with `Allow`).
fn authenticated(
    route: MethodRouter<Arc<Auth>>,
    dialect: Dialect,
    allow: &'static str,
) -> MethodRouter<Arc<Auth>> {
    route.fallback(
        move |State(auth): State<Arc<Auth>>,
              RequestContext(ctx): RequestContext,
              method: Method,
              headers: HeaderMap| async move {
            let dialect = credentials_dialect(&headers, dialect);
            let authorization = match authorization(&headers) {
                Ok(authorization) => authorization,
                Err(error) => return dialect.reply(error),
            };
            if let Err(error) = auth
                .me(&ctx, authorization.as_deref(), token_api::ACCEPTED)
                .await
            {
                return dialect.reply(error);
            }
            let mut response = Dialect::Drf.reply(Failure::MethodNotAllowed(method));
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            response
        },
    )
}

async fn method_not_allowed(method: Method) -> Response {
    Dialect::Drf.reply(Failure::MethodNotAllowed(method))
}

/// JSON 404 for browsers and REST clients; gRPC clients calling a service that does not
/// exist get the gRPC answer, UNIMPLEMENTED — grpc-web clients in grpc-web's own framing
/// (a trailers-only answer: the status in the headers, with their content type), which is
/// what their libraries read.
async fn not_found(request: Request<Body>) -> Response {
    let content_type = request.headers().get(header::CONTENT_TYPE).cloned();
    let content_type = content_type.as_ref().map(HeaderValue::as_bytes);
    match content_type {
        Some(value) if value.starts_with(b"application/grpc-web") => grpc_web_unimplemented(value),
        Some(value) if value.starts_with(b"application/grpc") => {
            tonic::Status::unimplemented("no such service").into_http()
        }
        _ => Dialect::Drf.reply(Failure::NotFound),
    }
}

fn grpc_web_unimplemented(content_type: &[u8]) -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_bytes(content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/grpc-web+proto"));
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(
        "grpc-status",
        HeaderValue::from(tonic::Code::Unimplemented as i32),
    );
    headers.insert(
        "grpc-message",
        HeaderValue::from_static("no%20such%20service"),
    );
    response
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
