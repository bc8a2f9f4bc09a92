//! Cross-transport: one user table and one set of sessions behind gRPC and both REST APIs,
//! so an account or a token from one works on the others.

use authd::pb::LogoutRequest;
use serde_json::json;

use crate::helpers::{
    PASSWORD, TestApp, api_create, api_token, assert_unauthenticated, auth_login, get_with_auth,
    is_lower_hex, post_json,
};

#[tokio::test]
async fn grpc_registered_user_logs_in_over_rest_auth_login() {
    let app = TestApp::spawn().await;
    let user = app
        .register("Alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let data = auth_login(&app, "alice", PASSWORD).await;
    let access = data["access"].as_str().unwrap();
    let me = get_with_auth(&app, "/auth/me/", Some(&format!("Bearer {access}"))).await;
    me.assert(
        200,
        json!({ "id": user.id, "username": "Alice", "email": "alice@example.com" }),
    );
}

#[tokio::test]
async fn grpc_registered_user_gets_an_api_token_over_rest() {
    let app = TestApp::spawn().await;
    let user = app
        .register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let key = api_token(&app, "ALICE", PASSWORD).await;
    assert!(is_lower_hex(&key, 40), "{key}");
    let me = get_with_auth(&app, "/api/me/", Some(&format!("Token {key}"))).await;
    me.assert(
        200,
        json!({ "id": user.id, "username": "alice", "email": "alice@example.com" }),
    );
}

#[tokio::test]
async fn rest_registered_users_log_in_over_grpc() {
    let app = TestApp::spawn().await;
    let created = api_create(&app, "alice").await;
    let body = json!({ "username": "bob", "email": "bob@example.com", "password": PASSWORD });
    assert_eq!(post_json(&app, "/auth/register/", &body).await.status, 201);
    let body = json!({ "username": "carol", "password": PASSWORD });
    assert_eq!(post_json(&app, "/api/create/", &body).await.status, 201);

    let login = app.login("alice", PASSWORD).await.unwrap();
    let user = login.user.unwrap();
    assert_eq!(json!(user.id), created["id"]);
    assert_eq!(
        (user.username.as_str(), user.email.as_str()),
        ("alice", "alice@example.com")
    );
    let bob = app.login("BOB", PASSWORD).await.unwrap().user.unwrap();
    assert_eq!(bob.email, "bob@example.com");
    let carol = app.login("carol", PASSWORD).await.unwrap();
    assert_eq!(carol.user.unwrap().email, "");
    let access = carol.tokens.unwrap().access_token;
    assert_eq!(app.get_me(&access).await.unwrap().username, "carol");
}

#[tokio::test]
async fn one_user_table_duplicates_are_refused_across_transports() {
    let app = TestApp::spawn().await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let body = json!({ "username": "ALICE", "email": "other@example.com", "password": PASSWORD });
    post_json(&app, "/api/create/", &body).await.assert(
        400,
        json!({ "username": ["A user with that username already exists."] }),
    );
    let body = json!({ "username": "bob", "email": "Alice@Example.com", "password": PASSWORD });
    post_json(&app, "/auth/register/", &body).await.assert(
        400,
        json!({
            "message": "Registration failed",
            "errors": { "email": ["A user with that email already exists."] },
        }),
    );
    api_create(&app, "carol").await;
    let status = app
        .register("Carol", "c2@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::AlreadyExists);
}

#[tokio::test]
async fn auth_login_access_token_works_on_api_me_with_bearer() {
    let app = TestApp::spawn().await;
    let user = api_create(&app, "alice").await;
    let data = auth_login(&app, "alice", PASSWORD).await;
    let bearer = format!("Bearer {}", data["access"].as_str().unwrap());
    get_with_auth(&app, "/api/me/", Some(&bearer))
        .await
        .assert(200, user);
}

#[tokio::test]
async fn api_token_key_works_on_grpc_get_me() {
    let app = TestApp::spawn().await;
    let created = api_create(&app, "alice").await;
    let key = api_token(&app, "alice", PASSWORD).await;
    let me = app.get_me_with(&format!("Token {key}")).await.unwrap();
    assert_eq!(json!(me.id), created["id"]);
    assert_eq!(
        (me.username.as_str(), me.email.as_str()),
        ("alice", "alice@example.com")
    );
    assert_unauthenticated(app.get_me_with(&format!("Token {}", "0".repeat(40))).await);
}

#[tokio::test]
async fn grpc_login_access_token_works_on_auth_me() {
    let app = TestApp::spawn().await;
    let login = app.signed_in("alice").await;
    let user = login.user.unwrap();
    let bearer = format!("Bearer {}", login.tokens.unwrap().access_token);
    let me = get_with_auth(&app, "/auth/me/", Some(&bearer)).await;
    me.assert(
        200,
        json!({ "id": user.id, "username": "alice", "email": "alice@example.com" }),
    );
}

#[tokio::test]
async fn sessions_are_shared_so_logout_on_one_transport_ends_the_other() {
    let app = TestApp::spawn().await;
    // A REST session ended over gRPC.
    api_create(&app, "alice").await;
    let data = auth_login(&app, "alice", PASSWORD).await;
    let request = LogoutRequest {
        refresh_token: data["refresh"].as_str().unwrap().into(),
    };
    app.client().await.logout(request).await.unwrap();
    let bearer = format!("Bearer {}", data["access"].as_str().unwrap());
    assert_eq!(
        get_with_auth(&app, "/auth/me/", Some(&bearer)).await.status,
        401
    );

    // A gRPC session ended over REST.
    let tokens = app.login("alice", PASSWORD).await.unwrap().tokens.unwrap();
    let body = json!({ "refresh": tokens.refresh_token });
    post_json(&app, "/auth/logout/", &body)
        .await
        .assert(200, json!({}));
    assert_unauthenticated(app.get_me(&tokens.access_token).await);
}
