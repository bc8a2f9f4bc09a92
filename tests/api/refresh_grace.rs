//! Refresh retries and races: a retry of the token just rotated, within the grace window,
//! gets a working pair and keeps the session; parallel refreshes of one token all succeed
//! without revoking it and leave one live generation; anything older, or the previous token
//! after the window, is reuse and revokes the session. On both backends, and across nodes.

use authd::pb::{RefreshRequest, TokenPair, auth_service_client::AuthServiceClient};
use tonic::{Status, transport::Channel};

use crate::{
    helpers::{TestApp, assert_unauthenticated, count, require_postgres, rows, scalars},
    throttling_nodes::start_node,
};

async fn refresh_with(
    client: &mut AuthServiceClient<Channel>,
    refresh_token: &str,
) -> Result<TokenPair, Status> {
    let request = RefreshRequest {
        refresh_token: refresh_token.into(),
    };
    let response = client.refresh(request).await?;
    Ok(response
        .into_inner()
        .tokens
        .expect("tokens in RefreshResponse"))
}

async fn refresh(app: &TestApp, refresh_token: &str) -> Result<TokenPair, Status> {
    refresh_with(&mut app.client().await, refresh_token).await
}

/// The session's generation, revocation time and reason.
async fn session(app: &TestApp) -> (i64, Option<i64>, Option<String>) {
    let sql = "SELECT generation, revoked_at, revoked_reason FROM sessions";
    rows(&app.db, sql).await.remove(0)
}

/// The generations that unspent refresh tokens belong to.
async fn live_refresh_generations(app: &TestApp) -> Vec<i64> {
    let sql = "SELECT DISTINCT generation FROM tokens
               WHERE kind = 'refresh' AND spent_at IS NULL ORDER BY generation";
    scalars(&app.db, sql).await
}

#[tokio::test]
async fn a_retry_within_the_grace_window_gets_a_working_pair_and_keeps_the_session() {
    let app = TestApp::spawn().await;
    let first = app.signed_in("alice").await.tokens.unwrap();
    let rotated = refresh(&app, &first.refresh_token).await.unwrap();
    let rotated_at = app.now();

    // The response was lost; the client retries the same token 9 s later.
    app.clock.advance(9);
    let retried = refresh(&app, &first.refresh_token).await.unwrap();
    assert_ne!(retried.refresh_token, rotated.refresh_token);
    assert_eq!(
        app.get_me(&retried.access_token).await.unwrap().username,
        "alice"
    );
    assert_eq!(
        app.get_me(&rotated.access_token).await.unwrap().username,
        "alice"
    );
    assert_eq!(session(&app).await, (1, None, None));
    // Both new refresh tokens are siblings in the one live generation.
    assert_eq!(live_refresh_generations(&app).await, [1]);
    let sql = "SELECT COUNT(*) FROM tokens WHERE kind = 'refresh' AND spent_at IS NULL";
    assert_eq!(count(&app.db, sql).await, 2);

    // Using either sibling spends both: the session moves on by one generation.
    let next = refresh(&app, &retried.refresh_token).await.unwrap();
    let spent_at = app.now();
    assert_eq!(session(&app).await, (2, None, None));
    let sql = "SELECT generation, spent_at FROM tokens WHERE kind = 'refresh'
               ORDER BY generation, created_at";
    let spent: Vec<(i64, Option<i64>)> = rows(&app.db, sql).await;
    let expected = [
        (0, Some(rotated_at)),
        (1, Some(spent_at)),
        (1, Some(spent_at)),
        (2, None),
    ];
    assert_eq!(spent, expected);

    // The other sibling, after the window, is reuse: it was spent with the first.
    app.clock.advance(10);
    assert_unauthenticated(refresh(&app, &rotated.refresh_token).await);
    assert_unauthenticated(refresh(&app, &next.refresh_token).await);
    let (_, revoked_at, reason) = session(&app).await;
    assert_eq!(revoked_at, Some(app.now()));
    assert_eq!(reason.as_deref(), Some("refresh_reuse"));
}

#[tokio::test]
async fn the_previous_token_after_the_grace_window_revokes_the_session() {
    let app = TestApp::spawn().await;
    let first = app.signed_in("alice").await.tokens.unwrap();
    let rotated = refresh(&app, &first.refresh_token).await.unwrap();
    app.clock.advance(10);
    assert_unauthenticated(refresh(&app, &first.refresh_token).await);
    assert_unauthenticated(refresh(&app, &rotated.refresh_token).await);
    assert_unauthenticated(app.get_me(&rotated.access_token).await);
    let (generation, revoked_at, reason) = session(&app).await;
    assert_eq!((generation, revoked_at), (1, Some(app.now())));
    assert_eq!(reason.as_deref(), Some("refresh_reuse"));
}

#[tokio::test]
async fn a_token_two_generations_old_revokes_the_session_even_within_the_window() {
    let app = TestApp::spawn().await;
    let first = app.signed_in("alice").await.tokens.unwrap();
    let second = refresh(&app, &first.refresh_token).await.unwrap();
    let third = refresh(&app, &second.refresh_token).await.unwrap();
    assert_unauthenticated(refresh(&app, &first.refresh_token).await);
    assert_unauthenticated(refresh(&app, &third.refresh_token).await);
    let (_, revoked_at, reason) = session(&app).await;
    assert_eq!(revoked_at, Some(app.now()));
    assert_eq!(reason.as_deref(), Some("refresh_reuse"));
}

#[tokio::test]
async fn a_grace_window_of_zero_makes_every_retry_reuse() {
    let app = TestApp::spawn_with(&["--refresh-grace", "0"]).await;
    let first = app.signed_in("alice").await.tokens.unwrap();
    let rotated = refresh(&app, &first.refresh_token).await.unwrap();
    assert_unauthenticated(refresh(&app, &first.refresh_token).await);
    assert_unauthenticated(app.get_me(&rotated.access_token).await);
    let (_, _, reason) = session(&app).await;
    assert_eq!(reason.as_deref(), Some("refresh_reuse"));
}

/// Presents `token` from every client at once, 30 times in all, and checks what the rows
/// say: every refresh answered a pair, the session is live, and its unspent refresh tokens
/// are one generation. Then one of them spends that generation, and with it the others.
async fn thirty_parallel_refreshes(app: &TestApp, clients: &[AuthServiceClient<Channel>]) {
    let first = app.signed_in("alice").await.tokens.unwrap();
    let attempts = (0..30).map(|i| {
        let mut client = clients[i % clients.len()].clone();
        let token = first.refresh_token.clone();
        async move { refresh_with(&mut client, &token).await }
    });
    let results = futures::future::join_all(attempts).await;
    let pairs: Vec<TokenPair> = results.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(session(app).await, (1, None, None));
    assert_eq!(live_refresh_generations(app).await, [1]);
    let sql = "SELECT COUNT(*) FROM tokens WHERE kind = 'refresh' AND spent_at IS NULL";
    assert_eq!(count(&app.db, sql).await, 30);
    for pair in &pairs {
        assert_eq!(
            app.get_me(&pair.access_token).await.unwrap().username,
            "alice"
        );
    }

    // One of them is used: the whole generation is spent, and exactly one token is live.
    app.clock.advance(1);
    let next = refresh(app, &pairs[17].refresh_token).await.unwrap();
    assert_eq!(session(app).await, (2, None, None));
    assert_eq!(count(&app.db, sql).await, 1);
    let sql = "SELECT COUNT(*) FROM tokens WHERE kind = 'refresh' AND generation = 1
               AND spent_at IS NOT NULL";
    assert_eq!(count(&app.db, sql).await, 30);

    // Past the window, each of the other 29 is refused: none of them was live on its own.
    // The first of them is reuse and revokes the session; the rest find it over.
    app.clock.advance(10);
    for (i, pair) in pairs.iter().enumerate() {
        if i != 17 {
            assert_unauthenticated(refresh(app, &pair.refresh_token).await);
        }
    }
    assert_unauthenticated(refresh(app, &next.refresh_token).await);
    let (_, revoked_at, reason) = session(app).await;
    assert_eq!(revoked_at, Some(app.now()));
    assert_eq!(reason.as_deref(), Some("refresh_reuse"));
}

#[tokio::test]
async fn thirty_parallel_refreshes_of_one_token_keep_the_session_and_one_live_generation() {
    let app = TestApp::spawn_with(&["--ip-limit", "0"]).await;
    let client = app.client().await;
    thirty_parallel_refreshes(&app, &[client]).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it in its PostgreSQL pass"]
async fn thirty_parallel_refreshes_across_three_nodes_keep_the_session() {
    require_postgres();
    let app = TestApp::spawn().await;
    let url = app.database_url().to_string();
    let (b, c) = tokio::join!(start_node(&url, &app.clock), start_node(&url, &app.clock));
    let _running = [b.1, c.1];
    let mut clients = vec![app.client().await];
    for address in [b.0, c.0] {
        let client = AuthServiceClient::connect(format!("http://{address}"))
            .await
            .unwrap();
        clients.push(client);
    }
    thirty_parallel_refreshes(&app, &clients).await;
}

#[tokio::test]
async fn a_session_ends_at_its_maximum_age_however_often_it_is_refreshed() {
    let app = TestApp::spawn_with(&["--session-max-age", "1h"]).await;
    let started = app.now();
    let mut tokens = app.signed_in("alice").await.tokens.unwrap();
    for _ in 0..3 {
        app.clock.advance(1199);
        tokens = refresh(&app, &tokens.refresh_token).await.unwrap();
    }
    // 3597 s in: still live, and the end has not moved.
    let (ends_at, expires_at): (i64, i64) =
        rows(&app.db, "SELECT ends_at, expires_at FROM sessions")
            .await
            .remove(0);
    assert_eq!(ends_at, started + 3600);
    // No token claims to outlive the session: both expire at its end, not a day out.
    assert_eq!(expires_at, started + 3600);
    let seconds = |at: &Option<prost_types::Timestamp>| at.as_ref().map(|t| t.seconds);
    assert_eq!(seconds(&tokens.refresh_expires_at), Some(started + 3600));
    assert_eq!(seconds(&tokens.access_expires_at), Some(started + 3600));
    assert!(app.get_me(&tokens.access_token).await.is_ok());

    app.clock.advance(3);
    assert_unauthenticated(app.get_me(&tokens.access_token).await);
    assert_unauthenticated(refresh(&app, &tokens.refresh_token).await);
    // Ended by age, not revoked: the row says so.
    assert_eq!(session(&app).await, (3, None, None));
}
