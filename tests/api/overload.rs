//! Overload: password hashing waits in a bounded line, and a full line or a passed deadline
//! is answered at once with UNAVAILABLE / 503 and a retry-after, never INTERNAL or a 500.
//!
//! Hashing is made slow on purpose (64 MiB, 10 passes: a few hundred milliseconds) with one
//! slot, so a burst of logins is sure to find the line full or to wait past the deadline.

use futures::future::join_all;
use serde_json::json;
use tonic::{Code, Request};
use tonic_types::StatusExt;

use crate::helpers::{PASSWORD, TestApp, post_json};

/// A server with one slow hashing slot and a line of `queue`, waiting at most `wait`.
async fn spawn(queue: &str, wait: &str) -> TestApp {
    TestApp::spawn_with(&[
        "--hash-concurrency",
        "1",
        "--hash-queue",
        queue,
        "--hash-wait",
        wait,
        "--argon2-memory-kib",
        "65536",
        "--argon2-iterations",
        "10",
    ])
    .await
}

#[tokio::test]
async fn a_full_hashing_line_is_unavailable_with_retry_info_at_once() {
    let app = spawn("1", "30s").await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();

    let logins = (0..8).map(|_| app.login("alice", PASSWORD));
    let results = join_all(logins).await;

    let mut refused = 0;
    for result in &results {
        match result {
            Ok(response) => assert!(response.tokens.is_some()),
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                let wait = status.metadata().get("retry-after").unwrap();
                let wait: u64 = wait.to_str().unwrap().parse().unwrap();
                assert!(wait >= 1, "{status:?}");
                let retry = status.get_details_retry_info().unwrap();
                assert_eq!(
                    retry.retry_delay,
                    Some(std::time::Duration::from_secs(wait))
                );
                refused += 1;
            }
        }
    }
    // One slot and a line of one: of eight at once, at most two can have been taken in.
    assert!(refused >= 6, "{results:?}");

    // The line drains and serves again.
    app.login("alice", PASSWORD).await.unwrap();
}

#[tokio::test]
async fn waiting_past_the_deadline_is_503_with_retry_after_over_rest() {
    let app = spawn("16", "50ms").await;
    app.register("bob", "bob@example.com", PASSWORD)
        .await
        .unwrap();

    let body = json!({ "username": "bob", "password": PASSWORD });
    let logins = (0..4).map(|_| post_json(&app, "/auth/login/", &body));
    let replies = join_all(logins).await;

    let mut refused = 0;
    for reply in &replies {
        match reply.status {
            200 => assert_eq!(reply.json["message"], "Login successful", "{reply:?}"),
            503 => {
                reply.assert(
                    503,
                    json!({ "detail": "Service temporarily unavailable, try again later." }),
                );
                let wait: u64 = reply.header("retry-after").unwrap().parse().unwrap();
                assert!(wait >= 1, "{reply:?}");
                refused += 1;
            }
            _ => panic!("{reply:?}"),
        }
    }
    // Each hash takes far longer than 50 ms, so only the first can have had the slot.
    assert!(refused >= 3, "{replies:?}");
}

#[tokio::test]
async fn a_client_deadline_ends_the_wait_and_the_service_carries_on() {
    let app = spawn("16", "30s").await;
    app.register("carol", "carol@example.com", PASSWORD)
        .await
        .unwrap();

    let short = (0..4).map(|_| async {
        let mut request = Request::new(authd::pb::LoginRequest {
            username: "carol".into(),
            password: PASSWORD.into(),
            email: String::new(),
        });
        request.set_timeout(std::time::Duration::from_millis(50));
        app.client().await.login(request).await
    });
    for result in join_all(short).await {
        if let Err(status) = result {
            assert!(
                matches!(
                    status.code(),
                    Code::DeadlineExceeded | Code::Cancelled | Code::Unavailable
                ),
                "{status:?}"
            );
        }
    }
    app.login("carol", PASSWORD).await.unwrap();
}
