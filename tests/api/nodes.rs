//! Several nodes on one PostgreSQL database: three real `authd` processes, started together
//! on an empty database, must behave as one service. Runs in the PostgreSQL pass of the
//! suite (`AUTHD_TEST_BACKEND=postgres`, with `--include-ignored`); the SQLite pass reports
//! it as ignored.

use authd::pb::{
    GetMeRequest, LoginRequest, LogoutRequest, RefreshRequest, RegisterRequest,
    auth_service_client::AuthServiceClient,
};
use tonic::{Code, Request, Status, transport::Channel};

use crate::helpers::{Node, PASSWORD, count, postgres_database, require_postgres};

async fn get_me(client: &mut AuthServiceClient<Channel>, access: &str) -> Result<(), Status> {
    let mut request = Request::new(GetMeRequest {});
    let bearer = format!("Bearer {access}");
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().unwrap());
    client.get_me(request).await.map(|_| ())
}

fn register_request(username: &str, email: &str) -> RegisterRequest {
    RegisterRequest {
        username: username.into(),
        email: email.into(),
        password: PASSWORD.into(),
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it in its PostgreSQL pass"]
async fn three_nodes_on_one_postgres_behave_as_one_service() {
    require_postgres();
    let url = postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--database-url",
        url.as_str(),
        "--database-max-connections",
        "8",
    ];
    // Started together on an empty database: they race to migrate and to create the key.
    let (a, b, c) = tokio::join!(
        Node::start(dir.path(), &args),
        Node::start(dir.path(), &args),
        Node::start(dir.path(), &args)
    );
    let nodes = [&a, &b, &c];
    let mut clients = Vec::new();
    for node in nodes {
        clients.push(node.client().await);
    }

    // The same username registered on all three at once: exactly one user.
    let attempts = (0..9).map(|i| {
        let mut client = clients[i % 3].clone();
        async move {
            let name = if i % 2 == 0 { "Racer" } else { "racer" };
            client
                .register(register_request(name, &format!("racer{i}@example.com")))
                .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for failure in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(failure.code(), Code::AlreadyExists, "{failure:?}");
    }

    // A token issued by A works on B and C.
    clients[0]
        .register(register_request("alice", "alice@example.com"))
        .await
        .unwrap();
    let login = LoginRequest {
        username: "alice".into(),
        password: PASSWORD.into(),
        email: String::new(),
    };
    let tokens = clients[0]
        .login(login.clone())
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap();
    for client in clients.iter_mut() {
        get_me(client, &tokens.access_token).await.unwrap();
    }

    // A logout on B is seen by C at once.
    let logout = LogoutRequest {
        refresh_token: tokens.refresh_token.clone(),
    };
    clients[1].logout(logout).await.unwrap();
    assert_eq!(
        get_me(&mut clients[2], &tokens.access_token)
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );

    // Parallel refreshes of one token spread over the nodes: every one gets a working
    // pair (the losers of the race are retries within the grace window), and the session
    // lives on everywhere.
    let tokens = clients[2]
        .login(login)
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap();
    let refreshes = (0..12).map(|i| {
        let mut client = clients[i % 3].clone();
        let refresh_token = tokens.refresh_token.clone();
        async move { client.refresh(RefreshRequest { refresh_token }).await }
    });
    let results = futures::future::join_all(refreshes).await;
    let pairs: Vec<_> = results
        .into_iter()
        .map(|r| r.unwrap().into_inner().tokens.unwrap())
        .collect();
    for (i, client) in clients.iter_mut().enumerate() {
        get_me(client, &pairs[i].access_token).await.unwrap();
    }

    // One signing key for the whole cluster, one user per name, and no internal errors.
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM signing_keys").await, 1);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM users WHERE username_key = 'racer'"
        )
        .await,
        1
    );
    for node in nodes {
        let log = node.log();
        assert!(!log.contains("internal error"), "{log}");
    }
}
