//! Refresh: rotation, single use, and reuse revoking the whole session (retries and races
//! are in `refresh_grace.rs`).

use authd::pb::{RefreshRequest, TokenPair};
use tonic::{Code, Status};

use crate::helpers::{TestApp, assert_unauthenticated, count, pairs, violations};

async fn refresh(app: &TestApp, refresh_token: &str) -> Result<TokenPair, Status> {
    let request = RefreshRequest {
        refresh_token: refresh_token.into(),
    };
    let response = app.client().await.refresh(request).await?;
    Ok(response
        .into_inner()
        .tokens
        .expect("tokens in RefreshResponse"))
}

#[tokio::test]
async fn refresh_rotates_the_pair_within_the_session() {
    let app = TestApp::spawn().await;
    let first = app.signed_in("alice").await.tokens.unwrap();
    app.clock.advance(600);
    let now = app.now();
    let second = refresh(&app, &first.refresh_token).await.unwrap();

    assert_ne!(second.access_token, first.access_token);
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.access_expires_at.unwrap().seconds, now + 3600);
    assert_eq!(second.refresh_expires_at.unwrap().seconds, now + 86_400);
    assert_eq!(
        app.get_me(&second.access_token).await.unwrap().username,
        "alice"
    );
    // The earlier access token lives on until its own expiry (the session is still live).
    assert!(app.get_me(&first.access_token).await.is_ok());

    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM sessions").await, 1);
    let spent: Vec<Option<i64>> = sqlx::query_scalar(
        "SELECT spent_at FROM tokens WHERE kind = 'refresh' ORDER BY created_at",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(spent, vec![Some(now), None]);
    let expires: i64 = sqlx::query_scalar("SELECT expires_at FROM sessions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(expires, now + 86_400);
}

#[tokio::test]
async fn reusing_a_spent_refresh_token_revokes_the_whole_session() {
    let app = TestApp::spawn().await;
    let first = app.signed_in("alice").await.tokens.unwrap();
    let second = refresh(&app, &first.refresh_token).await.unwrap();

    // The thief (or the victim) presents the spent token again, after the grace window
    // for retries (10 s by default, `refresh_grace.rs`).
    app.clock.advance(10);
    assert_unauthenticated(refresh(&app, &first.refresh_token).await);

    // Everything in the session is dead now, including the newest pair.
    assert_unauthenticated(refresh(&app, &second.refresh_token).await);
    assert_unauthenticated(app.get_me(&second.access_token).await);
    assert_unauthenticated(app.get_me(&first.access_token).await);
    let reason: Option<String> = sqlx::query_scalar("SELECT revoked_reason FROM sessions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(reason.as_deref(), Some("refresh_reuse"));
}

#[tokio::test]
async fn reuse_in_one_session_leaves_other_sessions_alone() {
    let app = TestApp::spawn().await;
    let laptop = app.signed_in("alice").await.tokens.unwrap();
    let phone = app
        .login("alice", crate::helpers::PASSWORD)
        .await
        .unwrap()
        .tokens
        .unwrap();
    refresh(&app, &laptop.refresh_token).await.unwrap();
    app.clock.advance(10);
    assert_unauthenticated(refresh(&app, &laptop.refresh_token).await);
    assert!(app.get_me(&phone.access_token).await.is_ok());
    assert!(refresh(&app, &phone.refresh_token).await.is_ok());
}

#[tokio::test]
async fn an_access_token_cannot_refresh() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_in("alice").await.tokens.unwrap();
    assert_unauthenticated(refresh(&app, &tokens.access_token).await);
    // Refusing the wrong kind is not reuse: the session is untouched.
    assert!(refresh(&app, &tokens.refresh_token).await.is_ok());
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_in("alice").await.tokens.unwrap();
    app.clock.advance(86_400);
    assert_unauthenticated(refresh(&app, &tokens.refresh_token).await);
}

#[tokio::test]
async fn refresh_without_a_token_is_invalid_argument() {
    let app = TestApp::spawn().await;
    let status = refresh(&app, "").await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&status),
        pairs(&[("refresh_token", "This field is required.")])
    );
    assert_unauthenticated(refresh(&app, "garbage").await);
}

#[tokio::test]
async fn token_lifetimes_follow_the_configuration() {
    let app = TestApp::spawn_with(&[
        "--access-token-lifetime",
        "5m",
        "--refresh-token-lifetime",
        "2h",
    ])
    .await;
    let now = app.now();
    let tokens = app.signed_in("alice").await.tokens.unwrap();
    assert_eq!(tokens.access_expires_at.unwrap().seconds, now + 300);
    assert_eq!(tokens.refresh_expires_at.unwrap().seconds, now + 7200);
    app.clock.advance(300);
    assert_unauthenticated(app.get_me(&tokens.access_token).await);
    assert!(refresh(&app, &tokens.refresh_token).await.is_ok());
}
