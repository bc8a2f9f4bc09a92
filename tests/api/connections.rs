//! Connections that abuse the port: silence at each stage, bodies that never arrive, more
//! streams than advertised, floods of resets, more connections than allowed, the process
//! at its file limit. Each test sets its deadlines short by flags (1 s) and asserts what
//! the server did within a generous 10 s, never how fast it did it.

mod frames;

use std::time::Duration;

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::helpers::{Node, PASSWORD, TestApp};
use frames::{
    CANCEL, EMPTY_GRPC_MESSAGE, ENHANCE_YOUR_CALM, GOAWAY, H2, HEADERS, NO_ERROR, PING,
    REFUSED_STREAM, RST_STREAM, SETTINGS_MAX_CONCURRENT_STREAMS, SETTINGS_MAX_HEADER_LIST_SIZE,
};

/// How long a test waits for what a 1 s deadline should bring about.
const WITHIN: Duration = Duration::from_secs(10);

const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";

/// Reads until the server closes the connection (EOF or reset) and returns what it sent.
async fn until_closed(socket: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let read = async {
        let mut received = Vec::new();
        let mut buffer = [0; 4096];
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return received,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    };
    tokio::time::timeout(WITHIN, read)
        .await
        .expect("the server did not close the connection in time")
}

/// One HTTP/1.1 response read from `socket`: its status and its body.
async fn http1_response(socket: &mut (impl AsyncRead + Unpin)) -> (u16, serde_json::Value) {
    let read = async {
        let mut received = Vec::new();
        let mut buffer = [0; 4096];
        loop {
            let n = socket.read(&mut buffer).await.expect("read a response");
            assert!(n > 0, "closed without a response: {received:?}");
            received.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&received).into_owned();
            let Some((head, body)) = text.split_once("\r\n\r\n") else {
                continue;
            };
            let length = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_string)
                })
                .expect("a content-length")
                .parse::<usize>()
                .unwrap();
            if body.len() >= length {
                let status = head[9..12].parse().unwrap();
                return (status, serde_json::from_str(&body[..length]).unwrap());
            }
        }
    };
    tokio::time::timeout(WITHIN, read)
        .await
        .expect("no response in time")
}

#[tokio::test]
async fn a_connection_that_never_sends_a_byte_is_closed_after_the_first_byte_deadline() {
    let app = TestApp::spawn_with(&["--first-byte-timeout", "1s"]).await;
    let mut silent = TcpStream::connect(app.address).await.unwrap();
    assert_eq!(until_closed(&mut silent).await, b"");
}

#[tokio::test]
async fn a_connection_that_stops_before_its_protocol_is_known_is_closed() {
    let app = TestApp::spawn_with(&["--header-timeout", "1s"]).await;
    let mut socket = TcpStream::connect(app.address).await.unwrap();
    // A prefix of HTTP/2's preface: not yet HTTP/1.1, not yet HTTP/2.
    socket.write_all(b"PRI * HTTP/2").await.unwrap();
    assert_eq!(until_closed(&mut socket).await, b"");
}

#[tokio::test]
async fn http1_headers_that_never_finish_are_cut_at_the_header_deadline() {
    let app = TestApp::spawn_with(&["--header-timeout", "1s"]).await;
    let mut socket = TcpStream::connect(app.address).await.unwrap();
    socket
        .write_all(b"POST /api/token/ HTTP/1.1\r\nHost: authd\r\nX-Slow: ")
        .await
        .unwrap();
    until_closed(&mut socket).await;
}

#[tokio::test]
async fn an_http2_connection_silent_after_its_preface_gets_goaway_and_is_closed() {
    let app =
        TestApp::spawn_with(&["--idle-timeout", "1s", "--http2-keepalive-timeout", "1s"]).await;
    let mut h2 = H2::open(app.address).await;
    let frames = h2.until_closed(WITHIN).await;
    let goaway = frames.iter().find(|frame| frame.kind == GOAWAY);
    let goaway = goaway.unwrap_or_else(|| panic!("no GOAWAY in {frames:?}"));
    assert_eq!(goaway.error_code(), NO_ERROR);
}

#[tokio::test]
async fn http2_pings_find_a_peer_that_stopped_answering_with_a_stream_open() {
    let app = TestApp::spawn_with(&[
        "--http2-keepalive-interval",
        "1s",
        "--http2-keepalive-timeout",
        "1s",
    ])
    .await;
    let mut h2 = H2::open(app.address).await;
    h2.server_settings(WITHIN).await;
    // A health Watch is a stream that stays open, so the connection is never idle.
    h2.send(&frames::grpc_call(1, "/grpc.health.v1.Health/Watch", false))
        .await;
    h2.send(&frames::data(1, true, EMPTY_GRPC_MESSAGE)).await;
    let ping = h2.next_where(WITHIN, |frame| frame.kind == PING).await;
    assert!(ping.is_some(), "the server pings a quiet connection");
    // This peer never answers the ping.
    h2.until_closed(WITHIN).await;
}

#[tokio::test]
async fn a_rest_body_that_trickles_past_the_body_deadline_is_400() {
    let app = TestApp::spawn_with(&["--body-timeout", "1s"]).await;
    let socket = TcpStream::connect(app.address).await.unwrap();
    let (mut reader, mut writer) = socket.into_split();
    let head = "POST /api/token/ HTTP/1.1\r\nHost: authd\r\nContent-Type: application/json\r\n\
                Content-Length: 1000\r\n\r\n{";
    writer.write_all(head.as_bytes()).await.unwrap();
    // One byte every 200 ms: never a stall long enough to notice, never a whole body.
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if writer.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let (status, body) = http1_response(&mut reader).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        serde_json::json!({ "detail": "Request body incomplete." })
    );
    trickle.abort();
}

#[tokio::test]
async fn a_declared_content_length_over_the_limit_is_413_before_the_body_is_sent() {
    let app = TestApp::spawn().await;
    let mut socket = TcpStream::connect(app.address).await.unwrap();
    let head = "POST /auth/login/ HTTP/1.1\r\nHost: authd\r\nContent-Type: application/json\r\n\
                Content-Length: 10485760\r\n\r\n";
    socket.write_all(head.as_bytes()).await.unwrap();
    let (status, body) = http1_response(&mut socket).await;
    assert_eq!(status, 413);
    assert_eq!(
        body,
        serde_json::json!({ "detail": "Request body too large." })
    );
}

#[tokio::test]
async fn http2_settings_advertise_the_stream_and_header_limits() {
    for (flags, streams) in [
        (&[][..], 200),
        (&["--http2-max-concurrent-streams", "7"][..], 7),
    ] {
        let app = TestApp::spawn_with(flags).await;
        let mut h2 = H2::open(app.address).await;
        let settings = h2.server_settings(WITHIN).await.settings();
        assert!(
            settings.contains(&(SETTINGS_MAX_CONCURRENT_STREAMS, streams)),
            "{settings:?}"
        );
        assert!(
            settings.contains(&(SETTINGS_MAX_HEADER_LIST_SIZE, 16 * 1024)),
            "{settings:?}"
        );
    }
}

#[tokio::test]
async fn streams_past_the_limit_are_refused_and_the_connection_stays_usable() {
    let app = TestApp::spawn_with(&["--http2-max-concurrent-streams", "3"]).await;
    let mut h2 = H2::open(app.address).await;
    h2.server_settings(WITHIN).await;
    // Three calls whose messages have not been sent hold the three streams.
    for stream in [1, 3, 5] {
        h2.send(&frames::grpc_call(stream, HEALTH_CHECK, false))
            .await;
    }
    h2.send(&frames::grpc_call(7, HEALTH_CHECK, false)).await;
    let refused = h2
        .next_where(WITHIN, |frame| frame.kind == RST_STREAM)
        .await
        .expect("stream 7 refused");
    assert_eq!((refused.stream, refused.error_code()), (7, REFUSED_STREAM));

    // The held calls still complete, and a new stream is taken once one has.
    h2.send(&frames::data(1, true, EMPTY_GRPC_MESSAGE)).await;
    let answered = h2
        .next_where(WITHIN, |frame| frame.kind == HEADERS && frame.stream == 1)
        .await;
    assert!(answered.is_some(), "stream 1 answered");
    h2.send(&frames::grpc_call(9, HEALTH_CHECK, false)).await;
    h2.send(&frames::data(9, true, EMPTY_GRPC_MESSAGE)).await;
    let answered = h2
        .next_where(WITHIN, |frame| {
            frame.kind == HEADERS && frame.stream == 9 || frame.kind == RST_STREAM
        })
        .await
        .expect("stream 9 answered");
    assert_eq!((answered.kind, answered.stream), (HEADERS, 9));
}

#[tokio::test]
async fn a_flood_of_streams_reset_by_the_client_is_met_with_goaway() {
    let app = TestApp::spawn().await;
    let mut h2 = H2::open(app.address).await;
    h2.server_settings(WITHIN).await;
    // "Rapid Reset": open and cancel at once, far more than --http2-max-pending-resets (20).
    let flood: Vec<u8> = (0..1_000u32)
        .flat_map(|n| {
            let stream = 2 * n + 1;
            [
                frames::grpc_call(stream, HEALTH_CHECK, false),
                frames::rst_stream(stream, CANCEL),
            ]
            .concat()
        })
        .collect();
    h2.send(&flood).await;
    let goaway = h2
        .next_where(WITHIN, |frame| frame.kind == GOAWAY)
        .await
        .expect("a GOAWAY");
    assert_eq!(goaway.error_code(), ENHANCE_YOUR_CALM);
    h2.until_closed(WITHIN).await;
}

#[tokio::test]
async fn streams_the_client_makes_the_server_reset_are_capped_by_goaway() {
    let app = TestApp::spawn_with(&["--http2-max-local-resets", "10"]).await;
    let mut h2 = H2::open(app.address).await;
    h2.server_settings(WITHIN).await;
    // "MadeYouReset": each request is malformed (a body announced, the stream ended), so
    // the server must reset it itself.
    for n in 0..50u32 {
        let fields = [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", HEALTH_CHECK),
            (":authority", "authd"),
            ("content-type", "application/grpc"),
            ("content-length", "5"),
        ];
        h2.send(&frames::headers(2 * n + 1, true, &fields)).await;
    }
    let frames = h2.until_closed(WITHIN).await;
    let resets = frames
        .iter()
        .filter(|frame| frame.kind == RST_STREAM)
        .count();
    let goaway = frames.iter().find(|frame| frame.kind == GOAWAY);
    let goaway = goaway.unwrap_or_else(|| panic!("no GOAWAY in {frames:?}"));
    assert_eq!(goaway.error_code(), ENHANCE_YOUR_CALM);
    assert!(resets <= 10, "{resets} resets before the GOAWAY");
}

#[tokio::test]
async fn a_grpc_call_whose_message_never_arrives_ends_with_deadline_exceeded() {
    let app = TestApp::spawn_with(&["--request-timeout", "1s"]).await;
    let socket = TcpStream::connect(app.address).await.unwrap();
    let (mut client, connection) = h2::client::handshake(socket).await.unwrap();
    tokio::spawn(connection);
    let request = http::Request::post(format!("http://{}{HEALTH_CHECK}", app.address))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    // The stream is opened and its message never sent.
    let (response, _unsent) = client.send_request(request, false).unwrap();
    let response = tokio::time::timeout(WITHIN, response)
        .await
        .expect("answered in time")
        .unwrap();
    let grpc_status = response
        .headers()
        .get("grpc-status")
        .expect("trailers-only");
    assert_eq!(grpc_status, &(Code::DeadlineExceeded as i32).to_string());
}

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

    // Each login's log line names the client's address (read from the connection).
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
        assert!(line.contains("peer=Some(127.0.0.1:"), "{line}");
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
