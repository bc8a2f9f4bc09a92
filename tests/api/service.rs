//! The services around AuthService on the same port: health, reflection (v1 and v1alpha),
//! and the request size limit.

use authd::pb::RegisterRequest;
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::helpers::TestApp;

#[tokio::test]
async fn health_reports_serving_for_the_server_and_auth_service() {
    let app = TestApp::spawn().await;
    let mut health = HealthClient::new(app.channel().await);
    for service in ["", "auth.v1.AuthService"] {
        let request = HealthCheckRequest {
            service: service.into(),
        };
        let status = health.check(request).await.unwrap().into_inner().status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    let unknown = HealthCheckRequest {
        service: "no.such.Service".into(),
    };
    assert_eq!(
        health.check(unknown).await.unwrap_err().code(),
        Code::NotFound
    );
}

const EXPECTED_SERVICES: [&str; 4] = [
    "auth.v1.AuthService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

#[tokio::test]
async fn reflection_v1_lists_every_service_and_describes_auth() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = TestApp::spawn().await;
    let mut client = ServerReflectionClient::new(app.channel().await);
    let requests = [
        MessageRequest::ListServices(String::new()),
        MessageRequest::FileContainingSymbol("auth.v1.AuthService".into()),
    ]
    .map(|message| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(message),
    });
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();

    let Some(MessageResponse::ListServicesResponse(list)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, EXPECTED_SERVICES);

    let Some(MessageResponse::FileDescriptorResponse(files)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected file descriptors");
    };
    let described = files.file_descriptor_proto.concat();
    let text = String::from_utf8_lossy(&described);
    for name in [
        "auth/v1/auth.proto",
        "Register",
        "GetMe",
        "Logout",
        "TokenPair",
    ] {
        assert!(text.contains(name), "{name} missing from the descriptor");
    }
}

#[tokio::test]
async fn reflection_v1alpha_serves_older_clients() {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = TestApp::spawn().await;
    let mut client = ServerReflectionClient::new(app.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"auth.v1.AuthService".to_string()),
        "{names:?}"
    );
}

#[tokio::test]
async fn oversized_requests_are_refused_without_harm() {
    let app = TestApp::spawn().await;
    let huge = RegisterRequest {
        username: "a".repeat(100_000),
        email: "a@example.com".into(),
        password: "p".repeat(100_000),
    };
    let status = app.client().await.register(huge).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    // The server is still fine.
    assert!(
        app.register("alice", "alice@example.com", crate::helpers::PASSWORD)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn shutdown_tells_health_watchers_not_serving_and_does_not_wait_on_them_forever() {
    let app = TestApp::spawn_with(&["--shutdown-grace", "1s"]).await;
    let mut health = HealthClient::new(app.channel().await);
    let request = HealthCheckRequest {
        service: String::new(),
    };
    let mut watch = health.watch(request).await.unwrap().into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(first.status, ServingStatus::Serving as i32);

    let stopping = tokio::spawn(app.stop());
    // A load balancer watching health hears NOT_SERVING while requests drain.
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), watch.message())
        .await
        .expect("watchers hear about the shutdown");
    if let Ok(Some(update)) = next {
        assert_eq!(update.status, ServingStatus::NotServing as i32);
    }
    // An open watch stream never ends by itself; shutdown must not wait for it forever.
    tokio::time::timeout(std::time::Duration::from_secs(30), stopping)
        .await
        .expect("shutdown finishes despite an open watch stream")
        .unwrap();
}
