//! Login by email over gRPC (`LoginRequest.email` with `username` empty): either spelling
//! of the domain, the same answer for an unknown address and a wrong password, and one
//! count of failures per account whichever name the attempts use. REST stays as Django's.

use authd::pb::{LoginRequest, LoginResponse};
use serde_json::json;
use tonic::{Code, Status};

use crate::helpers::{PASSWORD, TestApp, pairs, post_json, rows, violations};

async fn login_by_email(
    app: &TestApp,
    email: &str,
    password: &str,
) -> Result<LoginResponse, Status> {
    let request = LoginRequest {
        username: String::new(),
        password: password.into(),
        email: email.into(),
    };
    Ok(app.client().await.login(request).await?.into_inner())
}

#[tokio::test]
async fn an_email_logs_in_with_either_spelling_of_its_domain() {
    let app = TestApp::spawn().await;
    let alice = app
        .register("alice", "Alice@bücher.de", PASSWORD)
        .await
        .unwrap();
    for email in [
        "alice@bücher.de",
        " ALICE@xn--bcher-kva.de ",
        "alice@BÜCHER.DE",
    ] {
        let login = login_by_email(&app, email, PASSWORD).await.unwrap();
        assert_eq!(login.user.unwrap().id, alice.id, "{email}");
        let tokens = login.tokens.unwrap();
        assert_eq!(app.get_me(&tokens.access_token).await.unwrap().id, alice.id);
    }
}

#[tokio::test]
async fn unknown_address_and_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let wrong = login_by_email(&app, "alice@example.com", "wrong-password")
        .await
        .unwrap_err();
    let unknown = login_by_email(&app, "nobody@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);
    assert_eq!(
        (wrong.code(), wrong.message()),
        (unknown.code(), unknown.message())
    );
    // Both went through the throttle: the unknown address under a key no username can be.
    let counted: Vec<(String, i64)> = rows(
        &app.db,
        "SELECT username_key, failures FROM login_attempts ORDER BY username_key",
    )
    .await;
    assert_eq!(
        counted,
        [
            ("alice".to_string(), 1),
            ("email:nobody@example.com".to_string(), 1)
        ]
    );
}

#[tokio::test]
async fn username_and_email_attempts_share_one_count_per_account() {
    let app = TestApp::spawn().await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    app.login("ALICE", "wrong-password").await.unwrap_err();
    login_by_email(&app, "alice@example.com", "wrong-password")
        .await
        .unwrap_err();
    app.login("ａｌｉｃｅ", "wrong-password").await.unwrap_err();
    let counted: Vec<(String, i64)> =
        rows(&app.db, "SELECT username_key, failures FROM login_attempts").await;
    assert_eq!(counted, [("alice".to_string(), 3)]);
}

#[tokio::test]
async fn a_username_wins_over_an_email_and_neither_is_required() {
    let app = TestApp::spawn().await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    app.register("bob", "bob@example.com", PASSWORD)
        .await
        .unwrap();
    let request = LoginRequest {
        username: "bob".into(),
        password: PASSWORD.into(),
        email: "alice@example.com".into(),
    };
    let login = app
        .client()
        .await
        .login(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(login.user.unwrap().username, "bob");

    let status = login_by_email(&app, "", PASSWORD).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&status),
        pairs(&[("username", "This field is required.")])
    );
}

#[tokio::test]
async fn rest_logins_still_take_only_a_username() {
    let app = TestApp::spawn().await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let body = json!({"email": "alice@example.com", "password": PASSWORD});
    post_json(&app, "/api/token/", &body)
        .await
        .assert(400, json!({"username": ["This field is required."]}));
}
