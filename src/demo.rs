//! The demo page at `/`: sign up, sign in, "me", refresh and sign out, all over grpc-web.
//!
//! Its files are built from `web/` (TypeScript generated from `proto/` by protoc-gen-es,
//! bundled by esbuild into `web/dist/app.js`, which is committed) and compiled into the
//! binary, so `cargo build` needs no Node. The page is same-origin with the API, so it needs
//! no CORS; its Content-Security-Policy allows nothing but this origin.

use axum::{
    Router,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};

const INDEX_HTML: &str = include_str!("../web/index.html");
const APP_JS: &str = include_str!("../web/dist/app.js");
const STYLE_CSS: &str = include_str!("../web/style.css");

/// Scripts, styles, images and calls from this origin only; never framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";

/// The page's routes, to merge into the REST router (whose headers and 404 they share).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML, true) }),
        )
        .route(
            "/assets/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS, false) }),
        )
        .route(
            "/assets/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS, false) }),
        )
}

fn asset(content_type: &'static str, body: &'static str, is_page: bool) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if is_page {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    response
}
