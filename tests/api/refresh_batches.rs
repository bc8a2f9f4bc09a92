//! Concurrent refreshes share one transaction (group commit): a burst of them, on the real
//! binary, all get their pairs; the database ends exactly as one-at-a-time refreshes would
//! leave it; and `authd_db_batch_size` shows the requests were answered in fewer batches
//! than there were requests. On the suite's backend, so on both.

use authd::pb::{LoginRequest, RefreshRequest, RegisterRequest, TokenPair};
use sqlx::AnyPool;

use crate::helpers::{Node, PASSWORD, Scrape, fresh_database, rows};

const SESSIONS: usize = 40;
/// Sessions whose refresh token is sent twice at once, as a retry racing its original.
const RACED: usize = 5;

#[tokio::test]
async fn a_burst_of_refreshes_is_answered_in_batches_and_ends_as_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir).await;
    let node = Node::start(dir.path(), &["--database-url", &url, "--ip-limit", "0"]).await;
    let mut client = node.client().await;
    client
        .register(RegisterRequest {
            username: "batch".into(),
            email: "batch@example.com".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    let mut refresh_tokens = Vec::new();
    for _ in 0..SESSIONS {
        let login = LoginRequest {
            username: "batch".into(),
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
        refresh_tokens.push(tokens.refresh_token);
    }

    let sent: Vec<String> = refresh_tokens
        .iter()
        .chain(&refresh_tokens[..RACED])
        .cloned()
        .collect();
    let refreshes: Vec<_> = sent
        .into_iter()
        .map(|refresh_token| {
            let mut client = client.clone();
            tokio::spawn(async move {
                let request = RefreshRequest { refresh_token };
                client.refresh(request).await.map(|r| r.into_inner().tokens)
            })
        })
        .collect();
    let mut pairs: Vec<TokenPair> = Vec::new();
    for refresh in refreshes {
        let answer = refresh.await.unwrap();
        pairs.push(
            answer
                .expect("every refresh in the burst succeeds")
                .unwrap(),
        );
    }

    // Every new access token works.
    for pair in &pairs {
        let mut request = tonic::Request::new(authd::pb::GetMeRequest {});
        let bearer = format!("Bearer {}", pair.access_token).parse().unwrap();
        request.metadata_mut().insert("authorization", bearer);
        client.get_me(request).await.unwrap();
    }

    // As one at a time: each session moved on exactly one generation (the raced ones got a
    // sibling, not a second rotation), none revoked, every first token spent, and the
    // unspent refresh tokens are the ones just handed out.
    let db = AnyPool::connect(&url).await.unwrap();
    let sessions: Vec<(i64, i64)> = rows(
        &db,
        "SELECT generation, CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END FROM sessions",
    )
    .await;
    assert_eq!(sessions.len(), SESSIONS);
    assert!(sessions.iter().all(|s| *s == (1, 0)), "{sessions:?}");
    let refresh_rows: Vec<(i64, i64)> = rows(
        &db,
        "SELECT generation, CASE WHEN spent_at IS NULL THEN 0 ELSE 1 END FROM tokens
         WHERE kind = 'refresh' ORDER BY generation",
    )
    .await;
    let count = |row: (i64, i64)| refresh_rows.iter().filter(|r| **r == row).count();
    assert_eq!(count((0, 1)), SESSIONS, "every first refresh token spent");
    assert_eq!(
        count((1, 0)),
        SESSIONS + RACED,
        "a live pair for every answer"
    );
    assert_eq!(refresh_rows.len(), 2 * SESSIONS + RACED);

    let scrape = Scrape::fetch(&format!("http://{}/metrics", node.address)).await;
    let labels = [("queue", "refresh")];
    let batches = scrape.value("authd_db_batch_size_count", &labels);
    let requests = scrape.value("authd_db_batch_size_sum", &labels);
    assert_eq!(requests, (SESSIONS + RACED) as f64);
    assert!(
        batches < requests,
        "{requests} refreshes in {batches} batches: none was shared"
    );
    // ...and each batch was spent together, not retried one by one after failing.
    let log = node.log();
    assert!(!log.contains("retrying them one by one"), "{log}");
}
