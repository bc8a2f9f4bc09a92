//! `GET /metrics` on the real binary (each test its own process, so its counters are its
//! own): series change by exactly what the test did, labels stay bounded, and
//! `--metrics-listen` moves the endpoint to a port of its own or turns it off.

use authd::pb::{GetMeRequest, GetMeResponse, LoginRequest, RefreshRequest, RegisterRequest};
use tonic::Request;

use crate::helpers::{
    Node, PASSWORD, Scrape, http, postgres_database, refused_start, require_postgres,
};

const GRPC: &str = "authd_grpc_requests_total";
const HTTP: &str = "authd_http_requests_total";
const LOGINS: &str = "authd_logins_total";

async fn start(args: &[&str]) -> (tempfile::TempDir, Node) {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), args).await;
    (dir, node)
}

fn metrics_url(node: &Node) -> String {
    format!("http://{}/metrics", node.address)
}

/// Registers `username` over gRPC and logs in: the access and refresh tokens.
async fn signed_in(node: &Node, username: &str) -> (String, String) {
    let mut client = node.client().await;
    client
        .register(RegisterRequest {
            username: username.into(),
            email: format!("{username}@example.com"),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    let tokens = client
        .login(LoginRequest {
            username: username.into(),
            password: PASSWORD.into(),
            email: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap();
    (tokens.access_token, tokens.refresh_token)
}

async fn get_me(node: &Node, authorization: &str) -> Result<(), tonic::Status> {
    let mut request = Request::new(GetMeRequest {});
    request
        .metadata_mut()
        .insert("authorization", authorization.parse().unwrap());
    node.client().await.get_me(request).await.map(|_| ())
}

/// Calls `path`, which no service implements, as a gRPC client would: its status code.
async fn call_unknown(node: &Node, path: &'static str) -> tonic::Code {
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", node.address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<GetMeRequest, GetMeResponse>::default();
    let path = http::uri::PathAndQuery::from_static(path);
    let answer = grpc.unary(Request::new(GetMeRequest {}), path, codec).await;
    answer.unwrap_err().code()
}

#[tokio::test]
async fn calls_to_rpcs_that_do_not_exist_are_one_series() {
    let (_dir, node) = start(&[]).await;
    for path in ["/auth.v1.AuthService/NoSuchMethod", "/no.such.Service/Call"] {
        assert_eq!(call_unknown(&node, path).await, tonic::Code::Unimplemented);
    }
    let scrape = Scrape::fetch(&metrics_url(&node)).await;
    let unknown = [("rpc", "unknown"), ("code", "UNIMPLEMENTED")];
    assert_eq!(scrape.value(GRPC, &unknown), 2.0, "{}", scrape.text);
    for made_up in ["NoSuchMethod", "no.such"] {
        assert!(!scrape.text.contains(made_up), "{}", scrape.text);
    }
    assert!(!scrape.has(HTTP), "{}", scrape.text);
}

#[tokio::test]
async fn grpc_calls_are_counted_by_rpc_and_code_and_logins_by_outcome() {
    let (_dir, node) = start(&[]).await;
    let (access, _refresh) = signed_in(&node, "alice").await;
    let before = Scrape::fetch(&metrics_url(&node)).await;

    for _ in 0..3 {
        get_me(&node, &format!("Bearer {access}")).await.unwrap();
    }
    for _ in 0..2 {
        assert!(get_me(&node, "Bearer not-a-token").await.is_err());
    }
    let wrong = node
        .client()
        .await
        .login(LoginRequest {
            username: "alice".into(),
            password: "not-the-password".into(),
            email: String::new(),
        })
        .await;
    assert!(wrong.is_err());
    let after = Scrape::fetch(&metrics_url(&node)).await;

    let get_me_ok = [("rpc", "auth.v1.AuthService/GetMe"), ("code", "OK")];
    let get_me_refused = [
        ("rpc", "auth.v1.AuthService/GetMe"),
        ("code", "UNAUTHENTICATED"),
    ];
    assert_eq!(
        after.value(GRPC, &get_me_ok) - before.value(GRPC, &get_me_ok),
        3.0
    );
    assert_eq!(
        after.value(GRPC, &get_me_refused) - before.value(GRPC, &get_me_refused),
        2.0
    );
    let login_ok = [("rpc", "auth.v1.AuthService/Login"), ("code", "OK")];
    assert_eq!(after.value(GRPC, &login_ok), 1.0, "{}", after.text);
    assert_eq!(after.value(LOGINS, &[("outcome", "success")]), 1.0);
    assert_eq!(
        after.value(LOGINS, &[("outcome", "invalid_credentials")]),
        1.0
    );
    // Every call is timed too: the histogram's count moved with the counter.
    let get_me = [("rpc", "auth.v1.AuthService/GetMe")];
    let timed = "authd_grpc_request_duration_seconds_count";
    assert_eq!(
        after.value(timed, &get_me) - before.value(timed, &get_me),
        5.0
    );
    assert!(
        after.value(
            "authd_grpc_request_duration_seconds_bucket",
            &[("rpc", "auth.v1.AuthService/GetMe"), ("le", "+Inf")]
        ) >= 5.0
    );
    assert_eq!(
        after.value(
            "authd_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    // Read at scrape time: the SQLite pools' connections.
    let idle = after.value(
        "authd_db_connections",
        &[("pool", "reader"), ("state", "idle")],
    );
    assert!(idle >= 1.0, "{}", after.text);
    assert!(after.has("authd_hash_queue_depth"), "{}", after.text);
    assert!(
        after.value("authd_hash_wait_seconds_count", &[]) >= 3.0,
        "{}",
        after.text
    );
    // No user id, address or token became a label anywhere.
    for secret in [access.as_str(), "127.0.0.1", "alice"] {
        assert!(!after.text.contains(secret), "{secret} in\n{}", after.text);
    }
}

#[tokio::test]
async fn rest_requests_are_counted_by_route_template_and_unknown_paths_are_one_series() {
    let (_dir, node) = start(&[]).await;
    let base = format!("http://{}", node.address);
    let client = http();
    for path in [
        "/auth/me/",
        "/auth/me/",
        "/no/such/1",
        "/no/such/2",
        "/api/me",
    ] {
        client.get(format!("{base}{path}")).send().await.unwrap();
    }
    // The same route and method with another status: a series of its own, timed with the rest.
    let (access, _) = signed_in(&node, "metrics_rest").await;
    let answer = client
        .get(format!("{base}/auth/me/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let scrape = Scrape::fetch(&metrics_url(&node)).await;
    let me = [("route", "/auth/me/"), ("method", "GET"), ("status", "401")];
    assert_eq!(scrape.value(HTTP, &me), 2.0, "{}", scrape.text);
    let me_ok = [("route", "/auth/me/"), ("method", "GET"), ("status", "200")];
    assert_eq!(scrape.value(HTTP, &me_ok), 1.0, "{}", scrape.text);
    let timed = [("route", "/auth/me/"), ("method", "GET")];
    let timed_count = scrape.value("authd_http_request_duration_seconds_count", &timed);
    assert_eq!(timed_count, 3.0, "{}", scrape.text);
    let unknown = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    assert_eq!(scrape.value(HTTP, &unknown), 2.0, "{}", scrape.text);
    // The slash-less path is its own route (a 301 to the slashed one), not the raw path.
    let redirect = [("route", "/api/me"), ("method", "GET"), ("status", "301")];
    assert_eq!(scrape.value(HTTP, &redirect), 1.0, "{}", scrape.text);
    assert!(!scrape.text.contains("/no/such"), "{}", scrape.text);
    let routes: Vec<_> = scrape.label_sets(HTTP);
    assert!(routes.len() <= 5, "{routes:?}");
}

#[tokio::test]
async fn throttled_requests_and_refresh_reuse_are_counted() {
    let (_dir, node) = start(&["--ip-limit", "3", "--refresh-grace", "0"]).await;
    // Register and login spend two of the three calls; one refresh the third.
    let (_access, refresh) = signed_in(&node, "bob").await;
    let mut client = node.client().await;
    let throttled = client
        .login(LoginRequest {
            username: "bob".into(),
            password: PASSWORD.into(),
            email: String::new(),
        })
        .await;
    // The third call is still within the budget; the fourth is not.
    assert!(throttled.is_ok(), "{throttled:?}");
    let refused = client
        .refresh(RefreshRequest {
            refresh_token: refresh.clone(),
        })
        .await;
    assert_eq!(refused.unwrap_err().code(), tonic::Code::ResourceExhausted);
    let refused_login = client
        .login(LoginRequest {
            username: "bob".into(),
            password: PASSWORD.into(),
            email: String::new(),
        })
        .await;
    assert_eq!(
        refused_login.unwrap_err().code(),
        tonic::Code::ResourceExhausted
    );

    let scrape = Scrape::fetch(&metrics_url(&node)).await;
    assert_eq!(
        scrape.value("authd_throttled_total", &[("limit", "client")]),
        2.0,
        "{}",
        scrape.text
    );
    assert_eq!(
        scrape.value(LOGINS, &[("outcome", "throttled")]),
        1.0,
        "{}",
        scrape.text
    );
    assert_eq!(
        scrape.value(LOGINS, &[("outcome", "success")]),
        2.0,
        "{}",
        scrape.text
    );
    assert_eq!(scrape.value("authd_refresh_reuse_detected_total", &[]), 0.0);
}

#[tokio::test]
async fn a_spent_refresh_token_presented_again_counts_one_reuse_detection() {
    let (_dir, node) = start(&["--refresh-grace", "0"]).await;
    let (_access, refresh) = signed_in(&node, "carol").await;
    let mut client = node.client().await;
    let spend = RefreshRequest {
        refresh_token: refresh,
    };
    client.refresh(spend.clone()).await.unwrap();
    let reused = client.refresh(spend).await;
    assert_eq!(reused.unwrap_err().code(), tonic::Code::Unauthenticated);
    let scrape = Scrape::fetch(&metrics_url(&node)).await;
    assert_eq!(
        scrape.value("authd_refresh_reuse_detected_total", &[]),
        1.0,
        "{}",
        scrape.text
    );
    let refreshed = [("rpc", "auth.v1.AuthService/Refresh"), ("code", "OK")];
    assert_eq!(scrape.value(GRPC, &refreshed), 1.0);
}

/// A port nothing listens on now (bound, then released), for a flag that needs a number.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn metrics_listen_moves_metrics_to_their_own_port() {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let (_dir, node) = start(&["--metrics-listen", &address]).await;
    let (access, _) = signed_in(&node, "dave").await;
    get_me(&node, &format!("Bearer {access}")).await.unwrap();

    let scrape = Scrape::fetch(&format!("http://{address}/metrics")).await;
    let get_me_ok = [("rpc", "auth.v1.AuthService/GetMe"), ("code", "OK")];
    assert_eq!(scrape.value(GRPC, &get_me_ok), 1.0, "{}", scrape.text);
    let on_main = http().get(metrics_url(&node)).send().await.unwrap();
    assert_eq!(on_main.status().as_u16(), 404);
    // The metrics port serves nothing but metrics.
    let api = http()
        .get(format!("http://{address}/auth/me/"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 404);
}

#[tokio::test]
async fn metrics_listen_off_serves_no_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_with_env(
        dir.path(),
        &[],
        &[
            ("AUTHD_LOG", Some("info")),
            ("AUTHD_METRICS_LISTEN", Some("off")),
        ],
    )
    .await;
    let reply = http().get(metrics_url(&node)).send().await.unwrap();
    assert_eq!(reply.status().as_u16(), 404);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"detail": "Not found."}));
}

#[tokio::test]
async fn a_metrics_address_already_taken_stops_the_start_and_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let log = refused_start(dir.path(), &["--metrics-listen", &address], &[]).await;
    assert!(log.contains(&address), "{log}");
    assert!(log.contains("--metrics-listen"), "{log}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it in its PostgreSQL pass"]
async fn the_postgres_pool_is_read_at_scrape_time() {
    require_postgres();
    let url = postgres_database().await;
    let (_dir, node) = start(&["--database-url", &url, "--database-max-connections", "4"]).await;
    signed_in(&node, "grace").await;
    let scrape = Scrape::fetch(&metrics_url(&node)).await;
    let open = scrape.value(
        "authd_db_connections",
        &[("pool", "main"), ("state", "idle")],
    ) + scrape.value(
        "authd_db_connections",
        &[("pool", "main"), ("state", "in_use")],
    );
    assert!((1.0..=4.0).contains(&open), "{}", scrape.text);
    assert!(!scrape.text.contains("pool=\"writer\""), "{}", scrape.text);
}
