//! The port in TLS: gRPC (HTTP/2 by ALPN), REST and grpc-web (HTTP/1.1) through real TLS
//! clients that trust only the test's own CA; plaintext clients refused; a handshake that
//! stalls cut at the header deadline; the certificate replaced on SIGHUP and on a file
//! change without dropping open connections, and kept when the new files are broken.

use std::{path::PathBuf, sync::Arc, time::Duration};

use authd::pb::auth_service_client::AuthServiceClient;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::{
    TlsConnector,
    client::TlsStream,
    rustls::{ClientConfig, RootCertStore, crypto::ring, pki_types::ServerName},
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use super::{WITHIN, http1_response, until_closed};
use crate::helpers::{Node, PASSWORD, ServerCert, TestApp, TestCa, refused_start, write_whole};

/// A CA, the certificate it signed for `localhost`, and where the server reads it from.
struct Files {
    ca: TestCa,
    first: ServerCert,
    cert: PathBuf,
    key: PathBuf,
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("authd test CA");
        let first = ca.server_cert("first", &["localhost"]);
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        first.write(&cert, &key);
        Files {
            ca,
            first,
            cert,
            key,
            dir,
        }
    }

    fn flags(&self) -> Vec<String> {
        let path = |path: &PathBuf| path.to_str().unwrap().to_string();
        vec![
            "--tls-cert".into(),
            path(&self.cert),
            "--tls-key".into(),
            path(&self.key),
        ]
    }

    async fn spawn(&self, more: &[&str]) -> TestApp {
        let flags = self.flags();
        let mut all: Vec<&str> = flags.iter().map(String::as_str).collect();
        all.extend(more);
        TestApp::spawn_with(&all).await
    }
}

/// A TLS connection that trusts only `ca`, offering `alpn`.
async fn connect(address: &str, ca: &TestCa, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.der().into()).unwrap();
    let mut config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    let tcp = TcpStream::connect(address).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap()
}

/// The certificate a new TLS connection to `address` is shown.
async fn served_cert(address: &str, ca: &TestCa) -> Vec<u8> {
    let stream = connect(address, ca, &[b"http/1.1"]).await;
    let chain = stream.get_ref().1.peer_certificates().unwrap();
    chain[0].to_vec()
}

/// A gRPC channel over TLS that trusts only `ca`.
async fn tls_channel(address: &str, ca: &TestCa) -> Channel {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca.pem()))
        .domain_name("localhost");
    Channel::from_shared(format!("https://{address}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Sends `request` (which asks to close) and reads everything until the server closes.
async fn exchange(stream: &mut TlsStream<TcpStream>, request: &[u8]) -> String {
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    // A close_notify or a plain close both end the answer.
    let _ = tokio::time::timeout(WITHIN, read)
        .await
        .expect("answered in time");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn grpc_over_tls_registers_logs_in_and_gets_me_with_http2_chosen_by_alpn() {
    let files = Files::new();
    let app = files.spawn(&[]).await;
    let address = app.address.to_string();

    let h2 = connect(&address, &files.ca, &[b"h2", b"http/1.1"]).await;
    assert_eq!(h2.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));

    let channel = tls_channel(&address, &files.ca).await;
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    assert_eq!(health.into_inner().status, 1, "SERVING");
    let mut client = AuthServiceClient::new(channel);
    client
        .register(authd::pb::RegisterRequest {
            username: "tls-alice".into(),
            email: "tls-alice@example.com".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    let login = client
        .login(authd::pb::LoginRequest {
            username: "tls-alice".into(),
            password: PASSWORD.into(),
            email: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut me = tonic::Request::new(authd::pb::GetMeRequest {});
    let bearer = format!("Bearer {}", login.tokens.unwrap().access_token);
    me.metadata_mut()
        .insert("authorization", bearer.parse().unwrap());
    let user = client.get_me(me).await.unwrap().into_inner().user.unwrap();
    assert_eq!(user.username, "tls-alice");
}

#[tokio::test]
async fn rest_and_grpc_web_over_tls_speak_http1_with_or_without_alpn() {
    let files = Files::new();
    let app = files.spawn(&[]).await;
    let address = app.address.to_string();

    let mut http1 = connect(&address, &files.ca, &[b"http/1.1"]).await;
    assert_eq!(http1.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let jwks =
        b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let answer = exchange(&mut http1, jwks).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\"keys\""), "{answer}");

    // No ALPN at all (an old REST client): HTTP/1.1, known from the request's first bytes.
    let mut plain_alpn = connect(&address, &files.ca, &[]).await;
    assert_eq!(plain_alpn.get_ref().1.alpn_protocol(), None);
    let login = br#"{"username":"nobody","password":"wrong password"}"#;
    let request = [
        format!(
            "POST /api/token/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            login.len()
        )
        .as_bytes(),
        login,
    ]
    .concat();
    let answer = exchange(&mut plain_alpn, &request).await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");

    // grpc-web, as a browser sends it: HTTP/1.1, the trailers inside the body.
    let mut web = connect(&address, &files.ca, &[b"http/1.1"]).await;
    let request = [
        &b"POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: localhost\r\n\
           Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\n\
           Content-Length: 5\r\nConnection: close\r\n\r\n"[..],
        &[0, 0, 0, 0, 0],
    ]
    .concat();
    let answer = exchange(&mut web, &request).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("grpc-status:0"), "{answer}");
}

#[tokio::test]
async fn plaintext_clients_get_nothing_from_a_tls_port() {
    let files = Files::new();
    let app = files.spawn(&[]).await;

    let plaintext_grpc = Channel::from_shared(format!("http://{}", app.address))
        .unwrap()
        .connect()
        .await;
    if let Ok(channel) = plaintext_grpc {
        let check = HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await;
        assert!(check.is_err(), "a plaintext gRPC call succeeded: {check:?}");
    }

    let mut socket = TcpStream::connect(app.address).await.unwrap();
    socket
        .write_all(b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut socket).await;
    assert!(
        !answer.starts_with(b"HTTP/"),
        "a plaintext request was answered: {:?}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn a_tls_handshake_that_stalls_is_closed_at_the_header_deadline() {
    let files = Files::new();
    let app = files.spawn(&["--header-timeout", "1s"]).await;
    let mut socket = TcpStream::connect(app.address).await.unwrap();
    // The first bytes of a ClientHello record, and then nothing.
    socket.write_all(&[0x16, 0x03, 0x01, 0x02]).await.unwrap();
    assert_eq!(until_closed(&mut socket).await, b"");
}

#[tokio::test]
async fn a_changed_certificate_file_is_served_to_new_connections_without_a_signal() {
    let files = Files::new();
    let app = files.spawn(&["--tls-watch-interval", "200ms"]).await;
    let address = app.address.to_string();
    assert_eq!(served_cert(&address, &files.ca).await, files.first.der);

    let second = files.ca.server_cert("second", &["localhost"]);
    second.write(&files.cert, &files.key);
    let deadline = tokio::time::Instant::now() + WITHIN;
    while served_cert(&address, &files.ca).await != second.der {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new certificate was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn sighup_replaces_the_certificate_keeps_open_connections_and_survives_broken_files() {
    let files = Files::new();
    let flags = files.flags();
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    // Only the signal may reload here.
    args.extend(["--tls-watch-interval", "off"]);
    let node = Node::start(files.dir.path(), &args).await;
    let address = node.address.clone();
    assert_eq!(served_cert(&address, &files.ca).await, files.first.der);

    // A kept-alive connection from before the reload.
    let mut open = connect(&address, &files.ca, &[b"http/1.1"]).await;
    let jwks = b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: localhost\r\n\r\n";
    open.write_all(jwks).await.unwrap();
    assert_eq!(http1_response(&mut open).await.0, 200);

    let second = files.ca.server_cert("second", &["localhost"]);
    second.write(&files.cert, &files.key);
    node.hang_up();
    let deadline = tokio::time::Instant::now() + WITHIN;
    while served_cert(&address, &files.ca).await != second.der {
        assert!(
            tokio::time::Instant::now() < deadline,
            "SIGHUP did not load the new certificate:\n{}",
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    open.write_all(jwks).await.unwrap();
    assert_eq!(http1_response(&mut open).await.0, 200, "the old connection");

    // A key that is not PEM: the reload fails, says why, and the second certificate stays.
    write_whole(&files.key, "not a key\n");
    node.hang_up();
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !node.log().contains("TLS certificate not reloaded") {
        assert!(tokio::time::Instant::now() < deadline, "{}", node.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(node.log().contains("--tls-key"), "{}", node.log());
    assert!(!node.log().contains("PRIVATE KEY"), "{}", node.log());
    assert_eq!(served_cert(&address, &files.ca).await, second.der);
}

#[tokio::test]
async fn start_up_refuses_half_a_tls_setting_and_a_key_that_does_not_fit() {
    let files = Files::new();
    let cert = files.cert.to_str().unwrap();
    let key = files.key.to_str().unwrap();
    let dir = files.dir.path();

    let log = refused_start(dir, &["--tls-cert", cert], &[]).await;
    assert!(log.contains("--tls-key"), "{log}");
    let log = refused_start(dir, &[], &[("AUTHD_TLS_KEY", key)]).await;
    assert!(log.contains("--tls-cert"), "{log}");

    let other = files.ca.server_cert("other", &["localhost"]);
    let other_key = dir.join("other-key.pem");
    write_whole(&other_key, &other.key_pem);
    let other_key = other_key.to_str().unwrap();
    let log = refused_start(dir, &["--tls-cert", cert, "--tls-key", other_key], &[]).await;
    assert!(log.contains("does not fit"), "{log}");
    assert!(
        !dir.join("authd.db").exists(),
        "refused before the database"
    );
}
