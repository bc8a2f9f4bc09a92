//! The command line as a whole, through the real binary: `authd migrate`, `authd serve`,
//! the settings every admin subcommand shares with serving, every subcommand's `--help`,
//! and a disable from the shell seen by two nodes on PostgreSQL.

use crate::helpers::{
    Node, PASSWORD, TEST_KEK, assert_unauthenticated, authd, authd_with_env, count,
    postgres_database, require_postgres, scalars,
};

#[tokio::test]
async fn migrate_creates_the_schema_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fresh.db");
    let url = format!("sqlite://{}", file.display());
    for _ in 0..2 {
        let migrated = authd(&["migrate", "--database-url", &url], "").await;
        assert_eq!(
            migrated.ok().split(" (SQLite ").next(),
            Some(format!("the schema of {url} is up to date").as_str())
        );
    }
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM users").await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM signing_keys").await, 0);
    let indexes: Vec<String> = scalars(
        &db,
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'tokens_expires_at'",
    )
    .await;
    assert_eq!(indexes, ["tokens_expires_at"]);
    assert!(
        !dir.path().join("fresh.db.kek").exists(),
        "migrate makes no key-encryption key"
    );
}

#[tokio::test]
async fn the_database_and_key_settings_are_read_as_serving_reads_them() {
    // A server started with no key-encryption key generated one beside its database.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("authd.db").display());
    let server = Node::start(dir.path(), &["--database-url", &url]).await;
    assert!(dir.path().join("authd.db.kek").exists());

    // The variable names the database; the default key file beside it opens its key.
    let env = [("AUTHD_DATABASE_URL", url.as_str())];
    let created = authd_with_env(
        &["users", "create", "--username", "alice", "--password-stdin"],
        PASSWORD,
        &env,
    )
    .await;
    assert_eq!(created.ok(), "created user alice (id 1)\n");
    let mut client = server.client().await;
    let login = authd::pb::LoginRequest {
        username: "alice".into(),
        password: PASSWORD.into(),
        email: String::new(),
    };
    assert!(client.login(login).await.is_ok());

    // Another key does not open it, and nothing is written.
    let wrong = authd_with_env(
        &["users", "create", "--username", "bob", "--password-stdin"],
        PASSWORD,
        &[
            ("AUTHD_DATABASE_URL", &url),
            ("AUTHD_KEY_ENCRYPTION_KEY", TEST_KEK),
        ],
    )
    .await;
    assert!(
        wrong
            .failed()
            .contains("sealed with another key-encryption key"),
        "{wrong:?}"
    );
    let listed = authd_with_env(&["users", "list", "--output", "json"], "", &env).await;
    let users: serde_json::Value = serde_json::from_str(listed.ok()).unwrap();
    assert_eq!(users.as_array().map(Vec::len), Some(1), "{users}");
}

#[tokio::test]
async fn every_subcommand_documents_its_flags() {
    for (args, flags) in [
        (
            &["--help"][..],
            &["serve", "migrate", "users", "tokens", "--listen"][..],
        ),
        (
            &["serve", "--help"],
            &["--listen", "--retention", "--prune-interval"],
        ),
        (
            &["migrate", "--help"],
            &["--database-url", "AUTHD_DATABASE_URL"],
        ),
        (
            &["users", "create", "--help"],
            &[
                "--username",
                "--email",
                "--password-stdin",
                "--key-encryption-key-file",
            ],
        ),
        (&["users", "list", "--help"], &["--output", "json"]),
        (
            &["users", "disable", "--help"],
            &["<USERNAME>", "--database-url"],
        ),
        (&["users", "enable", "--help"], &["<USERNAME>"]),
        (&["users", "set-password", "--help"], &["--password-stdin"]),
        (&["tokens", "purge", "--help"], &["--older-than", "30d"]),
    ] {
        let help = authd(args, "").await;
        for flag in flags {
            assert!(
                help.ok().contains(flag),
                "{args:?} lacks {flag}:\n{}",
                help.stdout
            );
        }
    }
}

#[tokio::test]
async fn authd_serve_serves_as_authd_alone_does() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_serving(dir.path(), &[]).await;
    let mut client = node.client().await;
    let health = client
        .register(authd::pb::RegisterRequest {
            username: "alice".into(),
            email: "alice@example.com".into(),
            password: PASSWORD.into(),
        })
        .await;
    assert!(health.is_ok(), "{health:?}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it in its PostgreSQL pass"]
async fn a_disable_from_the_shell_reaches_every_node_on_postgres() {
    require_postgres();
    let url = postgres_database().await;
    // Migrated before any node starts, as a deployment would; the password is not printed.
    let migrated = authd(&["migrate", "--database-url", &url], "").await;
    assert!(
        migrated
            .ok()
            .starts_with("the schema of postgres://authd_test:***@"),
        "{migrated:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("AUTHD_LOG", Some("info")),
        ("AUTHD_KEY_ENCRYPTION_KEY", Some(TEST_KEK)),
    ];
    let args = ["--database-url", url.as_str()];
    let (a, b) = tokio::join!(
        Node::start_with_env(dir.path(), &args, &env),
        Node::start_with_env(dir.path(), &args, &env)
    );
    let created = authd(
        &[
            "users",
            "create",
            "--username",
            "alice",
            "--email",
            "a@example.com",
            "--password-stdin",
            "--database-url",
            &url,
        ],
        PASSWORD,
    )
    .await;
    assert_eq!(created.ok(), "created user alice (id 1)\n");
    let login = authd::pb::LoginRequest {
        username: "alice".into(),
        password: PASSWORD.into(),
        email: String::new(),
    };
    let tokens = a
        .client()
        .await
        .login(login)
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap();
    assert!(get_me_on(&a, &tokens.access_token).await.is_ok());
    assert!(get_me_on(&b, &tokens.access_token).await.is_ok());

    let disabled = authd(&["users", "disable", "alice", "--database-url", &url], "").await;
    assert_eq!(
        disabled.ok(),
        "disabled alice: ended 1 session and 0 API keys\n"
    );
    assert_unauthenticated(get_me_on(&a, &tokens.access_token).await);
    assert_unauthenticated(get_me_on(&b, &tokens.access_token).await);
}

async fn get_me_on(node: &Node, access: &str) -> Result<(), tonic::Status> {
    let mut request = tonic::Request::new(authd::pb::GetMeRequest {});
    let bearer = format!("Bearer {access}");
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().unwrap());
    node.client().await.get_me(request).await.map(|_| ())
}
