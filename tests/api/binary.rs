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
            email: String::new(),
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

/// The whole log of a node started with `env`, from start (the "listening" line is
/// written before the address file) to its exit. A SIGTERM this early may arrive before the
/// signal handler is in place, so how it exits is not the question here.
async fn whole_log(env: &[(&str, Option<&str>)], args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start_with_env(dir.path(), args, env).await;
    node.terminate().await;
    node.finish_reading();
    node.log()
}

#[tokio::test]
async fn rust_log_is_read_when_authd_log_and_log_are_unset() {
    let quiet = whole_log(&[("RUST_LOG", Some("warn"))], &[]).await;
    assert!(!quiet.contains("authd listening"), "{quiet}");
    let neither = whole_log(&[], &[]).await;
    assert!(neither.contains("authd listening"), "{neither}");
}

#[tokio::test]
async fn authd_log_and_log_come_before_rust_log() {
    let by_variable = whole_log(
        &[("RUST_LOG", Some("warn")), ("AUTHD_LOG", Some("info"))],
        &[],
    )
    .await;
    assert!(by_variable.contains("authd listening"), "{by_variable}");
    let by_flag = whole_log(&[("RUST_LOG", Some("warn"))], &["--log", "info"]).await;
    assert!(by_flag.contains("authd listening"), "{by_flag}");
}
