//! Start-up that fails early and clearly: every setting is checked and the port bound
//! before the database is opened, so a mistake names itself and leaves no database,
//! signing key or key file behind.

use crate::helpers::refused_start;

/// Starts the binary with `args` in a fresh directory, expecting a refusal: its log, and
/// whether it left anything in the directory.
async fn refused(args: &[&str], env: &[(&str, &str)]) -> (String, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/authd.db", dir.path().display());
    let mut all = vec!["--database-url", database.as_str()];
    all.extend_from_slice(args);
    let log = refused_start(dir.path(), &all, env).await;
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    (log, left)
}

#[tokio::test]
async fn a_taken_port_is_named_and_nothing_is_created() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_authd"))
        .current_dir(dir.path())
        .args(["--listen", &address])
        .env(
            "AUTHD_DATABASE_URL",
            format!("sqlite://{}/authd.db", dir.path().display()),
        )
        .env_remove("AUTHD_KEY_ENCRYPTION_KEY")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(
        log.contains(&format!("cannot listen on {address}")),
        "{log}"
    );
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!log.contains("internal error"), "{log}");
}

#[tokio::test]
async fn bad_settings_are_refused_with_the_reason_before_the_database_is_touched() {
    let cases: [(&[&str], &str); 5] = [
        (&["--argon2-memory-kib", "1"], "--argon2-memory-kib 1"),
        (&["--argon2-iterations", "0"], "--argon2-iterations 0"),
        (&["--log", "authd=loud[="], "is not a log filter"),
        (&["--jwt-algorithm", "hs256"], "AUTHD_JWT_SECRET"),
        (
            &["--tls-cert", "missing.pem", "--tls-key", "missing.key"],
            "--tls-cert missing.pem",
        ),
    ];
    for (args, reason) in cases {
        let (log, left) = refused(args, &[]).await;
        assert!(log.contains("invalid configuration"), "{args:?}: {log}");
        assert!(log.contains(reason), "{args:?}: {log}");
        assert!(!log.contains("internal error"), "{args:?}: {log}");
        assert!(left.is_empty(), "{args:?} left behind: {left:?}");
    }
    let (log, left) = refused(&["--hash-concurrency", "0"], &[]).await;
    assert!(log.contains("--hash-concurrency"), "{log}");
    assert!(left.is_empty());
}
