//! Replays of a spent refresh token: the first revokes its session (as reuse), and every
//! later one, over Refresh or Logout, gRPC or REST, finds nothing left to change: the
//! stored rows stay exactly as the first replay left them, and a flood of replays is one
//! warning and at most one more log line.

use authd::pb::{LoginRequest, LogoutRequest, RefreshRequest};
use tonic::Code;

use crate::{
    helpers::{Node, PASSWORD, TestApp, http, send},
    throttling::{WritesBlocked, alice, answered_at_once},
};

type SessionRow = (i64, i64, Option<i64>, Option<String>);
type TokenRow = (String, String, i64, Option<i64>);

/// Every session and token row, in a stable order.
async fn stored(app: &TestApp) -> (Vec<SessionRow>, Vec<TokenRow>) {
    let sessions = sqlx::query_as(
        "SELECT id, expires_at, revoked_at, revoked_reason FROM sessions ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let tokens = sqlx::query_as("SELECT jti, kind, expires_at, spent_at FROM tokens ORDER BY jti")
        .fetch_all(&app.db)
        .await
        .unwrap();
    (sessions, tokens)
}

#[tokio::test]
async fn later_replays_of_a_spent_refresh_token_change_nothing() {
    let app = TestApp::spawn().await;
    let first = app.signed_in("alice").await.tokens.unwrap();
    let mut client = app.client().await;
    let refresh = |token: &str| RefreshRequest {
        refresh_token: token.into(),
    };
    let second = client
        .refresh(refresh(&first.refresh_token))
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap();

    // The first replay: reuse, the session is revoked now.
    app.clock.advance(10);
    let revoked_at = app.now();
    let replay = client.refresh(refresh(&first.refresh_token)).await;
    assert_eq!(replay.unwrap_err().code(), Code::Unauthenticated);
    let after_first = stored(&app).await;
    let (sessions, _) = &after_first;
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].2, Some(revoked_at));
    assert_eq!(sessions[0].3.as_deref(), Some("refresh_reuse"));

    // Later replays, by every route a refresh token can take, minutes later.
    app.clock.advance(300);
    for _ in 0..5 {
        let replay = client.refresh(refresh(&first.refresh_token)).await;
        assert_eq!(replay.unwrap_err().code(), Code::Unauthenticated);
    }
    let logout = LogoutRequest {
        refresh_token: first.refresh_token.clone(),
    };
    assert_eq!(
        client.logout(logout).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    for path in ["/auth/token/refresh/", "/auth/logout/"] {
        let body = serde_json::json!({ "refresh": first.refresh_token });
        let reply = send(http().post(app.url(path)).json(&body)).await;
        assert_eq!(reply.status, 401, "{reply:?}");
    }
    // The newest token of the ended session is refused as well, and changes nothing.
    let newest = client.refresh(refresh(&second.refresh_token)).await;
    assert_eq!(newest.unwrap_err().code(), Code::Unauthenticated);

    assert_eq!(stored(&app).await, after_first);
}

#[tokio::test]
async fn later_replays_are_answered_without_writing() {
    let app = TestApp::spawn().await;
    let first = app.signed_in("alice").await.tokens.unwrap();
    let mut client = app.client().await;
    let spent = RefreshRequest {
        refresh_token: first.refresh_token.clone(),
    };
    client.refresh(spent.clone()).await.unwrap();
    app.clock.advance(10); // past the grace window for retries
    let replay = client.refresh(spent.clone()).await;
    assert_eq!(replay.unwrap_err().code(), Code::Unauthenticated);

    // With every write blocked, later replays are still answered at once: they never ask
    // for the writer.
    let blocked = WritesBlocked::on(&app).await;
    for _ in 0..10 {
        let replay = answered_at_once(client.refresh(spent.clone())).await;
        assert_eq!(replay.unwrap_err().code(), Code::Unauthenticated);
        let logout = LogoutRequest {
            refresh_token: first.refresh_token.clone(),
        };
        let replay = answered_at_once(client.logout(logout)).await;
        assert_eq!(replay.unwrap_err().code(), Code::Unauthenticated);
    }
    blocked.release().await;
}

#[tokio::test]
async fn a_replay_flood_logs_one_warning_and_one_summary_line() {
    let dir = tempfile::tempdir().unwrap();
    // Without the grace window for retries: the node's clock is the system's.
    let node = Node::start(dir.path(), &["--refresh-grace", "0"]).await;
    let mut client = node.client().await;
    client.register(alice()).await.unwrap();
    let login = LoginRequest {
        username: "alice".into(),
        password: PASSWORD.into(),
        email: String::new(),
    };
    let tokens = client
        .login(login)
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap();
    let spent = RefreshRequest {
        refresh_token: tokens.refresh_token.clone(),
    };
    client.refresh(spent.clone()).await.unwrap();
    for _ in 0..50 {
        let replay = client.refresh(spent.clone()).await;
        assert_eq!(replay.unwrap_err().code(), Code::Unauthenticated);
    }
    // The log reader thread may still be catching up with the last lines.
    let mut log = node.log();
    for _ in 0..50 {
        if log.contains("of ended sessions presented again") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        log = node.log();
    }
    let lines = |text: &str| log.lines().filter(|line| line.contains(text)).count();
    assert_eq!(lines("session revoked"), 1, "{log}");
    assert_eq!(lines("of ended sessions presented again"), 1, "{log}");
    assert!(!log.contains(&tokens.refresh_token), "{log}");
}
