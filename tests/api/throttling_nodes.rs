//! The per-account throttle across nodes: three in-process servers on one PostgreSQL
//! database, sharing one manual clock, count one username's failures as one. Wrong
//! passwords sent to all three at once are mostly refused unchecked, and the right password
//! waits out the delay on every node.

use std::{net::SocketAddr, sync::Arc};

use authd::{
    clock::ManualClock,
    config::Config,
    pb::{LoginRequest, auth_service_client::AuthServiceClient},
    server,
};
use clap::Parser;
use tokio::{net::TcpListener, sync::oneshot};
use tonic::{Code, transport::Channel};

use crate::{
    helpers::{PASSWORD, TEST_KEK, postgres_database},
    throttling::{alice, retry_after},
};

/// A server on `url` whose time is `clock`, as `main` would start it; it stops when the
/// returned sender is dropped.
pub async fn start_node(url: &str, clock: &ManualClock) -> (SocketAddr, oneshot::Sender<()>) {
    let config = Config::try_parse_from([
        "authd",
        "--database-url",
        url,
        "--database-max-connections",
        "4",
        "--key-encryption-key",
        TEST_KEK,
    ])
    .unwrap();
    let app = server::build(&config, Arc::new(clock.clone()))
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        server::run(listener, app, shutdown).await.unwrap();
    });
    (address, stop)
}

fn login(password: &str) -> LoginRequest {
    LoginRequest {
        username: "alice".into(),
        password: password.into(),
        email: String::new(),
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it in its PostgreSQL pass"]
async fn three_nodes_share_one_count_of_wrong_passwords() {
    assert_eq!(
        std::env::var("AUTHD_TEST_BACKEND").as_deref(),
        Ok("postgres"),
        "run with AUTHD_TEST_BACKEND=postgres and AUTHD_TEST_POSTGRES_URL"
    );
    let url = postgres_database().await;
    let clock = ManualClock::starting_now();
    let (a, b, c) = tokio::join!(
        start_node(&url, &clock),
        start_node(&url, &clock),
        start_node(&url, &clock)
    );
    let _running = [a.1, b.1, c.1];
    let mut clients: Vec<AuthServiceClient<Channel>> = Vec::new();
    for address in [a.0, b.0, c.0] {
        clients.push(
            AuthServiceClient::connect(format!("http://{address}"))
                .await
                .unwrap(),
        );
    }
    clients[0].register(alice()).await.unwrap();
    let t0 = authd::clock::Clock::now(&clock);

    let guesses = (0..50).map(|i| {
        let mut client = clients[i % 3].clone();
        async move { client.login(login(&format!("guess-{i}"))).await }
    });
    let results = futures::future::join_all(guesses).await;
    let codes: Vec<Code> = results
        .iter()
        .map(|result| result.as_ref().unwrap_err().code())
        .collect();
    let checked = codes
        .iter()
        .filter(|&&c| c == Code::Unauthenticated)
        .count();
    let throttled = codes
        .iter()
        .filter(|&&c| c == Code::ResourceExhausted)
        .count();
    assert_eq!((checked, throttled), (5, 45), "{codes:?}");

    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    let row: (i64, i64, i64) = sqlx::query_as(
        "SELECT failures, last_attempt_at, next_attempt_at FROM login_attempts
         WHERE username_key = 'alice'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(row, (5, t0, t0 + 1));

    // The right password, at once: refused on every node, unchecked.
    for client in clients.iter_mut() {
        let refused = client.login(login(PASSWORD)).await.unwrap_err();
        assert_eq!(retry_after(&refused), 1);
    }
    clock.advance(1);
    clients[1].login(login(PASSWORD)).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_attempts")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(rows, 0, "the success forgot the failures");
    clients[2].login(login(PASSWORD)).await.unwrap();
}
