//! Connections that abuse the port: silence at each stage, bodies that never arrive, more
//! streams than advertised, floods of resets, more connections than allowed, the process
//! at its file limit; and the same port in TLS. Each test sets its deadlines short by flags
//! (1 s) and asserts what the server did within a generous 10 s, never how fast it did it.

mod capacity;
mod deadlines;
mod frames;
mod streams;
mod tls;

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

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

/// Sends `request` as is on a new connection and reads the one response.
async fn http1_exchange(app: &crate::helpers::TestApp, request: &str) -> (u16, serde_json::Value) {
    let mut socket = tokio::net::TcpStream::connect(app.address).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    http1_response(&mut socket).await
}
