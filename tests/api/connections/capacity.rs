//! What the whole port holds: the connection cap, the message-size limit on every gRPC
//! service, the peer address on every request, and the process at its file limit.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use super::{WITHIN, http1_response};
use crate::helpers::{Node, PASSWORD, TestApp};

#[tokio::test]
async fn with_max_connections_reached_the_next_connection_waits_until_one_closes() {
    let app = TestApp::spawn_with(&["--max-connections", "5", "--first-byte-timeout", "60s"]).await;
    let mut open = Vec::new();
    for _ in 0..5 {
        open.push(TcpStream::connect(app.address).await.unwrap());
    }
    let mut sixth = TcpStream::connect(app.address).await.unwrap();
    let request = "GET /.well-known/jwks.json HTTP/1.1\r\nHost: authd\r\n\r\n";
    sixth.write_all(request.as_bytes()).await.unwrap();
    let mut byte = [0; 1];
    let answered = tokio::time::timeout(Duration::from_secs(1), sixth.read(&mut byte)).await;
    assert!(
        answered.is_err(),
        "the sixth connection was served while five were open"
    );

    drop(open.pop());
    let (status, body) = http1_response(&mut sixth).await;
    assert_eq!(status, 200);
    assert!(body["keys"].is_array(), "{body}");
}

#[tokio::test]
async fn health_and_reflection_refuse_messages_over_the_limit_as_auth_service_does() {
    use tonic_reflection::pb::{v1, v1alpha};
    let app = TestApp::spawn().await;
    let huge = "x".repeat(70 * 1024);

    let mut health = HealthClient::new(app.channel().await);
    let request = HealthCheckRequest {
        service: huge.clone(),
    };
    let status = health.check(request).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");

    // tonic-reflection ends the stream unanswered (with OK) when a request fails to decode;
    // a request within the limit, even for an unknown symbol, is answered.
    use v1::server_reflection_request::MessageRequest;
    let symbol = |name: &str| v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(name.into())),
    };
    let channel = app.channel().await;
    for (name, answered) in [(huge.as_str(), false), ("no.such.Symbol", true)] {
        let mut reflection =
            v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
        let mut answers = reflection
            .server_reflection_info(tokio_stream::iter([symbol(name)]))
            .await
            .unwrap()
            .into_inner();
        // An answer is a message or an error status (NOT_FOUND here); silence is neither.
        let answer = answers.message().await;
        assert_eq!(
            !matches!(answer, Ok(None)),
            answered,
            "{} bytes",
            name.len()
        );
    }
    let mut reflection = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(huge),
        ),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    assert!(answers.message().await.unwrap().is_none());
}

#[tokio::test]
async fn the_peer_address_reaches_grpc_and_rest_requests() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]).await;
    let mut client = node.client().await;
    let register = authd::pb::RegisterRequest {
        username: "alice".into(),
        email: "alice@example.com".into(),
        password: PASSWORD.into(),
    };
    client.register(register).await.unwrap();
    let login = authd::pb::LoginRequest {
        username: "alice".into(),
        password: PASSWORD.into(),
        email: String::new(),
    };
    client.login(login).await.unwrap();
    let body = serde_json::json!({ "username": "alice", "password": PASSWORD });
    let reply = reqwest::Client::new()
        .post(format!("http://{}/auth/login/", node.address))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);

    // Each login's log line names the client's address (the connection's peer: no proxy is
    // trusted).
    let deadline = tokio::time::Instant::now() + WITHIN;
    let sessions = loop {
        let log = node.log();
        let sessions: Vec<String> = log
            .lines()
            .filter(|line| line.contains("session started"))
            .map(String::from)
            .collect();
        if sessions.len() == 2 || tokio::time::Instant::now() > deadline {
            break sessions;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(sessions.len(), 2, "{}", node.log());
    for line in sessions {
        assert!(line.contains("client=Some(127.0.0.1)"), "{line}");
    }
}

/// The CPU time (user and system) `pid` has used so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let clock = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .unwrap();
    let per_second: u64 = String::from_utf8(clock.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    Duration::from_millis(ticks * 1000 / per_second)
}

#[tokio::test]
async fn at_its_file_limit_the_server_backs_off_instead_of_spinning_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["--first-byte-timeout", "60s"]).await;
    let pid = node.pid().to_string();
    let limited = std::process::Command::new("prlimit")
        .args(["--pid", &pid, "--nofile=64:64"])
        .status()
        .expect("prlimit (util-linux)");
    assert!(limited.success());

    // More silent connections than 64 descriptors can hold: the rest wait in the backlog,
    // and `accept` fails with EMFILE for as long as they do.
    let mut silent = Vec::new();
    for _ in 0..100 {
        silent.push(TcpStream::connect(&node.address).await.unwrap());
    }
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !node.log().contains("cannot accept connections") {
        assert!(tokio::time::Instant::now() < deadline, "{}", node.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = cpu_time(node.pid());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let spent = cpu_time(node.pid()) - before;
    assert!(
        spent < Duration::from_millis(500),
        "{spent:?} of CPU in 2 s at the file limit"
    );

    // Once they go away, a new client is served.
    drop(silent);
    let health = async {
        let channel = tonic::transport::Channel::from_shared(format!("http://{}", node.address))
            .unwrap()
            .connect()
            .await?;
        let request = HealthCheckRequest {
            service: String::new(),
        };
        HealthClient::new(channel).check(request).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    };
    tokio::time::timeout(WITHIN, health)
        .await
        .expect("served again in time")
        .unwrap();
}
