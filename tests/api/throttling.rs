//! The per-account login throttle, through the front door: consecutive wrong passwords make
//! each further attempt wait before its password is checked, a throttled attempt changes
//! nothing, unknown usernames are treated exactly like known ones, and a success forgets
//! everything. Time is the server's manual clock; the expected waits are literals.

use std::time::Duration;

use authd::pb::{LoginRequest, RegisterRequest};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::helpers::{PASSWORD, TestApp, api_token, auth_login, count, http, post_json, send};

const WRONG: &str = "not-the-password";

/// Alice's registration, for servers the suite's helpers do not start.
pub fn alice() -> RegisterRequest {
    RegisterRequest {
        username: "alice".into(),
        email: "alice@example.com".into(),
        password: PASSWORD.into(),
    }
}

/// A fresh server where alice has registered.
/// The hashing line is made long enough for every parallel attempt of these tests, so what
/// they count is the per-account throttle alone (a full line answers UNAVAILABLE first).
async fn app_with_alice() -> TestApp {
    let app = TestApp::spawn_with(&["--hash-queue", "128"]).await;
    app.client().await.register(alice()).await.unwrap();
    app
}

/// `(failures, last_attempt_at, next_attempt_at)` of `username_key`, if it has a row.
pub async fn attempts(app: &TestApp, username_key: &str) -> Option<(i64, i64, i64)> {
    sqlx::query_as(
        "SELECT failures, last_attempt_at, next_attempt_at FROM login_attempts
         WHERE username_key = $1",
    )
    .bind(username_key)
    .fetch_optional(&app.db)
    .await
    .unwrap()
}

/// The wait a throttled call was told, after checking it was told the same in the
/// `retry-after` metadata and in the `google.rpc.RetryInfo` detail.
pub fn retry_after(status: &Status) -> u64 {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let metadata: u64 = status
        .metadata()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let detail = status
        .get_details_retry_info()
        .unwrap()
        .retry_delay
        .unwrap();
    assert_eq!(detail, Duration::from_secs(metadata), "{status:?}");
    assert_eq!(
        status.message(),
        format!("too many attempts, retry in {metadata} s")
    );
    metadata
}

/// Holds the database's write lock (SQLite) or blocks every write to the tables authd
/// writes on a request (PostgreSQL) until dropped: a call that must write waits, a call
/// answered on reads alone does not.
pub struct WritesBlocked(Option<sqlx::pool::PoolConnection<sqlx::Any>>);

impl WritesBlocked {
    pub async fn on(app: &TestApp) -> WritesBlocked {
        let mut connection = app.db.acquire().await.unwrap();
        if std::env::var("AUTHD_TEST_BACKEND").as_deref() == Ok("postgres") {
            sqlx::query("BEGIN")
                .execute(&mut *connection)
                .await
                .unwrap();
            sqlx::query(
                "LOCK TABLE users, sessions, tokens, login_attempts, api_keys IN EXCLUSIVE MODE",
            )
            .execute(&mut *connection)
            .await
            .unwrap();
        } else {
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut *connection)
                .await
                .unwrap();
        }
        WritesBlocked(Some(connection))
    }

    pub async fn release(mut self) {
        if let Some(mut connection) = self.0.take() {
            sqlx::query("ROLLBACK")
                .execute(&mut *connection)
                .await
                .unwrap();
        }
    }
}

/// `call`'s answer, which must come within two seconds (a write would wait for the lock
/// far longer: SQLite's busy timeout is five seconds, PostgreSQL's lock wait unbounded).
pub async fn answered_at_once<T>(call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(2), call)
        .await
        .expect("answered without waiting for a write")
}

#[tokio::test]
async fn wrong_passwords_earn_a_growing_wait_and_a_success_forgets_them() {
    let app = app_with_alice().await;
    let t0 = app.now();
    for failures in 1..=4 {
        let refused = app.login("alice", WRONG).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated);
        assert_eq!(attempts(&app, "alice").await, Some((failures, t0, t0)));
    }
    // The fifth failure in a row: the next attempt waits a second.
    let refused = app.login("Alice", WRONG).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert_eq!(attempts(&app, "alice").await, Some((5, t0, t0 + 1)));
    // Meanwhile even the right password is refused, and the count does not move.
    let throttled = app.login("alice", PASSWORD).await.unwrap_err();
    assert_eq!(retry_after(&throttled), 1);
    assert_eq!(attempts(&app, "alice").await, Some((5, t0, t0 + 1)));

    app.clock.advance(1);
    app.login("alice", WRONG).await.unwrap_err();
    assert_eq!(attempts(&app, "alice").await, Some((6, t0 + 1, t0 + 4)));
    app.clock.advance(2);
    assert_eq!(
        retry_after(&app.login("alice", PASSWORD).await.unwrap_err()),
        1
    );
    app.clock.advance(1);
    app.login("alice", WRONG).await.unwrap_err();
    assert_eq!(attempts(&app, "alice").await, Some((7, t0 + 4, t0 + 9)));
    assert_eq!(
        retry_after(&app.login("alice", PASSWORD).await.unwrap_err()),
        5
    );

    app.clock.advance(5);
    app.login("alice", PASSWORD).await.unwrap();
    assert_eq!(attempts(&app, "alice").await, None);
    // A typo after the success is the first failure of a new run.
    app.login("alice", WRONG).await.unwrap_err();
    assert_eq!(attempts(&app, "alice").await, Some((1, t0 + 9, t0 + 9)));
}

/// Two wrong passwords for alice, counted.
async fn two_failures(app: &TestApp) {
    for _ in 0..2 {
        app.login("alice", WRONG).await.unwrap_err();
    }
    assert_eq!(attempts(app, "alice").await.map(|row| row.0), Some(2));
}

#[tokio::test]
async fn every_kind_of_matching_password_forgets_the_failures_before_it() {
    let app = app_with_alice().await;

    two_failures(&app).await;
    let by_email = LoginRequest {
        username: String::new(),
        password: PASSWORD.into(),
        email: "alice@example.com".into(),
    };
    app.client().await.login(by_email).await.unwrap();
    assert_eq!(attempts(&app, "alice").await, None, "login by email");

    two_failures(&app).await;
    auth_login(&app, "alice", PASSWORD).await;
    assert_eq!(attempts(&app, "alice").await, None, "POST /auth/login/");

    two_failures(&app).await;
    let key = api_token(&app, "alice", PASSWORD).await;
    assert_eq!(attempts(&app, "alice").await, None, "POST /api/token/");

    two_failures(&app).await;
    let change = serde_json::json!({
        "old_password": PASSWORD, "new_password1": "a-new-long-secret",
        "new_password2": "a-new-long-secret",
    });
    let request = http()
        .post(app.url("/auth/password/change/"))
        .header("authorization", format!("Token {key}"))
        .json(&change);
    let reply = send(request).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(attempts(&app, "alice").await, None, "a password change");
}

#[tokio::test]
async fn throttled_attempts_are_refused_before_the_password_is_checked() {
    let app = app_with_alice().await;
    let t0 = app.now();
    for _ in 0..5 {
        app.login("alice", WRONG).await.unwrap_err();
    }
    // Right or wrong, twenty attempts during the wait are all refused: none of them was
    // counted (a checked one would have been) and none started a session.
    for attempt in 0..20 {
        let password = if attempt % 2 == 0 { PASSWORD } else { WRONG };
        assert_eq!(
            retry_after(&app.login("alice", password).await.unwrap_err()),
            1
        );
    }
    assert_eq!(attempts(&app, "alice").await, Some((5, t0, t0 + 1)));
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM sessions").await, 0);

    // They cost no write either: with every write blocked, they are answered at once.
    let blocked = WritesBlocked::on(&app).await;
    for _ in 0..10 {
        let refused = answered_at_once(app.login("alice", PASSWORD)).await;
        assert_eq!(retry_after(&refused.unwrap_err()), 1);
    }
    blocked.release().await;
    app.clock.advance(1);
    app.login("alice", PASSWORD).await.unwrap();
}

#[tokio::test]
async fn unknown_usernames_are_throttled_exactly_like_known_ones() {
    let app = app_with_alice().await;
    let t0 = app.now();
    let mut answers = Vec::new();
    for username in ["alice", "nobody"] {
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(app.login(username, WRONG).await.unwrap_err());
        }
        answers.push(statuses);
    }
    let (known, unknown) = (&answers[0], &answers[1]);
    for (known, unknown) in known.iter().zip(unknown) {
        assert_eq!(known.code(), unknown.code());
        assert_eq!(known.message(), unknown.message());
        assert_eq!(known.details(), unknown.details());
        assert_eq!(
            known.metadata().get("retry-after"),
            unknown.metadata().get("retry-after")
        );
    }
    assert_eq!(known[4].code(), Code::Unauthenticated);
    assert_eq!(retry_after(&known[5]), 1);
    assert_eq!(attempts(&app, "alice").await, Some((5, t0, t0 + 1)));
    assert_eq!(attempts(&app, "nobody").await, Some((5, t0, t0 + 1)));
}

#[tokio::test]
async fn of_fifty_parallel_wrong_passwords_five_are_checked() {
    let app = app_with_alice().await;
    let t0 = app.now();
    let guesses = (0..50).map(|i| {
        let app = &app;
        async move { app.login("alice", &format!("guess-{i}")).await }
    });
    let results = futures::future::join_all(guesses).await;
    let checked = results
        .iter()
        .filter(|r| matches!(r, Err(s) if s.code() == Code::Unauthenticated))
        .count();
    let throttled = results
        .iter()
        .filter(|r| matches!(r, Err(s) if s.code() == Code::ResourceExhausted))
        .count();
    assert_eq!((checked, throttled), (5, 45), "{results:?}");
    assert_eq!(attempts(&app, "alice").await, Some((5, t0, t0 + 1)));
    assert_eq!(
        retry_after(&app.login("alice", PASSWORD).await.unwrap_err()),
        1
    );
    app.clock.advance(1);
    app.login("alice", PASSWORD).await.unwrap();
}

#[tokio::test]
async fn the_token_apis_answer_429_with_drfs_body_and_retry_after() {
    let app = TestApp::spawn().await;
    for name in ["alice", "bob"] {
        app.register(name, &format!("{name}@example.com"), PASSWORD)
            .await
            .unwrap();
    }
    let wrong = |name: &str| serde_json::json!({ "username": name, "password": WRONG });
    let throttled = |seconds: &str| {
        serde_json::json!({
            "detail": format!("Request was throttled. Expected available in {seconds}.")
        })
    };

    // The DRF token API: bad credentials are its 400, then DRF's own throttled answer.
    for _ in 0..5 {
        let reply = post_json(&app, "/api/token/", &wrong("alice")).await;
        let bad = serde_json::json!({
            "non_field_errors": ["Unable to log in with provided credentials."]
        });
        reply.assert(400, bad);
    }
    let reply = post_json(&app, "/api/token/", &wrong("alice")).await;
    reply.assert(429, throttled("1 second"));
    assert_eq!(reply.header("retry-after"), Some("1"));
    let right = serde_json::json!({ "username": "alice", "password": PASSWORD });
    post_json(&app, "/api/token/", &right)
        .await
        .assert(429, throttled("1 second"));

    // The JWT API's login, on another account, and the count it shares with gRPC.
    for _ in 0..4 {
        let reply = post_json(&app, "/auth/login/", &wrong("bob")).await;
        reply.assert(
            401,
            serde_json::json!({ "message": "Invalid login credentials" }),
        );
    }
    app.login("bob", WRONG).await.unwrap_err();
    let reply = post_json(&app, "/auth/login/", &wrong("bob")).await;
    reply.assert(429, throttled("1 second"));
    app.clock.advance(1);
    let reply = post_json(&app, "/auth/login/", &wrong("bob")).await;
    assert_eq!(reply.status, 401, "{reply:?}");
    let reply = post_json(&app, "/auth/login/", &wrong("bob")).await;
    reply.assert(429, throttled("3 seconds"));
    assert_eq!(reply.header("retry-after"), Some("3"));
    assert_eq!(
        retry_after(&app.login("bob", PASSWORD).await.unwrap_err()),
        3
    );
}

#[tokio::test]
async fn the_hundredth_failure_waits_a_day_then_the_count_starts_over() {
    let app = app_with_alice().await;
    let mut waits = Vec::new();
    for failures in 1..=100 {
        app.login("alice", WRONG).await.unwrap_err();
        let (counted, last, next) = attempts(&app, "alice").await.unwrap();
        assert_eq!((counted, last), (failures, app.now()));
        waits.push(next - last);
        app.clock.advance(next - app.now());
    }
    assert_eq!(
        waits[..13],
        [0, 0, 0, 0, 1, 3, 5, 10, 30, 60, 120, 300, 300]
    );
    assert!(waits[11..99].iter().all(|&wait| wait == 300), "{waits:?}");
    assert_eq!(waits[99], 86_400);

    // The clock stands at the end of the day's wait; one second before it, still refused.
    app.clock.advance(-1);
    assert_eq!(
        retry_after(&app.login("alice", PASSWORD).await.unwrap_err()),
        1
    );
    app.clock.advance(1);
    app.login("alice", WRONG).await.unwrap_err();
    let (failures, _, next) = attempts(&app, "alice").await.unwrap();
    assert_eq!((failures, next), (1, app.now()));
    app.login("alice", PASSWORD).await.unwrap();
}

#[tokio::test]
async fn failures_are_forgotten_after_a_quiet_day_and_their_rows_pruned() {
    let app = app_with_alice().await;
    let t0 = app.now();
    for _ in 0..3 {
        app.login("alice", WRONG).await.unwrap_err();
        app.login("nobody", WRONG).await.unwrap_err();
    }
    // Forgotten rows are pruned at most once an hour, by whichever login comes first;
    // this one prunes nothing (nothing is a day old yet).
    app.clock.advance(84_600);
    app.login("carol", WRONG).await.unwrap_err();
    assert_eq!(attempts(&app, "nobody").await, Some((3, t0, t0)));
    // A day after alice's last attempt her count starts over, pruned or not.
    app.clock.advance(1_800);
    app.login("alice", WRONG).await.unwrap_err();
    assert_eq!(
        attempts(&app, "alice").await,
        Some((1, t0 + 86_400, t0 + 86_400))
    );
    // The next prune deletes the row nobody has touched for a day, and only that one.
    app.clock.advance(1_800);
    app.login("dave", WRONG).await.unwrap_err();
    assert_eq!(attempts(&app, "nobody").await, None);
    assert_eq!(
        count(&app.db, "SELECT COUNT(*) FROM login_attempts").await,
        3
    );
}
