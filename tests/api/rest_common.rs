//! Behaviour common to every REST endpoint (DRF's): body parsing and its failures, 405, 301,
//! 404, 413, the security headers, and hostile input that must never become a 500.

use serde_json::{Value, json};

use crate::helpers::{
    INVALID_USERNAME, PASSWORD, REQUIRED, RestReply, TestApp, api_create, assert_security_headers,
    count, get_with_auth, http, post_form, post_json, post_raw, scalars, send,
};

const JSON: Option<&str> = Some("application/json");

/// Each endpoint with a body, and how it words field errors (the JWT API wraps them).
const ENDPOINTS: [(&str, Option<&str>); 5] = [
    ("/api/create/", None),
    ("/api/token/", None),
    ("/auth/register/", Some("Registration failed")),
    ("/auth/login/", Some("Invalid data")),
    ("/auth/token/refresh/", None),
];

fn worded(wrapper: Option<&str>, errors: Value) -> Value {
    match wrapper {
        Some(message) => json!({ "message": message, "errors": errors }),
        None => errors,
    }
}

async fn user_count(app: &TestApp) -> i64 {
    count(&app.db, "SELECT COUNT(*) FROM users").await
}

/// Asserts DRF's answer to a body that is not JSON: 400 `JSON parse error - <reason>`.
#[track_caller]
fn assert_parse_error(reply: &RestReply) {
    let detail = reply.json["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with("JSON parse error - "), "{reply:?}");
    reply.assert(400, json!({ "detail": detail }));
}

#[tokio::test]
async fn form_urlencoded_bodies_work_like_json() {
    let app = TestApp::spawn().await;
    let alice = [("username", "alice"), ("password", PASSWORD)];
    let reply = post_form(&app, "/api/create/", &alice).await;
    let id = reply.json["id"].as_i64().expect("id");
    reply.assert(201, json!({ "id": id, "username": "alice", "email": "" }));
    let email = ("email", "bob@example.com");
    let bob = [("username", "bob"), email, ("password", PASSWORD)];
    assert_eq!(post_form(&app, "/auth/register/", &bob).await.status, 201);
    assert_eq!(post_form(&app, "/api/token/", &alice).await.status, 200);
    let login = post_form(&app, "/auth/login/", &[bob[0], bob[2]]).await;
    assert_eq!(login.status, 200, "{login:?}");
    let refresh = login.str("/data/refresh");
    let refresh = [("refresh", refresh.as_str())];
    let reply = post_form(&app, "/auth/token/refresh/", &refresh).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let carol = post_form(&app, "/api/create/", &[("username", "carol")]).await;
    carol.assert(400, json!({ "password": [REQUIRED] }));
    assert_eq!(user_count(&app).await, 2);
}

#[tokio::test]
async fn malformed_json_is_400_json_parse_error() {
    let app = TestApp::spawn().await;
    for (path, _) in ENDPOINTS {
        assert_parse_error(&post_raw(&app, path, JSON, r#"{"username": "alice","#).await);
    }
}

#[tokio::test]
async fn json_array_string_or_number_is_400_expected_a_dictionary() {
    let app = TestApp::spawn().await;
    for (path, wrapper) in ENDPOINTS {
        for (body, python_type) in [("[1, 2]", "list"), (r#""alice""#, "str"), ("42", "int")] {
            let message = format!("Invalid data. Expected a dictionary, but got {python_type}.");
            let errors = worded(wrapper, json!({ "non_field_errors": [message] }));
            post_raw(&app, path, JSON, body).await.assert(400, errors);
        }
    }
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test]
async fn json_null_body_is_400_no_data_provided() {
    let app = TestApp::spawn().await;
    for (path, wrapper) in ENDPOINTS {
        let errors = worded(wrapper, json!({ "non_field_errors": ["No data provided"] }));
        post_raw(&app, path, JSON, "null").await.assert(400, errors);
    }
}

#[tokio::test]
async fn null_or_non_string_field_is_400_may_not_be_null_or_not_a_valid_string() {
    let app = TestApp::spawn().await;
    let not_a_string = "Not a valid string.";
    let cases = [
        (Value::Null, "This field may not be null."),
        (json!(true), not_a_string),
        (json!(false), not_a_string),
        (json!(["alice"]), not_a_string),
        (json!({ "name": "alice" }), not_a_string),
    ];
    for (value, message) in cases {
        let body = json!({ "username": value, "email": "a@example.com", "password": PASSWORD });
        let errors = json!({ "username": [message] });
        let reply = post_json(&app, "/api/create/", &body).await;
        reply.assert(400, errors.clone());
        let wrapped = worded(Some("Registration failed"), errors);
        let reply = post_json(&app, "/auth/register/", &body).await;
        reply.assert(400, wrapped);
        let body = json!({ "username": "alice", "password": value });
        let errors = worded(Some("Invalid data"), json!({ "password": [message] }));
        let reply = post_json(&app, "/auth/login/", &body).await;
        reply.assert(400, errors);
        let body = json!({ "refresh": value });
        let errors = json!({ "refresh": [message] });
        let reply = post_json(&app, "/auth/token/refresh/", &body).await;
        reply.assert(400, errors);
    }
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test]
async fn number_field_is_taken_as_its_text() {
    let app = TestApp::spawn().await;
    let body = json!({ "username": 12345, "email": "n@example.com", "password": PASSWORD });
    let reply = post_json(&app, "/api/create/", &body).await;
    let id = reply.json["id"].as_i64().expect("id");
    reply.assert(
        201,
        json!({ "id": id, "username": "12345", "email": "n@example.com" }),
    );
    let body = json!({ "username": 67890, "email": "m@example.com", "password": PASSWORD });
    let data = json!({ "username": "67890", "email": "m@example.com" });
    let reply = post_json(&app, "/auth/register/", &body).await;
    reply.assert(
        201,
        json!({ "message": "Registration successful", "data": data }),
    );
    let body = json!({ "username": 12345, "password": PASSWORD });
    assert_eq!(post_json(&app, "/api/token/", &body).await.status, 200);
    let names: Vec<String> = scalars(&app.db, "SELECT username FROM users ORDER BY id").await;
    assert_eq!(names, ["12345", "67890"]);
}

#[tokio::test]
async fn numbers_beyond_64_bits_keep_their_exact_digits() {
    let app = TestApp::spawn().await;
    for (sent, stored) in [
        (
            "123456789012345678901234567890",
            "123456789012345678901234567890",
        ),
        (
            "-98765432109876543210987654321",
            "-98765432109876543210987654321",
        ),
        ("1.5", "1.5"),
    ] {
        let body = format!(r#"{{"username": {sent}, "password": "{PASSWORD}"}}"#);
        let reply = post_raw(&app, "/api/create/", Some("application/json"), body).await;
        assert_eq!(reply.status, 201, "{sent}: {reply:?}");
        assert_eq!(reply.json["username"], stored);
    }
}

#[tokio::test]
async fn other_content_type_is_415_unsupported_media_type() {
    let app = TestApp::spawn().await;
    let body =
        format!(r#"{{"username": "alice", "email": "a@example.com", "password": "{PASSWORD}"}}"#);
    let unsupported = json!({ "detail": "Unsupported media type \"text/plain\" in request." });
    for (path, _) in ENDPOINTS {
        let reply = post_raw(&app, path, Some("text/plain"), body.clone()).await;
        reply.assert(415, unsupported.clone());
    }
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test]
async fn empty_body_is_treated_as_an_empty_object() {
    let app = TestApp::spawn().await;
    let credentials = json!({ "username": [REQUIRED], "password": [REQUIRED] });
    let expected = [
        credentials.clone(),
        credentials.clone(),
        json!({ "username": [REQUIRED], "email": [REQUIRED], "password": [REQUIRED] }),
        credentials,
        json!({ "refresh": [REQUIRED] }),
    ];
    for ((path, wrapper), errors) in ENDPOINTS.into_iter().zip(expected) {
        for content_type in [None, JSON] {
            let reply = post_raw(&app, path, content_type, Vec::new()).await;
            reply.assert(400, worded(wrapper, errors.clone()));
        }
    }
}

#[tokio::test]
async fn wrong_method_is_405_with_an_allow_header() {
    let app = TestApp::spawn().await;
    let cases = [
        ("GET", "/api/create/", "POST"),
        ("PUT", "/auth/login/", "POST"),
        ("DELETE", "/auth/token/refresh/", "POST"),
    ];
    for (method, path, allowed) in cases {
        let verb = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let reply = send(http().request(verb, app.url(path))).await;
        let detail = format!("Method \"{method}\" not allowed.");
        reply.assert(405, json!({ "detail": detail }));
        let allow = reply.header("allow").unwrap_or_default();
        assert!(allow.split(',').any(|m| m.trim() == allowed), "{reply:?}");
    }
}

#[tokio::test]
async fn an_authenticated_endpoint_checks_credentials_before_the_method() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    let key = crate::helpers::api_token(&app, "alice", PASSWORD).await;
    let cases = [
        ("POST", "/api/me/", "GET", "Token"),
        ("POST", "/auth/me/", "GET", "Bearer realm=\"api\""),
        ("PUT", "/auth/sessions/", "GET", "Bearer realm=\"api\""),
        (
            "GET",
            "/auth/password/change/",
            "POST",
            "Bearer realm=\"api\"",
        ),
        (
            "POST",
            "/auth/sessions/0123/",
            "DELETE",
            "Bearer realm=\"api\"",
        ),
    ];
    for (method, path, allowed, challenge) in cases {
        let verb = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        // No credentials, then bad ones: DRF's 401, whatever the method.
        let anonymous = send(http().request(verb.clone(), app.url(path))).await;
        anonymous.assert(
            401,
            json!({ "detail": "Authentication credentials were not provided." }),
        );
        assert_eq!(
            anonymous.header("www-authenticate"),
            Some(challenge),
            "{path}"
        );
        let bad = send(http().request(verb.clone(), app.url(path)).header(
            "authorization",
            "Token 0000000000000000000000000000000000000000",
        ))
        .await;
        bad.assert(401, json!({ "detail": "Invalid token." }));
        // Authenticated: the 405, with Allow.
        let known = send(
            http()
                .request(verb, app.url(path))
                .header("authorization", format!("Token {key}")),
        )
        .await;
        known.assert(
            405,
            json!({ "detail": format!("Method \"{method}\" not allowed.") }),
        );
        let allow = known.header("allow").unwrap_or_default();
        assert!(allow.split(',').any(|m| m.trim() == allowed), "{known:?}");
    }
}

#[tokio::test]
async fn path_without_trailing_slash_is_301_to_the_slashed_path() {
    let app = TestApp::spawn().await;
    let body = json!({ "username": "alice", "password": PASSWORD });
    let create = post_json(&app, "/api/create", &body).await;
    let me = get_with_auth(&app, "/auth/me", None).await;
    for (reply, location) in [(create, "/api/create/"), (me, "/auth/me/")] {
        assert_eq!(reply.status, 301, "{reply:?}");
        assert_eq!(reply.header("location"), Some(location));
        assert_security_headers(&reply);
    }
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test]
async fn unknown_path_is_404_not_found() {
    let app = TestApp::spawn().await;
    let not_found = json!({ "detail": "Not found." });
    for path in [
        "/nope/",
        "/index.html",
        "/api/",
        "/api/me/extra/",
        "/assets/nope.js",
    ] {
        get_with_auth(&app, path, None)
            .await
            .assert(404, not_found.clone());
    }
    let reply = post_json(&app, "/api/unknown/", &json!({})).await;
    reply.assert(404, not_found);
}

#[tokio::test]
async fn body_over_64_kib_is_413_request_body_too_large() {
    let app = TestApp::spawn().await;
    let padding = "a".repeat(64 * 1024);
    let body = json!({ "username": "alice", "password": PASSWORD, "padding": padding });
    for (path, _) in ENDPOINTS {
        let reply = post_json(&app, path, &body).await;
        reply.assert(413, json!({ "detail": "Request body too large." }));
    }
    assert_eq!(user_count(&app).await, 0);
    api_create(&app, "alice").await; // the server is unharmed
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_json_content_type() {
    let app = TestApp::spawn().await;
    // Successes are checked by `RestReply::assert` in every test; these are the failures.
    let replies = [
        post_json(&app, "/api/create/", &json!({})).await,
        get_with_auth(&app, "/api/me/", None).await,
        get_with_auth(&app, "/auth/me/", None).await,
        get_with_auth(&app, "/missing/", None).await,
        send(http().get(app.url("/auth/login/"))).await,
        post_raw(&app, "/auth/login/", Some("text/plain"), "x").await,
        post_raw(&app, "/auth/login/", JSON, vec![b' '; 70_000]).await,
        post_raw(&app, "/auth/login/", JSON, "{").await,
    ];
    for reply in &replies {
        assert_security_headers(reply);
        let content_type = reply.header("content-type").unwrap_or_default();
        assert!(content_type.starts_with("application/json"), "{reply:?}");
    }
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400, 401, 401, 404, 405, 415, 413, 400]);
}

#[tokio::test]
async fn nul_byte_in_username_is_400_null_characters_not_allowed() {
    let app = TestApp::spawn().await;
    let body = json!({ "username": "al\u{0}ice", "email": "a@example.com", "password": PASSWORD });
    // Registration: a NUL is also an invalid username character, and Django says both.
    let errors = json!({ "username": [INVALID_USERNAME, "Null characters are not allowed."] });
    let reply = post_json(&app, "/api/create/", &body).await;
    reply.assert(400, errors.clone());
    let wrapped = worded(Some("Registration failed"), errors);
    let reply = post_json(&app, "/auth/register/", &body).await;
    reply.assert(400, wrapped);
    for path in ["/api/token/", "/auth/login/"] {
        let reply = post_json(&app, path, &body).await;
        assert!(matches!(reply.status, 400 | 401), "{path}: {reply:?}");
    }
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test]
async fn ten_thousand_character_strings_are_400_length_errors() {
    let app = TestApp::spawn().await;
    let long = "u".repeat(10_000);
    let email = format!("{long}@example.com");
    let body = json!({ "username": long, "email": email, "password": "Xy7!".repeat(2_500) });
    let reply = post_json(&app, "/api/create/", &body).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    let max = |n: u32| {
        json!(format!(
            "Ensure this field has no more than {n} characters."
        ))
    };
    assert_eq!(reply.json["username"], json!([max(150)]));
    assert_eq!(reply.json["password"], json!([max(128)]));
    let email_errors = reply.json["email"].as_array().expect("email errors");
    assert!(email_errors.contains(&max(254)), "{reply:?}");
    let body = json!({ "username": long, "password": long, "refresh": long });
    for path in ["/api/token/", "/auth/login/", "/auth/token/refresh/"] {
        let reply = post_json(&app, path, &body).await;
        assert!(matches!(reply.status, 400 | 401), "{path}: {reply:?}");
    }
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test]
async fn invalid_utf8_in_json_is_400_json_parse_error() {
    let app = TestApp::spawn().await;
    let body = b"{\"username\": \"al\xffice\", \"password\": \"Xq7-correct-horse\"}".to_vec();
    for (path, _) in ENDPOINTS {
        assert_parse_error(&post_raw(&app, path, JSON, body.clone()).await);
    }
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test]
async fn deeply_nested_json_is_400_never_500() {
    let app = TestApp::spawn().await;
    let nested = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let in_field = format!(r#"{{"username": {nested}, "password": "{PASSWORD}"}}"#);
    for (path, _) in ENDPOINTS {
        for body in [&nested, &in_field] {
            let reply = post_raw(&app, path, JSON, body.clone()).await;
            assert_eq!(reply.status, 400, "{path}: {reply:?}");
            assert!(reply.json.is_object(), "{path}: {reply:?}");
            assert_security_headers(&reply);
        }
    }
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test]
async fn duplicate_json_keys_keep_the_last_value() {
    let app = TestApp::spawn().await;
    let keys =
        r#""username": "first", "username": "second", "email": "x", "email": "d@example.com""#;
    let body = format!(r#"{{{keys}, "password": "{PASSWORD}"}}"#);
    let reply = post_raw(&app, "/api/create/", JSON, body).await;
    let id = reply.json["id"].as_i64().expect("id");
    let user = json!({ "id": id, "username": "second", "email": "d@example.com" });
    reply.assert(201, user);
    let names: Vec<String> = scalars(&app.db, "SELECT username FROM users").await;
    assert_eq!(names, ["second"]);
}

#[tokio::test]
async fn openapi_document_describes_every_endpoint_as_openapi_3_1() {
    let app = TestApp::spawn().await;
    let reply = get_with_auth(&app, "/api/openapi.json", None).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_security_headers(&reply);
    let document = &reply.json;
    assert_eq!(document["openapi"], "3.1.0");
    for (path, method) in [
        ("/api/create/", "post"),
        ("/api/token/", "post"),
        ("/api/me/", "get"),
        ("/auth/register/", "post"),
        ("/auth/login/", "post"),
        ("/auth/token/refresh/", "post"),
        ("/auth/me/", "get"),
        ("/auth/logout/", "post"),
    ] {
        let operation = &document["paths"][path][method];
        assert!(
            operation.is_object(),
            "{method} {path} missing from the document"
        );
        assert!(
            operation["responses"].is_object(),
            "{method} {path} has no responses"
        );
    }
    let user = &document["components"]["schemas"]["UserBody"]["properties"];
    for field in ["id", "username", "email"] {
        assert!(user[field].is_object(), "UserBody lacks {field}");
    }
    for scheme in ["token", "bearer"] {
        assert!(
            document["components"]["securitySchemes"][scheme].is_object(),
            "{scheme}"
        );
    }
}
