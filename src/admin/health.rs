//! `authd health`: the probe a container HEALTHCHECK runs (the runtime image has no curl).
//! It sends `GET /readyz` over plain HTTP/1.1 to the address authd listens on and succeeds
//! only on a 200: the process answers and its database does.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::Failure;

pub(super) async fn run(address: SocketAddr, timeout_seconds: i64) -> Result<(), Failure> {
    let address = reachable(address);
    let timeout = Duration::from_secs(timeout_seconds.unsigned_abs());
    let answer = tokio::time::timeout(timeout, ready(address))
        .await
        .map_err(|_| Failure::Usage(format!("{address} did not answer within {timeout:?}")))?
        .map_err(|e| Failure::Usage(format!("{address}: {e}")))?;
    let status_line = answer.lines().next().unwrap_or_default();
    if status_line.split_whitespace().nth(1) == Some("200") {
        println!("ready");
        Ok(())
    } else {
        Err(Failure::Usage(format!("not ready: {status_line}")))
    }
}

/// The address to connect to: an unspecified one (`0.0.0.0`, `::`) means this machine.
fn reachable(address: SocketAddr) -> SocketAddr {
    match address {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => {
            SocketAddr::from(([127, 0, 0, 1], v4.port()))
        }
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, v6.port()))
        }
        other => other,
    }
}

/// The head of authd's answer to `GET /readyz`.
async fn ready(address: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(address).await?;
    let request = format!(
        "GET /readyz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nUser-Agent: authd-health\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    // The status line is all that is read; the rest may be dropped.
    let mut buffer = [0u8; 1024];
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..read]);
        if answer.windows(2).any(|pair| pair == b"\r\n") || answer.len() > 8192 {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}
