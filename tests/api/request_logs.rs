//! The log as an operator reads it, from the real binary with `--log-format json`: one
//! parseable line per request with its route or RPC, status or code, latency, client,
//! user and request id; that id comes back to the caller as `x-request-id`; audit lines
//! carry a stable `event`; and no password, token or hash is anywhere in it.

use authd::pb::{GetMeRequest, LoginRequest, RegisterRequest};
use serde_json::{Value, json};
use tonic::Request;

use crate::helpers::{Node, PASSWORD, http};

/// Every line of a JSON log, parsed; a line that is not JSON fails the test.
fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

/// The request line whose `request_id` is `id`; exactly one must exist.
fn request_line<'a>(lines: &'a [Value], id: &str) -> &'a Value {
    let found: Vec<&Value> = lines
        .iter()
        .filter(|line| line["message"] == "request" && line["request_id"] == id)
        .collect();
    assert_eq!(found.len(), 1, "request lines for {id}: {found:?}");
    found[0]
}

#[tokio::test]
async fn each_request_is_one_json_line_and_its_id_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path(), &["--log-format", "json"]).await;
    let base = format!("http://{}", node.address);
    let client = http();

    // No id sent: the one authd makes is returned, and is the core's id too (below).
    let registered = client
        .post(format!("{base}/auth/register/"))
        .json(&json!({"username": "erin", "email": "erin@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status().as_u16(), 201);
    let register_id = registered.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();

    let login = client
        .post(format!("{base}/auth/login/"))
        .header("x-request-id", "rest-login-1")
        .json(&json!({"username": "erin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.headers()["x-request-id"], "rest-login-1");
    let login: Value = login.json().await.unwrap();
    let access = login["data"]["access"].as_str().unwrap().to_string();
    let refresh = login["data"]["refresh"].as_str().unwrap().to_string();

    // One not fit for a log line is replaced by a new one, returned too.
    let made = client.get(format!("{base}/auth/me/")).send().await.unwrap();
    let made_id = made.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(!made_id.is_empty());
    let odd = "x".repeat(300);
    let replaced = client
        .get(format!("{base}/no/such/path"))
        .header("x-request-id", &odd)
        .send()
        .await
        .unwrap();
    let replaced_id = replaced.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(replaced_id, odd);
    assert_ne!(replaced_id, made_id);
    assert_ne!(made_id, register_id);

    // gRPC: the id goes in as metadata and comes back in the response metadata.
    let mut grpc = node.client().await;
    let mut get_me = Request::new(GetMeRequest {});
    let metadata = get_me.metadata_mut();
    metadata.insert("authorization", format!("Bearer {access}").parse().unwrap());
    metadata.insert("x-request-id", "grpc-me-1".parse().unwrap());
    let me = grpc.get_me(get_me).await.unwrap();
    assert_eq!(me.metadata().get("x-request-id").unwrap(), "grpc-me-1");
    let user_id = me.into_inner().user.unwrap().id;
    let mut failing = Request::new(LoginRequest {
        username: "erin".into(),
        password: "wrong-password-here".into(),
        email: String::new(),
    });
    failing
        .metadata_mut()
        .insert("x-request-id", "grpc-login-bad".parse().unwrap());
    let refused = grpc.login(failing).await.unwrap_err();
    assert_eq!(
        refused.metadata().get("x-request-id").unwrap(),
        "grpc-login-bad"
    );
    drop(grpc);

    node.terminate().await;
    node.finish_reading();
    let log = node.log();
    let lines = json_lines(&log);

    let me_line = request_line(&lines, "grpc-me-1");
    assert_eq!(me_line["transport"], "grpc");
    assert_eq!(me_line["rpc"], "auth.v1.AuthService/GetMe");
    assert_eq!(me_line["code"], "OK");
    assert_eq!(me_line["client"], "127.0.0.1");
    assert_eq!(me_line["user_id"], user_id);
    assert!(me_line["latency_ms"].as_f64().is_some(), "{me_line}");
    let bad_login = request_line(&lines, "grpc-login-bad");
    assert_eq!(bad_login["code"], "UNAUTHENTICATED");
    assert!(bad_login.get("user_id").is_none(), "{bad_login}");

    let rest_login = request_line(&lines, "rest-login-1");
    assert_eq!(rest_login["transport"], "rest");
    assert_eq!(rest_login["route"], "/auth/login/");
    assert_eq!(rest_login["method"], "POST");
    assert_eq!(rest_login["status"], "200");
    assert_eq!(rest_login["user_id"], user_id);
    let anonymous = request_line(&lines, &made_id);
    assert_eq!(anonymous["status"], "401");
    assert_eq!(request_line(&lines, &replaced_id)["route"], "unmatched");

    // Audit lines: a stable event, inside the core's span with the same request id.
    let event = |name: &str, id: &str| {
        lines
            .iter()
            .any(|line| line["event"] == name && line["span"]["request_id"] == id)
    };
    assert!(event("user.registered", &register_id), "{log}");
    assert_eq!(request_line(&lines, &register_id)["status"], "201");
    assert!(event("login.succeeded", "rest-login-1"), "{log}");
    assert!(event("session.started", "rest-login-1"), "{log}");
    assert!(event("login.failed", "grpc-login-bad"), "{log}");

    for secret in [
        PASSWORD,
        "wrong-password-here",
        &access,
        &refresh,
        "$argon2id$",
    ] {
        assert!(!log.contains(secret), "a secret reached the log:\n{log}");
    }
}

#[tokio::test]
async fn text_stays_the_default_format() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path(), &[]).await;
    let mut client = node.client().await;
    let mut register = Request::new(RegisterRequest {
        username: "frank".into(),
        email: "frank@example.com".into(),
        password: PASSWORD.into(),
    });
    register
        .metadata_mut()
        .insert("x-request-id", "text-register-1".parse().unwrap());
    client.register(register).await.unwrap();
    drop(client);
    node.terminate().await;
    node.finish_reading();
    let log = node.log();
    let line = log
        .lines()
        .find(|line| line.contains("request_id=\"text-register-1\"") && line.contains("rpc="))
        .unwrap_or_else(|| panic!("no request line:\n{log}"));
    assert!(!line.starts_with('{'), "{line}");
    assert!(line.contains("code=\"OK\""), "{line}");
    assert!(!log.contains(PASSWORD), "{log}");
}

/// Request lines are written in batches once the server is up: a line still reaches the
/// log within moments while the server runs on, and a burst of requests all get theirs.
#[tokio::test]
async fn request_lines_reach_the_log_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["--log-format", "json"]).await;
    let base = format!("http://{}", node.address);
    let client = http();
    for n in 0..20 {
        let answer = client
            .get(format!("{base}/healthz"))
            .header("x-request-id", format!("burst-{n}"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
    }
    let waited = std::time::Instant::now();
    let mut log = node.log();
    while !log.contains("burst-19") && waited.elapsed() < std::time::Duration::from_secs(10) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        log = node.log();
    }
    let lines = json_lines(&log);
    for n in 0..20 {
        let line = request_line(&lines, &format!("burst-{n}"));
        assert_eq!(line["status"], "200", "{line}");
    }
}
