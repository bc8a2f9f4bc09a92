//! API keys are bounded per user: every `/api/token/` login issues a key, a user keeps the
//! newest 10 live, and the 11th login ends the oldest in the same transaction. Logging out
//! everywhere (RevokeAll) ends every one of them.

use authd::pb::RevokeAllRequest;

use crate::helpers::{PASSWORD, TestApp, api_create, api_token, count, get_with_auth, scalars};

async fn me_status(app: &TestApp, key: &str) -> u16 {
    get_with_auth(app, "/api/me/", Some(&format!("Token {key}")))
        .await
        .status
}

const LIVE: &str = "SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL";

#[tokio::test]
async fn the_eleventh_login_ends_the_oldest_key() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    let mut keys = Vec::new();
    for _ in 0..10 {
        keys.push(api_token(&app, "alice", PASSWORD).await);
        app.clock.advance(1);
    }
    assert_eq!(count(&app.db, LIVE).await, 10);
    let started = app.now() - 10;

    let eleventh = api_token(&app, "alice", PASSWORD).await;
    assert_eq!(count(&app.db, LIVE).await, 10);
    assert_eq!(me_status(&app, &keys[0]).await, 401);
    for key in keys[1..].iter().chain([&eleventh]) {
        assert_eq!(me_status(&app, key).await, 200);
    }
    // The oldest row, and only it, was revoked by the login that issued the eleventh.
    let sql = "SELECT created_at FROM api_keys WHERE revoked_at IS NOT NULL";
    let revoked: Vec<i64> = scalars(&app.db, sql).await;
    assert_eq!(revoked, [started]);
    let sql = "SELECT revoked_at FROM api_keys WHERE revoked_at IS NOT NULL";
    let revoked_at: Vec<i64> = scalars(&app.db, sql).await;
    assert_eq!(revoked_at, [app.now()]);

    // Another user's keys are not counted against alice, nor hers against bob.
    api_create(&app, "bob").await;
    let bob = api_token(&app, "bob", PASSWORD).await;
    assert_eq!(me_status(&app, &bob).await, 200);
    assert_eq!(count(&app.db, LIVE).await, 11);
}

#[tokio::test]
async fn revoke_all_ends_every_api_key() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    let key = api_token(&app, "alice", PASSWORD).await;
    let other = api_token(&app, "alice", PASSWORD).await;
    let mut request = tonic::Request::new(RevokeAllRequest {});
    request
        .metadata_mut()
        .insert("authorization", format!("Token {key}").parse().unwrap());
    app.client().await.revoke_all(request).await.unwrap();
    assert_eq!(me_status(&app, &key).await, 401);
    assert_eq!(me_status(&app, &other).await, 401);
    assert_eq!(count(&app.db, LIVE).await, 0);
}
