//! Retention: `authd tokens purge` through the real binary deletes exactly the records that
//! ended before its cutoff and says how many; `serve` prunes on its own, so a long run of
//! logins, refreshes and logouts (the manual clock moved a day at a time) leaves the tables
//! bounded instead of growing with every login. On PostgreSQL in its pass of the suite.

use authd::pb::{LogoutRequest, RefreshRequest, TokenPair};
use tonic::Code;

use crate::helpers::{PASSWORD, TestApp, api_token, authd, count};

const DAY: i64 = 86_400;
const HOUR: i64 = 3600;

/// The table sizes a test reports and checks.
#[derive(Debug, PartialEq, Eq)]
struct Rows {
    sessions: i64,
    tokens: i64,
    api_keys: i64,
}

async fn rows(app: &TestApp) -> Rows {
    Rows {
        sessions: count(&app.db, "SELECT COUNT(*) FROM sessions").await,
        tokens: count(&app.db, "SELECT COUNT(*) FROM tokens").await,
        api_keys: count(&app.db, "SELECT COUNT(*) FROM api_keys").await,
    }
}

async fn refresh(app: &TestApp, pair: &TokenPair) -> TokenPair {
    let request = RefreshRequest {
        refresh_token: pair.refresh_token.clone(),
    };
    let response = app.client().await.refresh(request).await.unwrap();
    response.into_inner().tokens.unwrap()
}

async fn logout(app: &TestApp, pair: &TokenPair) {
    let request = LogoutRequest {
        refresh_token: pair.refresh_token.clone(),
    };
    app.client().await.logout(request).await.unwrap();
}

async fn login(app: &TestApp, username: &str) -> TokenPair {
    app.login(username, PASSWORD).await.unwrap().tokens.unwrap()
}

#[tokio::test]
async fn tokens_purge_deletes_what_ended_before_the_cutoff_and_says_how_many() {
    let now = authd::clock::Clock::now(&authd::clock::SystemClock);
    // 40 days ago: a session logged out after a refresh, one abandoned, an API key revoked
    // by the eleventh login of its user, and a failed login.
    let app = TestApp::spawn_at(now - 40 * DAY).await;
    for name in ["alice", "bob", "carol", "dave", "erin"] {
        app.register(name, &format!("{name}@example.com"), PASSWORD)
            .await
            .unwrap();
    }
    let alice = login(&app, "alice").await;
    let alice = refresh(&app, &alice).await;
    logout(&app, &alice).await;
    login(&app, "bob").await;
    for _ in 0..11 {
        api_token(&app, "carol", PASSWORD).await;
    }
    // A day and half an hour ago someone guessed; an hour ago dave logged in (which prunes
    // the failures the server has forgotten, a day after them: not that one, yet) and erin
    // logged out.
    app.clock.advance(40 * DAY - DAY - HOUR / 2);
    let guess = app.login("mallory", "wrong password").await.unwrap_err();
    assert_eq!(guess.code(), Code::Unauthenticated);
    app.clock.advance(DAY - HOUR / 2);
    let dave = login(&app, "dave").await;
    let erin = login(&app, "erin").await;
    logout(&app, &erin).await;
    let before = rows(&app).await;
    assert_eq!(
        before,
        Rows {
            sessions: 4,
            tokens: 4 + 2 + 2 + 2,
            api_keys: 11
        }
    );
    assert_eq!(
        count(&app.db, "SELECT COUNT(*) FROM login_attempts").await,
        1
    );

    let purge = ["tokens", "purge", "--database-url", app.database_url()];
    let purged = authd(&purge, "").await;
    assert_eq!(
        purged.ok(),
        "deleted 2 sessions\ndeleted 6 tokens\ndeleted 1 API key\n\
         deleted 1 forgotten login-failure record\n"
    );
    assert_eq!(
        rows(&app).await,
        Rows {
            sessions: 2,
            tokens: 4,
            api_keys: 10
        }
    );
    assert_eq!(
        count(&app.db, "SELECT COUNT(*) FROM login_attempts").await,
        0
    );
    // What is live, or ended inside the retention, is untouched and still works.
    assert!(app.get_me(&dave.access_token).await.is_ok());
    refresh(&app, &dave).await;

    let again = authd(&purge, "").await;
    assert_eq!(
        again.ok(),
        "deleted 0 sessions\ndeleted 0 tokens\ndeleted 0 API keys\n\
         deleted 0 forgotten login-failure records\n"
    );
    // A shorter retention reaches erin's session, ended an hour ago.
    let recent = authd(&[&purge[..], &["--older-than", "30m"]].concat(), "").await;
    assert!(
        recent
            .ok()
            .starts_with("deleted 1 session\ndeleted 2 tokens\n"),
        "{recent:?}"
    );
}

/// Days of traffic, one day per step of the clock: each user logs in, refreshes twice and
/// logs out, then logs in once more and walks away; alice also gets an API key. The last
/// day is followed by half a day of quiet.
async fn a_month_of_traffic(app: &TestApp, days: i64) -> Vec<TokenPair> {
    let names = ["alice", "bob", "carol"];
    for name in names {
        app.register(name, &format!("{name}@example.com"), PASSWORD)
            .await
            .unwrap();
    }
    let mut abandoned = Vec::new();
    for day in 0..days {
        if day > 0 {
            app.clock.advance(DAY);
        }
        abandoned.clear();
        for name in names {
            let pair = login(app, name).await;
            let pair = refresh(app, &pair).await;
            let pair = refresh(app, &pair).await;
            logout(app, &pair).await;
            abandoned.push(login(app, name).await);
        }
        api_token(app, "alice", PASSWORD).await;
    }
    app.clock.advance(DAY / 2);
    abandoned
}

/// Polls (every 20 ms, at most 10 s) until the tables hold `expected`: the pruning task
/// runs on its own schedule, and what it leaves at the final time is a fixed point. A
/// pruning that deletes too little or too much never gets there.
async fn wait_for_pruning(app: &TestApp, expected: Rows) -> Rows {
    for _ in 0..500 {
        let now = rows(app).await;
        if now == expected {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "{:?} after 10 s of pruning, expected {expected:?}",
        rows(app).await
    );
}

const FLAGS: [&str; 6] = [
    "--ip-limit",
    "0",
    "--api-key-lifetime",
    "1h",
    "--retention",
    "1d",
];

#[tokio::test]
async fn a_month_of_logins_refreshes_and_logouts_leaves_the_tables_bounded() {
    let app = TestApp::spawn_with(&[&FLAGS[..], &["--prune-interval", "20ms"]].concat()).await;
    let abandoned = a_month_of_traffic(&app, 30).await;
    // Kept, 1 day after they ended: the last day's 3 logged-out sessions (6 tokens each)
    // and 3 abandoned ones (2 tokens each), and the day before's 3 abandoned sessions,
    // whose refresh token expired 12 hours ago (their access tokens, 1 day and 11 hours
    // ago, are gone); the last day's API key (expired 11 hours ago).
    let kept = wait_for_pruning(
        &app,
        Rows {
            sessions: 9,
            tokens: 3 * 6 + 3 * 2 + 3,
            api_keys: 1,
        },
    )
    .await;
    eprintln!("after 30 days with pruning: {kept:?}");
    // Nothing live was touched: the sessions left yesterday still refresh.
    for pair in &abandoned {
        refresh(&app, pair).await;
    }
}

#[tokio::test]
async fn without_pruning_the_same_month_keeps_every_record() {
    let app = TestApp::spawn_with(&[&FLAGS[..], &["--prune-interval", "off"]].concat()).await;
    a_month_of_traffic(&app, 30).await;
    let kept = rows(&app).await;
    eprintln!("after 30 days without pruning: {kept:?}");
    assert_eq!(
        kept,
        Rows {
            sessions: 30 * 6,
            tokens: 30 * (3 * 6 + 3 * 2),
            api_keys: 30
        }
    );
}
