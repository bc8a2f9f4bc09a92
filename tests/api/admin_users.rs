//! `authd users …` through the real binary, against the database a running server serves:
//! what each prints, how it exits, what it leaves in the database, and what the server
//! answers next.

use authd::pb::RefreshRequest;
use tonic::Code;

use crate::helpers::{
    INVALID_USERNAME, PASSWORD, TestApp, api_token, assert_unauthenticated, authd,
    authd_in_terminal, count, get_with_auth, pairs, scalars, violations,
};

const NEW_PASSWORD: &str = "new-horse-battery-staple";

/// `authd users SUBCOMMAND ARGS… --database-url <app's>`.
async fn users(app: &TestApp, args: &[&str], stdin: &str) -> crate::helpers::Ran {
    let mut all = vec!["users"];
    all.extend(args);
    all.extend(["--database-url", app.database_url()]);
    authd(&all, stdin).await
}

#[tokio::test]
async fn a_user_created_from_the_shell_logs_in_over_the_api() {
    let app = TestApp::spawn().await;
    let created = users(
        &app,
        &[
            "create",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    )
    .await;
    assert_eq!(created.ok(), "created user alice (id 1)\n");
    assert!(!created.stderr.contains(PASSWORD), "{created:?}");

    let login = app.login("alice", PASSWORD).await.unwrap();
    assert_eq!(login.user.unwrap().email, "alice@example.com");
    let hashes: Vec<String> = scalars(&app.db, "SELECT password_hash FROM users").await;
    assert!(hashes[0].starts_with("$argon2id$"), "{hashes:?}");

    // Without --email the user has none, as /api/create/ allows.
    let bare = users(
        &app,
        &["create", "--username", "bob", "--password-stdin"],
        PASSWORD,
    )
    .await;
    assert_eq!(bare.ok(), "created user bob (id 2)\n");
    let emails: Vec<Option<String>> = scalars(&app.db, "SELECT email FROM users ORDER BY id").await;
    assert_eq!(emails, [Some("alice@example.com".to_string()), None]);
}

#[tokio::test]
async fn a_password_typed_at_the_prompt_is_asked_twice_and_never_echoed() {
    let app = TestApp::spawn().await;
    let create = [
        "users",
        "create",
        "--username",
        "alice",
        "--database-url",
        app.database_url(),
    ];
    let (status, shown) = authd_in_terminal(
        &create,
        &[
            ("Password: ", NEW_PASSWORD),
            ("Password (again): ", NEW_PASSWORD),
        ],
    )
    .await;
    assert!(status.success(), "{status:?}: {shown:?}");
    assert!(shown.contains("created user alice (id 1)"), "{shown:?}");
    assert!(
        !shown.contains(NEW_PASSWORD),
        "the password was echoed: {shown:?}"
    );
    assert!(app.login("alice", NEW_PASSWORD).await.is_ok());

    let set = [
        "users",
        "set-password",
        "alice",
        "--database-url",
        app.database_url(),
    ];
    let (status, shown) = authd_in_terminal(
        &set,
        &[
            ("Password: ", NEW_PASSWORD),
            ("Password (again): ", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status.code(), Some(1), "{shown:?}");
    assert!(shown.contains("the two passwords differ"), "{shown:?}");
    assert!(app.login("alice", NEW_PASSWORD).await.is_ok());
}

#[tokio::test]
async fn the_shell_refuses_what_the_api_refuses_in_the_same_words() {
    let app = TestApp::spawn().await;
    let expected = [
        ("username", INVALID_USERNAME),
        ("email", "Enter a valid email address."),
        ("password", "This password is too common."),
    ];
    let status = app
        .register("bad name", "nope", "password")
        .await
        .unwrap_err();
    assert_eq!(violations(&status), pairs(&expected));
    let refused = users(
        &app,
        &[
            "create",
            "--username",
            "bad name",
            "--email",
            "nope",
            "--password-stdin",
        ],
        "password",
    )
    .await;
    let lines: String = expected
        .iter()
        .map(|(field, message)| format!("authd: {field}: {message}\n"))
        .collect();
    assert_eq!(refused.failed(), lines);

    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let taken = users(
        &app,
        &[
            "create",
            "--username",
            "ALICE",
            "--email",
            "Alice@Example.com",
            "--password-stdin",
        ],
        PASSWORD,
    )
    .await;
    assert_eq!(
        taken.failed(),
        "authd: username: A user with that username already exists.\n\
         authd: email: A user with that email already exists.\n"
    );
    let blank = users(
        &app,
        &["create", "--username", "carol", "--password-stdin"],
        "\n",
    )
    .await;
    assert_eq!(
        blank.failed(),
        "authd: password: This field may not be blank.\n"
    );
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM users").await, 1);

    // No password flag exists, and without --password-stdin off a terminal nothing is read.
    let flag = users(
        &app,
        &["create", "--username", "dave", "--password", "x"],
        "",
    )
    .await;
    assert_eq!(flag.status.code(), Some(2), "{flag:?}");
    let no_terminal = users(&app, &["create", "--username", "dave"], PASSWORD).await;
    assert!(
        no_terminal.failed().contains("--password-stdin"),
        "{no_terminal:?}"
    );
}

#[tokio::test]
async fn users_are_listed_as_text_or_json() {
    let app = TestApp::spawn().await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    app.register("bob", "bob@example.com", PASSWORD)
        .await
        .unwrap();
    users(&app, &["disable", "bob"], "").await.ok();

    let text = users(&app, &["list"], "").await;
    let lines: Vec<Vec<String>> = text
        .ok()
        .lines()
        .map(|line| line.split_whitespace().map(String::from).collect())
        .collect();
    assert_eq!(lines.len(), 3, "{text:?}");
    assert_eq!(
        lines[0],
        ["ID", "USERNAME", "EMAIL", "ACTIVE", "CREATED_AT"]
    );
    assert_eq!(lines[1][..4], ["1", "alice", "alice@example.com", "active"]);
    assert_eq!(lines[2][..4], ["2", "bob", "bob@example.com", "disabled"]);

    let json = users(&app, &["list", "--output", "json"], "").await;
    let listed: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    let created_at: Vec<i64> = scalars(&app.db, "SELECT created_at FROM users ORDER BY id").await;
    assert_eq!(
        listed,
        serde_json::json!([
            {"id": 1, "username": "alice", "email": "alice@example.com", "active": true,
             "created_at": created_at[0]},
            {"id": 2, "username": "bob", "email": "bob@example.com", "active": false,
             "created_at": created_at[1]},
        ])
    );
}

#[tokio::test]
async fn a_disable_from_the_shell_ends_every_token_on_the_running_server_at_once() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_in("alice").await.tokens.unwrap();
    let key = api_token(&app, "alice", PASSWORD).await;
    let bearer = format!("Bearer {}", tokens.access_token);
    let token_key = format!("Token {key}");
    assert!(app.get_me(&tokens.access_token).await.is_ok());
    assert_eq!(
        get_with_auth(&app, "/auth/me/", Some(&bearer)).await.status,
        200
    );
    assert_eq!(
        get_with_auth(&app, "/api/me/", Some(&token_key))
            .await
            .status,
        200
    );

    let disabled = users(&app, &["disable", "Alice"], "").await;
    assert_eq!(
        disabled.ok(),
        "disabled alice: ended 1 session and 1 API key\n"
    );

    assert_unauthenticated(app.get_me(&tokens.access_token).await);
    assert_eq!(
        get_with_auth(&app, "/auth/me/", Some(&bearer)).await.status,
        401
    );
    assert_eq!(
        get_with_auth(&app, "/api/me/", Some(&token_key))
            .await
            .status,
        401
    );
    let refresh = RefreshRequest {
        refresh_token: tokens.refresh_token.clone(),
    };
    assert_unauthenticated(app.client().await.refresh(refresh).await);
    assert_unauthenticated(app.login("alice", PASSWORD).await);
    let reasons: Vec<Option<String>> =
        scalars(&app.db, "SELECT revoked_reason FROM sessions").await;
    assert_eq!(reasons, [Some("disabled".to_string())]);

    let enabled = users(&app, &["enable", "alice"], "").await;
    assert_eq!(enabled.ok(), "enabled alice\n");
    let again = app.login("alice", PASSWORD).await.unwrap().tokens.unwrap();
    assert!(app.get_me(&again.access_token).await.is_ok());
    assert_unauthenticated(app.get_me(&tokens.access_token).await);

    let nobody = users(&app, &["disable", "bob"], "").await;
    assert_eq!(nobody.failed(), "authd: no user named \"bob\"\n");
}

#[tokio::test]
async fn a_password_set_from_the_shell_meets_the_policy_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_in("alice").await.tokens.unwrap();

    let weak = users(
        &app,
        &["set-password", "alice", "--password-stdin"],
        "alice123\n",
    )
    .await;
    assert_eq!(
        weak.failed(),
        "authd: password: The password is too similar to the username.\n\
         authd: password: This password is too common.\n"
    );
    assert!(app.get_me(&tokens.access_token).await.is_ok());

    let set = users(
        &app,
        &["set-password", "alice", "--password-stdin"],
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(
        set.ok(),
        "set the password of alice: ended 1 session and 0 API keys\n"
    );
    assert!(!set.stderr.contains(NEW_PASSWORD), "{set:?}");
    assert_unauthenticated(app.get_me(&tokens.access_token).await);
    let old = app.login("alice", PASSWORD).await.unwrap_err();
    assert_eq!(old.code(), Code::Unauthenticated);
    assert!(app.login("alice", NEW_PASSWORD).await.is_ok());
}
