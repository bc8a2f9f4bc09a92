//! A batch against a real SQLite file, checked against the same requests spent one by one
//! on another: the same outcomes, the same rows.

use super::*;
use crate::{
    auth::model::{IssuedToken, NewUser, SessionOrigin, TokenKind, TokenPair},
    store::{PoolSettings, Store},
};

const NOW: i64 = 1_000_000;
const GRACE: i64 = 30;

fn token(jti: String, kind: TokenKind, now: i64) -> IssuedToken {
    IssuedToken {
        token: String::new(),
        jti,
        kid: "k1".into(),
        kind,
        issued_at: now,
        expires_at: now + 3_600,
    }
}

fn pair(tag: &str, now: i64) -> TokenPair {
    TokenPair {
        access: token(format!("{tag}-a"), TokenKind::Access, now),
        refresh: token(format!("{tag}-r"), TokenKind::Refresh, now),
    }
}

/// A request to spend `jti`, which the pre-read found in session row `session_id`.
fn request(jti: &str, session_id: i64, user_id: i64, now: i64, new: &str) -> RotationRequest {
    RotationRequest {
        jti: jti.into(),
        session_id,
        user_id,
        now,
        pair: pair(new, now),
        grace: GRACE,
    }
}

/// A fresh database with one user and sessions `s0`..`s7`, `s6` rotated long ago (so its
/// first refresh token is spent, outside the grace window).
async fn database(dir: &tempfile::TempDir, name: &str) -> (Store, i64) {
    let url = format!("sqlite://{}", dir.path().join(name).display());
    let store = Store::connect(&url, PoolSettings { max_connections: 1 })
        .await
        .unwrap();
    let user = NewUser {
        username: "ann",
        username_key: "ann",
        email: None,
        email_key: None,
        password_hash: "x",
        created_at: NOW - 1_000,
    };
    let crate::auth::model::Inserted::User(user) = store.insert_user(&user).await.unwrap() else {
        panic!("user not inserted");
    };
    for session in 0..8 {
        let origin = SessionOrigin {
            public_id: &format!("p{session}"),
            user_agent: None,
            ip: None,
        };
        let first = pair(&format!("s{session}"), NOW - 500);
        store
            .start_session(
                user.id,
                &first,
                NOW + 86_400,
                &origin,
                user.username.as_str(),
            )
            .await
            .unwrap();
    }
    let early = request("s6-r", 7, user.id, NOW - 100, "s6-second");
    assert_eq!(
        rotate_one(&store.pools, &early).await.unwrap(),
        Rotation::Rotated
    );
    (store, user.id)
}

/// Every case a batch can hold, in arrival order. Session `sN` is row N + 1.
fn requests(user_id: i64) -> Vec<RotationRequest> {
    vec![
        request("s0-r", 1, user_id, NOW, "n0"),
        request("s1-r", 2, user_id, NOW, "n1"),
        // The same token twice, as a retry racing its original: spent, then a sibling.
        request("s2-r", 3, user_id, NOW, "n2"),
        request("s2-r", 3, user_id, NOW, "n2-retry"),
        // Spent 100 s ago, outside the window: reuse, and the session is revoked.
        request("s6-r", 7, user_id, NOW, "n6"),
        // Not recorded (any more), in a round with s1's own request.
        request("nobody-r", 2, user_id, NOW, "n-unknown"),
        // Another user's token is not this user's to spend.
        request("s3-r", 4, user_id + 1, NOW, "n3"),
        // A second later, in its own round.
        request("s4-r", 5, user_id, NOW + 1, "n4"),
    ]
}

/// The next batch: the sibling issued above spends its generation; a spent token of the
/// previous batch, inside the window, gets a sibling.
fn next_requests(user_id: i64) -> Vec<RotationRequest> {
    vec![
        request("n2-retry-r", 3, user_id, NOW + 2, "n2-third"),
        request("s0-r", 1, user_id, NOW + 2, "n0-retry"),
    ]
}

type SessionState = Vec<(i64, i64, Option<String>)>;
type TokenState = Vec<(String, i64, String, i64, bool)>;

async fn state(store: &Store) -> (SessionState, TokenState) {
    let Pools::Sqlite { reader, .. } = &store.pools else {
        panic!("a SQLite store");
    };
    let sessions =
        sqlx::query_as("SELECT id, generation, revoked_reason FROM sessions ORDER BY id")
            .fetch_all(reader)
            .await
            .unwrap();
    let tokens = sqlx::query_as(
        "SELECT jti, session_id, kind, generation, spent_at IS NOT NULL FROM tokens ORDER BY jti",
    )
    .fetch_all(reader)
    .await
    .unwrap();
    (sessions, tokens)
}

#[tokio::test]
async fn a_batch_ends_as_its_requests_one_by_one_would() {
    let dir = tempfile::tempdir().unwrap();
    let (together, user_id) = database(&dir, "together.db").await;
    let (alone, alone_user) = database(&dir, "alone.db").await;
    assert_eq!(user_id, alone_user);

    let mut batched = rotate_together(&together.pools, &requests(user_id))
        .await
        .unwrap();
    batched.extend(
        rotate_together(&together.pools, &next_requests(user_id))
            .await
            .unwrap(),
    );
    let mut one_by_one = Vec::new();
    for request in requests(user_id).iter().chain(&next_requests(user_id)) {
        one_by_one.push(rotate_one(&alone.pools, request).await.unwrap());
    }

    let s6 = 7; // the seventh session row
    assert_eq!(
        batched,
        vec![
            Rotation::Rotated,
            Rotation::Rotated,
            Rotation::Rotated,
            Rotation::Retried,
            Rotation::Reused { session_id: s6 },
            Rotation::Rejected,
            Rotation::Rejected,
            Rotation::Rotated,
            Rotation::Rotated,
            Rotation::Retried,
        ]
    );
    assert_eq!(batched, one_by_one);
    let (sessions, tokens) = state(&together).await;
    assert_eq!((sessions.clone(), tokens.clone()), state(&alone).await);

    // What the rows say, not only that both databases agree.
    let generation = |id: i64| sessions.iter().find(|s| s.0 == id).map(|s| s.1);
    assert_eq!(generation(3), Some(2), "s2: spent, its sibling spent again");
    assert_eq!(sessions[6].2.as_deref(), Some("refresh_reuse"));
    assert_eq!(generation(4), Some(0), "s3 was not the caller's to spend");
    let spent = |jti: &str| tokens.iter().find(|t| t.0 == jti).map(|t| t.4);
    assert_eq!(spent("s0-r"), Some(true));
    assert_eq!(
        spent("n2-r"),
        Some(true),
        "the sibling's generation went with it"
    );
    assert_eq!(spent("n2-third-r"), Some(false));
    assert_eq!(
        spent("n0-retry-r"),
        Some(false),
        "a sibling in s0's current generation"
    );
    assert_eq!(generation(1), Some(1));
    assert_eq!(
        spent("n-unknown-r"),
        None,
        "nothing recorded for a refused request"
    );
}
