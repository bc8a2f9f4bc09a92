//! `GET /healthz` and `GET /readyz`: health in plain HTTP, for load balancers and
//! orchestrators that do not speak gRPC (`grpc.health.v1` answers the ones that do).
//!
//! `/healthz` says the process is up and serving requests: it never touches the database,
//! so a slow database does not get a healthy process restarted. `/readyz` says the
//! database answers (within a second), so traffic is sent elsewhere while it does not.
//! Neither is cached by anything on the way.

use std::{sync::Arc, time::Duration};

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, StatusCode, header::CACHE_CONTROL},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::auth::Auth;

/// How long `/readyz` waits for the database.
const READY_WITHIN: Duration = Duration::from_secs(1);

/// `GET /healthz`: 200 while the process serves.
pub async fn healthz() -> Response {
    uncached((StatusCode::OK, Json(json!({ "status": "ok" }))))
}

/// `GET /readyz`: 200 when the database answers, 503 when it does not.
pub async fn readyz(State(auth): State<Arc<Auth>>) -> Response {
    if auth.check_database(READY_WITHIN).await {
        uncached((StatusCode::OK, Json(json!({ "status": "ready" }))))
    } else {
        uncached((
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "detail": "the database does not answer" })),
        ))
    }
}

fn uncached(reply: impl IntoResponse) -> Response {
    let mut response = reply.into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
