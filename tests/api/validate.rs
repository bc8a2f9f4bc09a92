//! Introspection: ValidateToken and simplejwt's `POST /auth/token/verify/` say whether a
//! token is live, and whose, and know about revocation the moment it happens.

use authd::pb::{
    ListSessionsRequest, LogoutRequest, RefreshRequest, RevokeAllRequest, ValidateTokenRequest,
    ValidateTokenResponse,
};
use serde_json::json;
use tonic::{Code, Request, Status};

use crate::helpers::{PASSWORD, REQUIRED, TestApp, api_token, pairs, post_json, violations};

async fn validate(app: &TestApp, token: &str) -> Result<ValidateTokenResponse, Status> {
    let request = ValidateTokenRequest {
        token: token.into(),
    };
    Ok(app
        .client()
        .await
        .validate_token(request)
        .await?
        .into_inner())
}

fn assert_inactive(answer: ValidateTokenResponse) {
    assert_eq!(answer, ValidateTokenResponse::default(), "{answer:?}");
}

/// `token` with the last character of its signature changed.
fn tampered(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn live_tokens_and_keys_are_active_with_their_owner_and_session() {
    let app = TestApp::spawn().await;
    let login = app.signed_in("alice").await;
    let tokens = login.tokens.unwrap();
    let mut request = Request::new(ListSessionsRequest {});
    let bearer = format!("Bearer {}", tokens.access_token);
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().unwrap());
    let session = app.client().await.list_sessions(request).await.unwrap();
    let session_id = session.into_inner().sessions[0].id.clone();

    let access = validate(&app, &tokens.access_token).await.unwrap();
    assert!(access.active);
    assert_eq!(access.user.as_ref().unwrap().username, "alice");
    assert_eq!(access.token_type, "access");
    assert_eq!(access.session_id, session_id);
    assert_eq!(access.expires_at, tokens.access_expires_at);

    let refresh = validate(&app, &tokens.refresh_token).await.unwrap();
    assert_eq!(
        (
            refresh.active,
            refresh.token_type.as_str(),
            refresh.session_id
        ),
        (true, "refresh", session_id)
    );
    assert_eq!(refresh.expires_at, tokens.refresh_expires_at);

    let key = api_token(&app, "alice", PASSWORD).await;
    let by_key = validate(&app, &key).await.unwrap();
    assert_eq!(
        (
            by_key.active,
            by_key.token_type.as_str(),
            by_key.session_id.as_str()
        ),
        (true, "api_key", "")
    );
    assert_eq!(by_key.user.unwrap().username, "alice");
    assert_eq!(by_key.expires_at, None);
}

#[tokio::test]
async fn revoked_spent_and_expired_tokens_are_inactive_at_once() {
    let app = TestApp::spawn().await;
    let first = app.signed_in("alice").await.tokens.unwrap();
    let rotated = app
        .client()
        .await
        .refresh(RefreshRequest {
            refresh_token: first.refresh_token.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap();
    // The spent refresh token is inactive; its successor is not.
    assert_inactive(validate(&app, &first.refresh_token).await.unwrap());
    assert!(validate(&app, &rotated.refresh_token).await.unwrap().active);

    let logout = LogoutRequest {
        refresh_token: rotated.refresh_token.clone(),
    };
    app.client().await.logout(logout).await.unwrap();
    for token in [
        &first.access_token,
        &rotated.access_token,
        &rotated.refresh_token,
    ] {
        assert_inactive(validate(&app, token).await.unwrap());
    }

    let key = api_token(&app, "alice", PASSWORD).await;
    let mut revoke_all = Request::new(RevokeAllRequest {});
    let authorization = format!("Token {key}");
    revoke_all
        .metadata_mut()
        .insert("authorization", authorization.parse().unwrap());
    app.client().await.revoke_all(revoke_all).await.unwrap();
    assert_inactive(validate(&app, &key).await.unwrap());

    // Expired: live until the second it expires, not after.
    let tokens = app.login("alice", PASSWORD).await.unwrap().tokens.unwrap();
    let expires = tokens.access_expires_at.unwrap().seconds;
    app.clock.advance(expires - app.now() - 1);
    assert!(validate(&app, &tokens.access_token).await.unwrap().active);
    app.clock.advance(1);
    assert_inactive(validate(&app, &tokens.access_token).await.unwrap());
}

#[tokio::test]
async fn garbage_is_an_inactive_answer_and_only_an_empty_token_is_an_error() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_in("alice").await.tokens.unwrap();
    for garbage in [
        "abc".to_string(),
        "a.b.c".to_string(),
        "0".repeat(40),
        tampered(&tokens.access_token),
        format!("{}.", tokens.access_token),
    ] {
        assert_inactive(validate(&app, &garbage).await.unwrap());
    }
    let status = validate(&app, "").await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violations(&status), pairs(&[("token", REQUIRED)]));
}

#[tokio::test]
async fn simplejwt_verify_accepts_live_jwts_and_refuses_everything_else() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_in("alice").await.tokens.unwrap();
    let key = api_token(&app, "alice", PASSWORD).await;
    let not_valid = json!({ "detail": "Token is invalid or expired", "code": "token_not_valid" });

    for token in [&tokens.access_token, &tokens.refresh_token] {
        post_json(&app, "/auth/token/verify/", &json!({ "token": token }))
            .await
            .assert(200, json!({}));
    }
    for token in [key, tampered(&tokens.access_token), "abc".into()] {
        let reply = post_json(&app, "/auth/token/verify/", &json!({ "token": token })).await;
        reply.assert(401, not_valid.clone());
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"api\"")
        );
    }
    post_json(&app, "/auth/token/verify/", &json!({}))
        .await
        .assert(400, json!({ "token": [REQUIRED] }));

    let logout = LogoutRequest {
        refresh_token: tokens.refresh_token.clone(),
    };
    app.client().await.logout(logout).await.unwrap();
    post_json(
        &app,
        "/auth/token/verify/",
        &json!({ "token": tokens.access_token }),
    )
    .await
    .assert(401, not_valid);
}
