//! Every stage of a connection has a deadline: silence before the first byte, before the
//! protocol is known, inside HTTP/1.1 headers, between requests, after HTTP/2's preface,
//! behind an open stream; REST bodies that trickle, break or are announced too large; gRPC
//! calls whose message never comes.

use std::time::Duration;

use tokio::{io::AsyncWriteExt, net::TcpStream};
use tonic::Code;

use super::{
    HEALTH_CHECK, WITHIN,
    frames::{self, EMPTY_GRPC_MESSAGE, GOAWAY, H2, NO_ERROR, PING},
    http1_exchange, http1_response, until_closed,
};
use crate::helpers::TestApp;

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
async fn a_kept_alive_http1_connection_is_closed_when_no_next_request_comes() {
    let app = TestApp::spawn_with(&["--header-timeout", "1s"]).await;
    let mut socket = TcpStream::connect(app.address).await.unwrap();
    let request = "GET /.well-known/jwks.json HTTP/1.1\r\nHost: authd\r\n\r\n";
    socket.write_all(request.as_bytes()).await.unwrap();
    let (status, _) = http1_response(&mut socket).await;
    assert_eq!(status, 200);
    assert_eq!(until_closed(&mut socket).await, b"");
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
async fn a_rest_body_whose_framing_breaks_is_400_not_413() {
    let app = TestApp::spawn().await;
    let request = "POST /api/token/ HTTP/1.1\r\nHost: authd\r\nContent-Type: application/json\r\n\
                   Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\nzz\r\n";
    let answer = http1_exchange(&app, request).await;
    let detail = serde_json::json!({ "detail": "Request body incomplete." });
    assert_eq!(answer, (400, detail));
}

#[tokio::test]
async fn a_declared_content_length_over_the_limit_is_413_before_the_body_is_sent() {
    let app = TestApp::spawn().await;
    let head = "POST /auth/login/ HTTP/1.1\r\nHost: authd\r\nContent-Type: application/json\r\n\
                Content-Length: 10485760\r\n\r\n";
    let answer = http1_exchange(&app, head).await;
    let detail = serde_json::json!({ "detail": "Request body too large." });
    assert_eq!(answer, (413, detail));
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
