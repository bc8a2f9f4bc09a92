//! The `authd` binary itself, as `cargo run` starts it: defaults, first-start creation of
//! the database, the logged address, graceful SIGTERM, and logs free of secrets.

use authd::pb::{LoginRequest, RegisterRequest};

use crate::helpers::{Node, PASSWORD};

#[tokio::test]
async fn the_binary_creates_its_database_serves_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path(), &["--log", "debug"]).await;
    assert!(
        dir.path().join("authd.db").exists(),
        "the default database file is created"
    );

    let mut client = node.client().await;
    client
        .register(RegisterRequest {
            username: "alice".into(),
            email: "alice@example.com".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    let tokens = client
        .login(LoginRequest {
            username: "alice".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap();
    drop(client);

    let exit = node.terminate().await;
    // The log reader thread may still be draining the last lines.
    let mut log = node.log();
    for _ in 0..50 {
        if log.contains("stopped cleanly") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        log = node.log();
    }
    assert!(exit.success(), "authd exited with {exit:?}:\n{log}");
    assert!(log.contains("stopped cleanly"), "{log}");
    for secret in [PASSWORD, &tokens.access_token, &tokens.refresh_token] {
        assert!(!log.contains(secret), "a secret reached the log:\n{log}");
    }
    assert!(
        !log.contains("$argon2id$"),
        "a password hash reached the log:\n{log}"
    );
}
