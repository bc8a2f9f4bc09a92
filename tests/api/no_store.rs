//! Every answer that carries a token or an API key says `Cache-Control: no-store` and
//! `Pragma: no-cache` (RFC 6749 §5.1), over REST and in gRPC response metadata; answers
//! without one do not.

use authd::pb::{LoginRequest, RefreshRequest};
use serde_json::json;

use crate::helpers::{
    PASSWORD, RestReply, TestApp, api_create, get_with_auth, http, post_json, send,
};

fn assert_no_store(reply: &RestReply) {
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{reply:?}");
    assert_eq!(reply.header("pragma"), Some("no-cache"), "{reply:?}");
}

#[tokio::test]
async fn rest_answers_with_tokens_are_not_stored() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    let credentials = json!({"username": "alice", "password": PASSWORD});

    let token = post_json(&app, "/api/token/", &credentials).await;
    assert_eq!(token.status, 200);
    assert_no_store(&token);

    let login = post_json(&app, "/auth/login/", &credentials).await;
    assert_eq!(login.status, 200);
    assert_no_store(&login);

    let refresh = json!({"refresh": login.str("/data/refresh")});
    let refreshed = post_json(&app, "/auth/token/refresh/", &refresh).await;
    assert_eq!(refreshed.status, 200);
    assert_no_store(&refreshed);

    let me = get_with_auth(
        &app,
        "/api/me/",
        Some(&format!("Token {}", token.str("/token"))),
    )
    .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.header("cache-control"), None);
}

#[tokio::test]
async fn grpc_answers_with_tokens_are_not_stored() {
    let app = TestApp::spawn().await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let mut client = app.client().await;
    let login = client
        .login(LoginRequest {
            username: "alice".into(),
            password: PASSWORD.into(),
            email: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(login.metadata().get("cache-control").unwrap(), "no-store");
    assert_eq!(login.metadata().get("pragma").unwrap(), "no-cache");

    let refresh_token = login.into_inner().tokens.unwrap().refresh_token;
    let refreshed = client
        .refresh(RefreshRequest { refresh_token })
        .await
        .unwrap();
    assert_eq!(
        refreshed.metadata().get("cache-control").unwrap(),
        "no-store"
    );
    assert_eq!(refreshed.metadata().get("pragma").unwrap(), "no-cache");
}

#[tokio::test]
async fn grpc_web_answers_with_tokens_carry_no_store_as_http_headers() {
    let app = TestApp::spawn().await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let message = prost::Message::encode_to_vec(&LoginRequest {
        username: "alice".into(),
        password: PASSWORD.into(),
        email: String::new(),
    });
    // One uncompressed grpc-web data frame: flag, big-endian length, message.
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&message);
    let reply = send(
        http()
            .post(app.url("/auth.v1.AuthService/Login"))
            .header("content-type", "application/grpc-web+proto")
            .body(frame),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_no_store(&reply);
}
