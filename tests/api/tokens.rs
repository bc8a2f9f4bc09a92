//! GetMe and everything a bearer token can get wrong: missing, garbage, expired, tampered,
//! the wrong kind, unsigned, or signed by someone else.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use tonic::Code;

use crate::helpers::{TestApp, assert_unauthenticated, jwt_parts};

#[tokio::test]
async fn get_me_returns_the_token_owner() {
    let app = TestApp::spawn().await;
    let login = app.signed_in("alice").await;
    let me = app
        .get_me(&login.tokens.unwrap().access_token)
        .await
        .unwrap();
    assert_eq!(me, login.user.unwrap());
    assert_eq!(me.email, "alice@example.com");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let access = app.signed_in("alice").await.tokens.unwrap().access_token;
    assert!(app.get_me_with(&format!("bearer {access}")).await.is_ok());
    assert!(app.get_me_with(&format!("BEARER {access}")).await.is_ok());
}

#[tokio::test]
async fn missing_or_malformed_credentials_are_unauthenticated() {
    let app = TestApp::spawn().await;
    let access = app.signed_in("alice").await.tokens.unwrap().access_token;
    let no_header = app.client().await.get_me(authd::pb::GetMeRequest {}).await;
    let status = no_header.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(
        status.message(),
        "authentication credentials were not provided"
    );
    for header in [
        "Bearer".to_string(),
        "Bearer garbage".to_string(),
        "Bearer a.b.c".to_string(),
        format!("Bearer {access} extra"),
        format!("Basic {access}"),
        access.clone(),
    ] {
        assert_unauthenticated(app.get_me_with(&header).await);
    }
}

#[tokio::test]
async fn an_expired_access_token_is_refused_the_second_it_expires() {
    let app = TestApp::spawn().await;
    let access = app.signed_in("alice").await.tokens.unwrap().access_token;
    app.clock.advance(3599);
    assert!(app.get_me(&access).await.is_ok());
    app.clock.advance(1);
    let status = app.get_me(&access).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "token is invalid or expired");
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token() {
    let app = TestApp::spawn().await;
    let refresh = app.signed_in("alice").await.tokens.unwrap().refresh_token;
    assert_unauthenticated(app.get_me(&refresh).await);
}

#[tokio::test]
async fn a_tampered_payload_breaks_the_signature() {
    let app = TestApp::spawn().await;
    app.signed_in("victim").await;
    let access = app.signed_in("mallory").await.tokens.unwrap().access_token;
    let (_, mut claims) = jwt_parts(&access);
    claims["user_id"] = serde_json::json!(1); // the victim
    let parts: Vec<&str> = access.split('.').collect();
    let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let forged = format!("{}.{forged_body}.{}", parts[0], parts[2]);
    assert_unauthenticated(app.get_me(&forged).await);

    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[0] ^= 1;
    let bad_signature = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(signature)
    );
    assert_unauthenticated(app.get_me(&bad_signature).await);
}

#[tokio::test]
async fn alg_none_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let access = app.signed_in("alice").await.tokens.unwrap().access_token;
    let (mut header, claims) = jwt_parts(&access);
    header["alg"] = serde_json::json!("none");
    let encode =
        |value: &serde_json::Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap());
    for unsigned in [
        format!("{}.{}.", encode(&header), encode(&claims)),
        format!("{}.{}", encode(&header), encode(&claims)),
    ] {
        assert_unauthenticated(app.get_me(&unsigned).await);
    }
}

#[tokio::test]
async fn tokens_signed_by_another_deployment_are_refused() {
    let app = TestApp::spawn().await;
    let other = TestApp::spawn().await;
    app.signed_in("alice").await;
    let foreign = other.signed_in("alice").await.tokens.unwrap().access_token;
    assert_unauthenticated(app.get_me(&foreign).await);
}

#[tokio::test]
async fn tokens_survive_a_restart_because_the_key_lives_in_the_database() {
    let mut app = TestApp::spawn().await;
    let access = app.signed_in("alice").await.tokens.unwrap().access_token;
    let keys_before: Vec<String> = sqlx::query_scalar("SELECT kid FROM signing_keys")
        .fetch_all(&app.db)
        .await
        .unwrap();
    app.restart().await;
    let keys_after: Vec<String> = sqlx::query_scalar("SELECT kid FROM signing_keys")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(keys_before.len(), 1);
    assert_eq!(keys_before, keys_after);
    assert_eq!(app.get_me(&access).await.unwrap().username, "alice");
}
