//! grpc-web without a browser: every RPC through tonic-web's client layer over plain
//! HTTP/1.1 (what a browser's fetch does), the wire format checked by hand once, and CORS
//! as configured.

use std::str::FromStr;

use authd::pb::{
    GetMeRequest, LoginRequest, LogoutRequest, RefreshRequest, RegisterRequest, RevokeAllRequest,
    auth_service_client::AuthServiceClient,
};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use tonic::{Code, Request, body::Body, transport::Uri};
use tonic_web::{GrpcWebCall, GrpcWebClientLayer, GrpcWebClientService};

use crate::helpers::{PASSWORD, TestApp, pairs, violations};

type WebClient = AuthServiceClient<GrpcWebClientService<Client<HttpConnector, GrpcWebCall<Body>>>>;

/// A grpc-web client speaking HTTP/1.1 only, like a browser's fetch through a proxy.
fn web_client(app: &TestApp) -> WebClient {
    let http1 = Client::builder(TokioExecutor::new()).build_http::<GrpcWebCall<Body>>();
    let service = tower::ServiceBuilder::new()
        .layer(GrpcWebClientLayer::new())
        .service(http1);
    let origin = Uri::from_str(&format!("http://{}", app.address)).unwrap();
    AuthServiceClient::with_origin(service, origin)
}

fn with_bearer<T>(message: T, access: &str) -> Request<T> {
    let mut request = Request::new(message);
    let bearer = format!("Bearer {access}").parse().unwrap();
    request.metadata_mut().insert("authorization", bearer);
    request
}

#[tokio::test]
async fn every_rpc_works_over_grpc_web() {
    let app = TestApp::spawn().await;
    let mut client = web_client(&app);

    let register = RegisterRequest {
        username: "alice".into(),
        email: "alice@example.com".into(),
        password: PASSWORD.into(),
    };
    let user = client
        .register(register)
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(user.username, "alice");

    let login = LoginRequest {
        username: "alice".into(),
        password: PASSWORD.into(),
        email: String::new(),
    };
    let tokens = client
        .login(login)
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap();
    let me = client
        .get_me(with_bearer(GetMeRequest {}, &tokens.access_token))
        .await
        .unwrap();
    assert_eq!(me.into_inner().user.unwrap(), user);

    let refresh = RefreshRequest {
        refresh_token: tokens.refresh_token.clone(),
    };
    let rotated = client
        .refresh(refresh)
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap();
    assert_ne!(rotated.refresh_token, tokens.refresh_token);

    let logout = LogoutRequest {
        refresh_token: rotated.refresh_token.clone(),
    };
    client.logout(logout).await.unwrap();
    let refused = client
        .get_me(with_bearer(GetMeRequest {}, &rotated.access_token))
        .await;
    assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);

    let login = LoginRequest {
        username: "alice".into(),
        password: PASSWORD.into(),
        email: String::new(),
    };
    let tokens = client
        .login(login)
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap();
    let revoked = client
        .revoke_all(with_bearer(RevokeAllRequest {}, &tokens.access_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revoked.sessions_ended, 1);
}

#[tokio::test]
async fn field_violations_reach_grpc_web_clients() {
    let app = TestApp::spawn().await;
    let register = RegisterRequest {
        username: "bad name".into(),
        email: "x".into(),
        password: "1".into(),
    };
    let status = web_client(&app).register(register).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&status),
        pairs(&[
            (
                "username",
                "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
            ),
            ("email", "Enter a valid email address."),
            (
                "password",
                "This password is too short. It must contain at least 8 characters."
            ),
            ("password", "This password is too common."),
            ("password", "This password is entirely numeric."),
        ])
    );
}

#[tokio::test]
async fn the_wire_format_is_grpc_web_with_status_in_a_trailer_frame() {
    let app = TestApp::spawn().await;
    // GetMeRequest is empty: one uncompressed frame of zero bytes.
    let frame = [0u8, 0, 0, 0, 0];
    let response = reqwest::Client::new()
        .post(app.url("/auth.v1.AuthService/GetMe"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(frame.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/grpc-web"),
        "{content_type}"
    );
    // An error with no message: grpc-status travels in the headers ("trailers-only").
    let status = response
        .headers()
        .get("grpc-status")
        .map(|v| v.to_str().unwrap().to_string());
    let body = response.bytes().await.unwrap();
    let in_trailer =
        body.first() == Some(&0x80) && String::from_utf8_lossy(&body).contains("grpc-status:16");
    assert!(
        status.as_deref() == Some("16") || in_trailer,
        "{status:?} {body:?}"
    );
}

#[tokio::test]
async fn cors_is_off_by_default() {
    let app = TestApp::spawn().await;
    let preflight = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            app.url("/auth.v1.AuthService/Login"),
        )
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins_and_exposes_grpc_status() {
    let app = TestApp::spawn_with(&["--cors-origins", "https://app.example.com"]).await;
    let http = reqwest::Client::new();
    let preflight = http
        .request(
            reqwest::Method::OPTIONS,
            app.url("/auth.v1.AuthService/Login"),
        )
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-grpc-web,authorization",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{preflight:?}");
    let allowed = |name: &str| {
        preflight
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_lowercase())
    };
    assert_eq!(
        allowed("access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
    let headers = allowed("access-control-allow-headers").unwrap_or_default();
    for header in [
        "content-type",
        "x-grpc-web",
        "authorization",
        "x-request-id",
    ] {
        assert!(headers.contains(header), "{headers}");
    }

    let call = http
        .post(app.url("/auth.v1.AuthService/GetMe"))
        .header("origin", "https://app.example.com")
        .header("content-type", "application/grpc-web+proto")
        .body(vec![0u8, 0, 0, 0, 0])
        .send()
        .await
        .unwrap();
    let exposed = call.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for header in [
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
        "x-request-id",
    ] {
        assert!(exposed.contains(header), "{exposed}");
    }
    // grpc-web calls get their request id back like gRPC ones.
    assert!(
        call.headers().contains_key("x-request-id"),
        "{:?}",
        call.headers()
    );

    let foreign = http
        .request(
            reqwest::Method::OPTIONS,
            app.url("/auth.v1.AuthService/Login"),
        )
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn the_demo_page_and_its_assets_are_served_with_a_strict_policy() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let page = http.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    for needle in [
        "/assets/app.js",
        "/assets/style.css",
        "<label for=\"register-username\">",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    for (path, content_type, needle) in [
        ("/assets/app.js", "text/javascript", "Bearer "),
        ("/assets/style.css", "text/css", "[hidden]"),
    ] {
        let asset = http.get(app.url(path)).send().await.unwrap();
        assert_eq!(asset.status().as_u16(), 200, "{path}");
        assert!(
            asset.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type)
        );
        assert!(asset.text().await.unwrap().contains(needle), "{path}");
    }
}
