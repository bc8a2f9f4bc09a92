//! One name per person: look-alike usernames (NFKC, full case folding) and two spellings of
//! one mailbox's domain are one account, over gRPC and REST, on a new database and on one
//! whose keys were made by the older rule (plain lower-casing).

use serde_json::json;
use tonic::Code;

use crate::helpers::{PASSWORD, TestApp, count, pairs, post_json, scalars, violations};

/// The pairs: each is one account.
const LOOK_ALIKES: &[(&str, &str)] = &[
    ("foo", "ｆｏｏ"),
    ("admin", "𝐚𝐝𝐦𝐢𝐧"),
    ("finance", "ﬁnance"),
    ("strasse", "straße"),
    ("οδοσ", "ΟΔΟΣ"),
];

#[tokio::test]
async fn look_alike_usernames_are_one_account_over_grpc() {
    let app = TestApp::spawn().await;
    for (index, (first, second)) in LOOK_ALIKES.iter().enumerate() {
        app.register(first, &format!("first{index}@example.com"), PASSWORD)
            .await
            .unwrap();
        let status = app
            .register(second, &format!("second{index}@example.com"), PASSWORD)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::AlreadyExists, "{second}");
        assert_eq!(
            violations(&status),
            pairs(&[("username", "A user with that username already exists.")])
        );
        let by_first = app.login(first, PASSWORD).await.unwrap();
        let by_second = app.login(second, PASSWORD).await.unwrap();
        assert_eq!(by_first.user.unwrap().id, by_second.user.unwrap().id);
    }
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM users").await, 5);
}

#[tokio::test]
async fn look_alike_usernames_are_one_account_over_rest() {
    let app = TestApp::spawn().await;
    // The second of each pair registers first; what is stored is its NFKC form.
    let stored = ["foo", "admin", "finance", "straße", "ΟΔΟΣ"];
    for (index, ((first, second), stored)) in LOOK_ALIKES.iter().zip(stored).enumerate() {
        let email = format!("s{index}@example.com");
        let body = json!({"username": second, "email": email, "password": PASSWORD});
        let created = post_json(&app, "/api/create/", &body).await;
        assert_eq!(created.status, 201, "{created:?}");
        assert_eq!(created.json["username"], stored);

        let body = json!({"username": first, "email": format!("f{index}@example.com"), "password": PASSWORD});
        post_json(&app, "/api/create/", &body).await.assert(
            400,
            json!({"username": ["A user with that username already exists."]}),
        );
        for name in [first, second] {
            let body = json!({"username": name, "password": PASSWORD});
            let token = post_json(&app, "/api/token/", &body).await;
            assert_eq!(token.status, 200, "{name}: {token:?}");
            let login = post_json(&app, "/auth/login/", &body).await;
            assert_eq!(login.status, 200, "{name}: {login:?}");
        }
    }
}

#[tokio::test]
async fn two_spellings_of_one_mailbox_are_one_email() {
    let app = TestApp::spawn().await;
    let user = app
        .register("alice", "x@bücher.de", PASSWORD)
        .await
        .unwrap();
    assert_eq!(user.email, "x@bücher.de");
    for other in ["x@xn--bcher-kva.de", "X@BÜCHER.DE"] {
        let status = app.register("bob", other, PASSWORD).await.unwrap_err();
        assert_eq!(status.code(), Code::AlreadyExists, "{other}");
        assert_eq!(
            violations(&status),
            pairs(&[("email", "A user with that email already exists.")])
        );
    }
    assert_eq!(
        scalars::<String>(&app.db, "SELECT email_key FROM users").await,
        ["x@xn--bcher-kva.de"]
    );
}

#[tokio::test]
async fn look_alikes_share_one_count_of_failed_logins() {
    let app = TestApp::spawn().await;
    app.register("foo", "foo@example.com", PASSWORD)
        .await
        .unwrap();
    for guess in ["ｆｏｏ", "FOO", "foo"] {
        let status = app.login(guess, "wrong-password").await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    let counted: Vec<(String, i64)> =
        crate::helpers::rows(&app.db, "SELECT username_key, failures FROM login_attempts").await;
    assert_eq!(counted, [("foo".to_string(), 3)]);
}

#[tokio::test]
async fn keys_made_by_the_old_rule_are_rewritten_at_start() {
    let mut app = TestApp::spawn().await;
    app.register("Straße", "x@bücher.de", PASSWORD)
        .await
        .unwrap();
    app.register("ｆｏｏ", "foo@example.com", PASSWORD)
        .await
        .unwrap();
    // As the old rule stored them: the username and email as given, lower-cased.
    as_the_old_rule_stored(&app, "UPDATE users SET username_key = 'straße', email_key = 'x@bücher.de' WHERE username = 'Straße'").await;
    as_the_old_rule_stored(&app, "UPDATE users SET username = 'ｆｏｏ', username_key = 'ｆｏｏ' WHERE email = 'foo@example.com'").await;

    app.restart().await;
    assert_eq!(
        scalars::<String>(&app.db, "SELECT username_key FROM users ORDER BY id").await,
        ["strasse", "foo"]
    );
    app.login("STRASSE", PASSWORD).await.unwrap();
    app.login("foo", PASSWORD).await.unwrap();
    let status = app
        .register("strasse", "other@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    let status = app
        .register("carol", "x@xn--bcher-kva.de", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(
        violations(&status),
        pairs(&[("email", "A user with that email already exists.")])
    );
}

#[tokio::test]
async fn old_rows_that_are_now_one_name_keep_their_keys_and_the_server_starts() {
    let mut app = TestApp::spawn().await;
    app.register("strasse", "a@example.com", PASSWORD)
        .await
        .unwrap();
    app.register("other", "b@example.com", PASSWORD)
        .await
        .unwrap();
    // Registered under the old rule, `straße` was a second account.
    as_the_old_rule_stored(
        &app,
        "UPDATE users SET username = 'straße', username_key = 'straße' WHERE username = 'other'",
    )
    .await;

    app.restart().await;
    assert_eq!(
        scalars::<String>(&app.db, "SELECT username_key FROM users ORDER BY id").await,
        ["strasse", "straße"]
    );
    // Either spelling now reaches the account that holds the key.
    let user = app.login("straße", PASSWORD).await.unwrap().user.unwrap();
    assert_eq!(user.username, "strasse");
}

/// Rewrites rows as a database made before NFKC and case folding holds them.
/// Puts rows back as a database from before the current key rules had them: with the keys
/// of `sql`, and without the record of a completed re-keying.
async fn as_the_old_rule_stored(app: &TestApp, sql: &'static str) {
    sqlx::query(sql).execute(&app.db).await.unwrap();
    sqlx::query("DELETE FROM upkeep")
        .execute(&app.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_complete_re_keying_is_recorded_and_later_starts_skip_it() {
    let mut app = TestApp::spawn().await;
    app.register("foo", "foo@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        scalars::<String>(&app.db, "SELECT name FROM upkeep").await,
        ["user_keys_v2"]
    );
    // A key in the old form written after the recorded pass is left alone by a restart:
    // nothing is scanned again.
    sqlx::query("UPDATE users SET username_key = 'FOO-old' WHERE username = 'foo'")
        .execute(&app.db)
        .await
        .unwrap();
    app.restart().await;
    assert_eq!(
        scalars::<String>(&app.db, "SELECT username_key FROM users").await,
        ["FOO-old"]
    );
}
