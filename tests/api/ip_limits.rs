//! The per-client limit (`--ip-limit`, `--trusted-proxies`), through the front door: every
//! limited call of one address draws on one budget, other addresses have their own (the
//! client sockets bind 127.0.0.2 and 127.0.0.3: all of 127.0.0.0/8 is loopback on Linux),
//! and `X-Forwarded-For` names the client only when a trusted proxy sent it.
//!
//! The budget runs on a real monotonic clock, so a waiting time is asserted within the
//! second or two a slow test machine may take, never to the millisecond.

use std::net::IpAddr;

use authd::pb::{
    LoginRequest, RefreshRequest, RegisterRequest, auth_service_client::AuthServiceClient,
};
use tonic::{Code, Request, Status, transport::Channel, transport::Endpoint};

use crate::{
    helpers::{PASSWORD, RestReply, TestApp, send},
    throttling::retry_after,
};

/// A gRPC client whose connection comes from `local` (e.g. `127.0.0.2`).
async fn client_from(app: &TestApp, local: &str) -> AuthServiceClient<Channel> {
    let local: IpAddr = local.parse().unwrap();
    let channel = Endpoint::from_shared(format!("http://{}", app.address))
        .unwrap()
        .local_address(Some(local))
        .connect()
        .await
        .unwrap();
    AuthServiceClient::new(channel)
}

/// A Refresh with a token that cannot verify: the cheapest limited call.
async fn bad_refresh(
    client: &mut AuthServiceClient<Channel>,
    forwarded_for: Option<&str>,
) -> Result<(), Status> {
    let mut request = Request::new(RefreshRequest {
        refresh_token: "not-a-token".into(),
    });
    if let Some(chain) = forwarded_for {
        request
            .metadata_mut()
            .insert("x-forwarded-for", chain.parse().unwrap());
    }
    client.refresh(request).await.map(|_| ())
}

#[track_caller]
fn assert_unauthenticated(result: Result<(), Status>) {
    assert_eq!(result.unwrap_err().code(), Code::Unauthenticated);
}

/// Asserts a wait of about `expected` seconds: at most that, and less by no more than a
/// slow machine's couple of seconds.
#[track_caller]
fn assert_wait_about(wait: u64, expected: u64) {
    assert!(
        (expected.saturating_sub(2)..=expected).contains(&wait),
        "waited {wait}, expected about {expected}"
    );
}

#[tokio::test]
async fn each_address_has_one_budget_for_every_limited_call() {
    let app = TestApp::spawn_with(&["--ip-limit", "3"]).await;
    let mut first = client_from(&app, "127.0.0.1").await;
    for _ in 0..3 {
        assert_unauthenticated(bad_refresh(&mut first, None).await);
    }
    let refused = bad_refresh(&mut first, None).await.unwrap_err();
    // Three a minute: the next call's share of the minute is 20 s away.
    assert_wait_about(retry_after(&refused), 20);

    // Another address has a budget of its own, spent on any mix of limited calls.
    let mut second = client_from(&app, "127.0.0.2").await;
    let register = RegisterRequest {
        username: "alice".into(),
        email: "alice@example.com".into(),
        password: PASSWORD.into(),
    };
    second.register(register).await.unwrap();
    let login = LoginRequest {
        username: "alice".into(),
        password: PASSWORD.into(),
        email: String::new(),
    };
    second.login(login.clone()).await.unwrap();
    assert_unauthenticated(bad_refresh(&mut second, None).await);
    let refused = second.login(login).await.unwrap_err();
    assert_wait_about(retry_after(&refused), 20);

    // The first address is still waiting, over any connection.
    let mut again = client_from(&app, "127.0.0.1").await;
    assert_eq!(
        bad_refresh(&mut again, None).await.unwrap_err().code(),
        Code::ResourceExhausted
    );
}

#[tokio::test]
async fn registration_probes_are_limited_per_address() {
    let app = TestApp::spawn_with(&["--ip-limit", "5"]).await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    for i in 0..4 {
        let probe = app
            .register("alice", &format!("probe{i}@example.com"), PASSWORD)
            .await
            .unwrap_err();
        assert_eq!(probe.code(), Code::AlreadyExists);
    }
    let refused = app
        .register("alice", "probe9@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_wait_about(retry_after(&refused), 12);
    // The REST registration endpoints draw on the same budget.
    let body = serde_json::json!({
        "username": "alice", "email": "probe10@example.com", "password": PASSWORD,
    });
    for path in ["/api/create/", "/auth/register/"] {
        let reply = send(crate::helpers::http().post(app.url(path)).json(&body)).await;
        assert_throttled_rest(&reply, 12);
    }
}

/// A REST 429 with DRF's body, its wait in words agreeing with `Retry-After`.
#[track_caller]
fn assert_throttled_rest(reply: &RestReply, expected: u64) {
    assert_eq!(reply.status, 429, "{reply:?}");
    let wait: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert_wait_about(wait, expected);
    let unit = if wait == 1 { "second" } else { "seconds" };
    let detail = format!("Request was throttled. Expected available in {wait} {unit}.");
    reply.assert(429, serde_json::json!({ "detail": detail }));
}

/// A reqwest client whose connections come from `local`.
fn http_from(local: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(local.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_rest_token_endpoints_are_limited_like_grpc() {
    let app = TestApp::spawn_with(&["--ip-limit", "2"]).await;
    let credentials = serde_json::json!({ "username": "nobody", "password": "wrong-password" });
    let http = http_from("127.0.0.2");
    for _ in 0..2 {
        let reply = send(http.post(app.url("/api/token/")).json(&credentials)).await;
        assert_eq!(reply.status, 400, "{reply:?}");
    }
    for path in ["/api/token/", "/auth/login/"] {
        let reply = send(http.post(app.url(path)).json(&credentials)).await;
        assert_throttled_rest(&reply, 30);
    }
    let refresh = serde_json::json!({ "refresh": "not-a-token" });
    let reply = send(http.post(app.url("/auth/token/refresh/")).json(&refresh)).await;
    assert_throttled_rest(&reply, 30);
    // gRPC from the same address shares the budget; another address does not.
    let mut same = client_from(&app, "127.0.0.2").await;
    assert_eq!(
        bad_refresh(&mut same, None).await.unwrap_err().code(),
        Code::ResourceExhausted
    );
    let reply = send(
        http_from("127.0.0.3")
            .post(app.url("/api/token/"))
            .json(&credentials),
    )
    .await;
    assert_eq!(reply.status, 400, "{reply:?}");
}

#[tokio::test]
async fn x_forwarded_for_names_the_client_only_when_a_trusted_proxy_sent_it() {
    let app = TestApp::spawn_with(&["--ip-limit", "2", "--trusted-proxies", "127.0.0.2"]).await;

    // From an untrusted peer the header is ignored: changing it buys no new budget.
    let mut direct = client_from(&app, "127.0.0.1").await;
    for chain in ["203.0.113.1", "203.0.113.2"] {
        assert_unauthenticated(bad_refresh(&mut direct, Some(chain)).await);
    }
    let refused = bad_refresh(&mut direct, Some("203.0.113.3")).await;
    assert_eq!(refused.unwrap_err().code(), Code::ResourceExhausted);

    // Through the trusted proxy, each forwarded client has its own budget.
    let mut proxy = client_from(&app, "127.0.0.2").await;
    for _ in 0..2 {
        assert_unauthenticated(bad_refresh(&mut proxy, Some("203.0.113.1")).await);
    }
    let refused = bad_refresh(&mut proxy, Some("203.0.113.1")).await;
    assert_eq!(refused.unwrap_err().code(), Code::ResourceExhausted);
    assert_unauthenticated(bad_refresh(&mut proxy, Some("203.0.113.2")).await);
    // The client cannot escape by writing addresses of its own left of what the proxy
    // appended: the rightmost untrusted entry is the one counted.
    let spoofed = bad_refresh(&mut proxy, Some("198.51.100.7, 203.0.113.1")).await;
    assert_eq!(spoofed.unwrap_err().code(), Code::ResourceExhausted);

    // The REST gateway reads the header the same way.
    let http = http_from("127.0.0.2");
    let refresh = serde_json::json!({ "refresh": "not-a-token" });
    let forwarded = |chain: &'static str| {
        http.post(app.url("/auth/token/refresh/"))
            .header("x-forwarded-for", chain)
            .json(&refresh)
    };
    assert_throttled_rest(&send(forwarded("203.0.113.1")).await, 30);
    assert_eq!(send(forwarded("203.0.113.4")).await.status, 401);
    // The proxy's own calls (no header) are counted as the proxy's.
    let own = send(http.post(app.url("/auth/token/refresh/")).json(&refresh)).await;
    assert_eq!(own.status, 401, "{own:?}");
}

#[tokio::test]
async fn ip_limit_zero_turns_the_limit_off() {
    let app = TestApp::spawn_with(&["--ip-limit", "0"]).await;
    let client = app.client().await;
    let calls = (0..400).map(|_| {
        let mut client = client.clone();
        async move { bad_refresh(&mut client, None).await }
    });
    for result in futures::future::join_all(calls).await {
        assert_unauthenticated(result);
    }
}

#[tokio::test]
async fn the_default_limit_lets_a_busy_clients_burst_through() {
    let app = TestApp::spawn().await;
    // One address signs in thirty users and refreshes all their sessions at once.
    let mut sessions = Vec::new();
    for i in 0..30 {
        let tokens = app.signed_in(&format!("user{i}")).await.tokens.unwrap();
        sessions.push(tokens.refresh_token);
    }
    let client = app.client().await;
    let refreshes = sessions.into_iter().map(|refresh_token| {
        let mut client = client.clone();
        async move { client.refresh(RefreshRequest { refresh_token }).await }
    });
    for result in futures::future::join_all(refreshes).await {
        result.unwrap();
    }
}
