//! `authd-verify`'s revocation-aware mode against the real authd: it asks ValidateToken,
//! so a logged-out session's access token is refused — at once without a cache, and at the
//! latest when the short positive cache has expired with one.

use std::time::Duration;

use authd::pb::LogoutRequest;
use authd_verify::{Error, Verifier};
use tonic::Code;

use crate::helpers::{AppClock, TestApp, guarded_grpc, health_check};

fn remote_verifier(app: &TestApp, channel: tonic::transport::Channel, ttl: u64) -> Verifier {
    Verifier::validate_token(channel)
        .cache_ttl(Duration::from_secs(ttl))
        .clock(AppClock(app.clock.clone()))
        .build()
        .unwrap()
}

async fn logout(app: &TestApp, refresh_token: &str) {
    let request = LogoutRequest {
        refresh_token: refresh_token.into(),
    };
    app.client().await.logout(request).await.unwrap();
}

#[tokio::test]
async fn a_logged_out_session_is_refused_after_the_cache_window_at_the_latest() {
    let app = TestApp::spawn().await;
    let login = app.signed_in("alice").await;
    let tokens = login.tokens.unwrap();
    let cached = remote_verifier(&app, app.channel().await, 5);
    let uncached = remote_verifier(&app, app.channel().await, 0);
    let claims = cached.verify(&tokens.access_token).await.unwrap();
    assert_eq!(claims.user_id, login.user.unwrap().id);
    assert!(uncached.verify(&tokens.access_token).await.is_ok());

    logout(&app, &tokens.refresh_token).await;
    assert_eq!(
        uncached.verify(&tokens.access_token).await,
        Err(Error::InvalidToken)
    );
    // The staleness window the cache implies: a yes is reused for up to its ttl.
    app.clock.advance(4);
    assert!(cached.verify(&tokens.access_token).await.is_ok());
    app.clock.advance(1);
    assert_eq!(
        cached.verify(&tokens.access_token).await,
        Err(Error::InvalidToken)
    );
}

#[tokio::test]
async fn refresh_tokens_garbage_and_api_keys_are_refused_through_the_layer() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_in("alice").await.tokens.unwrap();
    let key = crate::helpers::api_token(&app, "alice", crate::helpers::PASSWORD).await;
    let service = guarded_grpc(remote_verifier(&app, app.channel().await, 5)).await;
    let live = format!("Bearer {}", tokens.access_token);
    assert_eq!(health_check(service, Some(&live)).await, Code::Ok);
    for refused in [tokens.refresh_token.as_str(), "garbage", key.as_str()] {
        let code = health_check(service, Some(&format!("Bearer {refused}"))).await;
        assert_eq!(code, Code::Unauthenticated, "{refused}");
    }
}

#[tokio::test]
async fn an_authd_that_cannot_be_reached_is_unavailable() {
    let app = TestApp::spawn().await;
    let access = app.signed_in("alice").await.tokens.unwrap().access_token;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", app.address))
        .unwrap()
        .connect_lazy();
    let verifier = remote_verifier(&app, channel, 0);
    app.stop().await;
    let service = guarded_grpc(verifier).await;
    let code = health_check(service, Some(&format!("Bearer {access}"))).await;
    assert_eq!(code, Code::Unavailable);
}
