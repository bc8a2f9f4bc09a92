//! Retention: `serve` prunes on its own, so a long run of
//! logins, refreshes and logouts (the manual clock moved a day at a time) leaves the tables
//! bounded instead of growing with every login. On PostgreSQL in its pass of the suite.

use authd::pb::{LogoutRequest, RefreshRequest, TokenPair};

use crate::helpers::{PASSWORD, TestApp, api_token, count};

const DAY: i64 = 86_400;

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
