//! The `authd` binary itself, as `cargo run` starts it: defaults, first-start creation of
//! the database, the logged address, graceful SIGTERM, and logs free of secrets.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Command, Stdio},
    time::Duration,
};

use authd::pb::{LoginRequest, RegisterRequest, auth_service_client::AuthServiceClient};

use crate::helpers::PASSWORD;

#[tokio::test]
async fn the_binary_creates_its_database_serves_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_authd"))
        .current_dir(dir.path())
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("AUTHD_DATABASE_URL")
        .env("AUTHD_LOG", "debug")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());

    // Wait (bounded) for the line that names the bound address.
    let (address, mut log, mut stderr) = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || {
            let mut log = String::new();
            loop {
                let mut line = String::new();
                if stderr.read_line(&mut line).unwrap() == 0 {
                    panic!("authd exited before listening:\n{log}");
                }
                log.push_str(&line);
                if let Some(address) = line.split("address=").nth(1) {
                    return (address.trim().to_string(), log, stderr);
                }
            }
        }),
    )
    .await
    .expect("authd did not start within 30 s")
    .unwrap();
    assert!(
        dir.path().join("authd.db").exists(),
        "the default database file is created"
    );

    let mut client = AuthServiceClient::connect(format!("http://{address}"))
        .await
        .unwrap();
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

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest = tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).map(|_| rest)
    });
    log.push_str(&rest.await.unwrap().unwrap());
    let exit = child.wait().unwrap();
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
