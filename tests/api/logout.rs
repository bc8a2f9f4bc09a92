//! Logout: the session ends at once, for its access and refresh tokens alike.

use authd::pb::{LogoutRequest, RefreshRequest};
use tonic::{Code, Status};

use crate::helpers::{PASSWORD, TestApp, assert_unauthenticated, pairs, violations};

async fn logout(app: &TestApp, refresh_token: &str) -> Result<(), Status> {
    let request = LogoutRequest {
        refresh_token: refresh_token.into(),
    };
    app.client().await.logout(request).await.map(|_| ())
}

#[tokio::test]
async fn logout_ends_the_session_immediately() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_in("alice").await.tokens.unwrap();
    assert!(app.get_me(&tokens.access_token).await.is_ok());
    let now = app.now();

    logout(&app, &tokens.refresh_token).await.unwrap();

    assert_unauthenticated(app.get_me(&tokens.access_token).await);
    let request = RefreshRequest {
        refresh_token: tokens.refresh_token.clone(),
    };
    assert_unauthenticated(app.client().await.refresh(request).await);
    let (revoked_at, reason): (Option<i64>, Option<String>) =
        sqlx::query_as("SELECT revoked_at, revoked_reason FROM sessions")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(revoked_at, Some(now));
    assert_eq!(reason.as_deref(), Some("logout"));
}

#[tokio::test]
async fn logging_out_twice_is_refused_the_second_time() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_in("alice").await.tokens.unwrap();
    logout(&app, &tokens.refresh_token).await.unwrap();
    assert_unauthenticated(logout(&app, &tokens.refresh_token).await);
}

#[tokio::test]
async fn logout_ends_only_its_own_session() {
    let app = TestApp::spawn().await;
    let laptop = app.signed_in("alice").await.tokens.unwrap();
    let phone = app.login("alice", PASSWORD).await.unwrap().tokens.unwrap();
    logout(&app, &laptop.refresh_token).await.unwrap();
    assert_unauthenticated(app.get_me(&laptop.access_token).await);
    assert!(app.get_me(&phone.access_token).await.is_ok());
}

#[tokio::test]
async fn logout_needs_a_refresh_token() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_in("alice").await.tokens.unwrap();
    let status = logout(&app, "").await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&status),
        pairs(&[("refresh_token", "This field is required.")])
    );
    assert_unauthenticated(logout(&app, &tokens.access_token).await);
    assert_unauthenticated(logout(&app, "garbage").await);
    assert!(app.get_me(&tokens.access_token).await.is_ok());
}

#[tokio::test]
async fn revoke_all_ends_every_session_and_api_key_of_the_caller_only() {
    use authd::pb::RevokeAllRequest;
    let app = TestApp::spawn().await;
    let laptop = app.signed_in("alice").await.tokens.unwrap();
    let phone = app.login("alice", PASSWORD).await.unwrap().tokens.unwrap();
    let bob = app.signed_in("bob").await.tokens.unwrap();
    let key: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{}/api/token/", app.address))
        .json(&serde_json::json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["token"].as_str().unwrap().to_string();
    assert!(app.get_me_with(&format!("Token {key}")).await.is_ok());

    let mut request = tonic::Request::new(RevokeAllRequest {});
    let bearer = format!("Bearer {}", phone.access_token);
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().unwrap());
    let revoked = app
        .client()
        .await
        .revoke_all(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!((revoked.sessions_ended, revoked.api_keys_revoked), (2, 1));

    assert_unauthenticated(app.get_me(&laptop.access_token).await);
    assert_unauthenticated(app.get_me(&phone.access_token).await);
    assert_unauthenticated(app.get_me_with(&format!("Token {key}")).await);
    assert_unauthenticated(logout(&app, &laptop.refresh_token).await);
    assert!(
        app.get_me(&bob.access_token).await.is_ok(),
        "other users are untouched"
    );
    let reasons: Vec<String> = sqlx::query_scalar(
        "SELECT revoked_reason FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE u.username = 'alice'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(reasons, vec!["revoke_all", "revoke_all"]);

    let anonymous = app.client().await.revoke_all(RevokeAllRequest {}).await;
    assert_unauthenticated(anonymous);
}
