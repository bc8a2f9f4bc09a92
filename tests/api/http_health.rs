//! Health in plain HTTP for load balancers without gRPC (`/healthz`, `/readyz`), and
//! `authd health`, the probe a container HEALTHCHECK runs with the binary itself. (The
//! database going away and `/readyz` saying so is in `faults.rs`, on PostgreSQL.)

use serde_json::json;

use crate::helpers::{Node, TestApp, authd, get_with_auth};

#[tokio::test]
async fn healthz_and_readyz_answer_in_plain_http_and_are_never_cached() {
    let app = TestApp::spawn().await;
    let healthz = get_with_auth(&app, "/healthz", None).await;
    healthz.assert(200, json!({ "status": "ok" }));
    assert_eq!(healthz.header("cache-control"), Some("no-store"));
    let readyz = get_with_auth(&app, "/readyz", None).await;
    readyz.assert(200, json!({ "status": "ready" }));
    assert_eq!(readyz.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn authd_health_succeeds_against_a_ready_server_and_fails_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/authd.db", dir.path().display());
    let mut node = Node::start(dir.path(), &["--database-url", &database]).await;
    let address = node.address.clone();
    let port = address.rsplit_once(':').unwrap().1.to_string();
    let ran = authd(&["health", "--address", &address], "").await;
    assert_eq!(ran.ok(), "ready\n");
    // 0.0.0.0, as a container's AUTHD_LISTEN says, means this machine.
    let unspecified = format!("0.0.0.0:{port}");
    assert_eq!(
        authd(&["health", "--address", &unspecified], "").await.ok(),
        "ready\n"
    );

    node.terminate().await;
    let down = authd(&["health", "--address", &address], "").await;
    assert!(down.failed().contains(&address), "{down:?}");
}
