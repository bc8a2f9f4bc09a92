//! The last differences from DRF, closed: a DRF key that is not text, a DRF key on the JWT
//! API's `/auth/me/`, a token of the other kind, `multipart/form-data` bodies, and a grpc-web
//! call to a service that does not exist. (Authentication before the method and a NUL in a
//! username are in `rest_common.rs`.)

use serde_json::json;

use crate::helpers::{
    PASSWORD, RestReply, TestApp, api_create, auth_login, get_with_auth, http, send,
};

async fn get_with_raw_auth(app: &TestApp, path: &str, authorization: &[u8]) -> RestReply {
    let value = reqwest::header::HeaderValue::from_bytes(authorization).unwrap();
    send(http().get(app.url(path)).header("authorization", value)).await
}

fn multipart(fields: &[(&str, &str, Option<&str>)]) -> (String, String) {
    let boundary = "authd-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = String::new();
    for (name, value, file_name) in fields {
        body.push_str(&format!("--{boundary}\r\n"));
        match file_name {
            Some(file) => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                 Content-Type: text/plain\r\n\r\n"
            )),
            None => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
            )),
        }
        body.push_str(value);
        body.push_str("\r\n");
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str, Option<&str>)],
) -> RestReply {
    let (content_type, body) = multipart(fields);
    send(
        http()
            .post(app.url(path))
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

#[tokio::test]
async fn a_drf_key_that_is_not_text_gets_drfs_invalid_characters_answer() {
    let app = TestApp::spawn().await;
    for path in ["/api/me/", "/auth/me/"] {
        let reply = get_with_raw_auth(&app, path, b"Token \xff\xfe\xfd").await;
        reply.assert(
            401,
            json!({ "detail": "Invalid token header. Token string should not contain invalid characters." }),
        );
        assert_eq!(reply.header("www-authenticate"), Some("Token"), "{path}");
    }
    // Text that is not ASCII is decoded (as DRF does) and then is simply not a key.
    let reply = get_with_raw_auth(&app, "/api/me/", "Token clé".as_bytes()).await;
    reply.assert(401, json!({ "detail": "Invalid token." }));
}

#[tokio::test]
async fn a_drf_key_on_the_jwt_apis_me_is_answered_as_drf_answers_keys() {
    let app = TestApp::spawn().await;
    let reply = get_with_auth(
        &app,
        "/auth/me/",
        Some("Token 0000000000000000000000000000000000000000"),
    )
    .await;
    reply.assert(401, json!({ "detail": "Invalid token." }));
    assert_eq!(reply.header("www-authenticate"), Some("Token"));
    let spaced = get_with_auth(&app, "/auth/me/", Some("Token a b")).await;
    spaced.assert(
        401,
        json!({ "detail": "Invalid token header. Token string should not contain spaces." }),
    );
}

#[tokio::test]
async fn a_token_of_the_other_kind_is_named_as_simplejwt_names_it() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    let login = auth_login(&app, "alice", PASSWORD).await;
    let refresh = login["refresh"].as_str().unwrap();
    let access = login["access"].as_str().unwrap();

    let me = get_with_auth(&app, "/auth/me/", Some(&format!("Bearer {refresh}"))).await;
    me.assert(
        401,
        json!({
            "detail": "Given token not valid for any token type",
            "code": "token_not_valid",
            "messages": [{
                "token_class": "AccessToken", "token_type": "access",
                "message": "Token has wrong type",
            }],
        }),
    );
    let refreshed = send(
        http()
            .post(app.url("/auth/token/refresh/"))
            .json(&json!({ "refresh": access })),
    )
    .await;
    refreshed.assert(
        401,
        json!({ "detail": "Token has wrong type", "code": "token_not_valid" }),
    );
    // A forged token claiming the other kind is just invalid.
    let forged = format!("{}x", &refresh[..refresh.len() - 1]);
    let me = get_with_auth(&app, "/auth/me/", Some(&format!("Bearer {forged}"))).await;
    assert_eq!(
        me.json["messages"][0]["message"],
        "Token is invalid or expired"
    );
}

#[tokio::test]
async fn multipart_form_bodies_are_read_as_drf_reads_them() {
    let app = TestApp::spawn().await;
    let created = post_multipart(
        &app,
        "/api/create/",
        &[
            ("username", "alice", None),
            ("email", "alice@example.com", None),
            ("password", PASSWORD, None),
        ],
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    let login = post_multipart(
        &app,
        "/auth/login/",
        &[("username", "alice", None), ("password", PASSWORD, None)],
    )
    .await;
    assert_eq!(login.status, 200, "{login:?}");
    // A file where text belongs is not a string; a body that is not multipart is DRF's 400.
    let file = post_multipart(
        &app,
        "/api/token/",
        &[
            ("username", "alice", None),
            ("password", PASSWORD, Some("p.txt")),
        ],
    )
    .await;
    file.assert(400, json!({ "password": ["Not a valid string."] }));
    let broken = send(
        http()
            .post(app.url("/api/token/"))
            .header("content-type", "multipart/form-data")
            .body("username=alice"),
    )
    .await;
    assert_eq!(broken.status, 400, "{broken:?}");
    assert!(
        broken.json["detail"]
            .as_str()
            .unwrap()
            .starts_with("Multipart form parse error - "),
        "{broken:?}"
    );
}

#[tokio::test]
async fn a_grpc_web_call_to_an_unknown_service_is_answered_in_grpc_web() {
    let app = TestApp::spawn().await;
    for content_type in ["application/grpc-web+proto", "application/grpc-web-text"] {
        let reply = send(
            http()
                .post(app.url("/no.such.Service/Call"))
                .header("content-type", content_type)
                .header("x-grpc-web", "1")
                .body(vec![0u8, 0, 0, 0, 0]),
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.header("content-type"), Some(content_type));
        assert_eq!(reply.header("grpc-status"), Some("12"), "{reply:?}");
    }
}
