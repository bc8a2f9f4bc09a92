//! The JWT API: register (both paths), login, and the refresh, me and logout endpoints authd
//! adds in simplejwt's conventions, one test per row of the contract.

use serde_json::{Value, json};

use crate::helpers::{
    BLANK, INVALID_USERNAME, PASSWORD, REQUIRED, RestReply, TestApp, auth_login, count,
    get_with_auth, is_utc_timestamp, jwt_parts, post_json, rows, scalars,
};

const CHALLENGE: &str = "Bearer realm=\"api\"";
const REFRESH: &str = "/auth/token/refresh/";
const LOGOUT: &str = "/auth/logout/";

async fn post(app: &TestApp, path: &str, body: Value) -> RestReply {
    post_json(app, path, &body).await
}

async fn me(app: &TestApp, access: &str) -> RestReply {
    get_with_auth(app, "/auth/me/", Some(&format!("Bearer {access}"))).await
}

/// Registers alice over `/auth/register/` and logs her in: the login's `data`.
async fn alice(app: &TestApp) -> Value {
    let body = json!({ "username": "alice", "email": "alice@example.com", "password": PASSWORD });
    assert_eq!(post(app, "/auth/register/", body).await.status, 201);
    auth_login(app, "alice", PASSWORD).await
}

fn token_not_valid() -> Value {
    json!({ "detail": "Token is invalid or expired", "code": "token_not_valid" })
}

fn access_not_valid() -> Value {
    json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{
            "token_class": "AccessToken",
            "token_type": "access",
            "message": "Token is invalid or expired",
        }],
    })
}

/// Asserts a 401 from `/auth/me/`: simplejwt's body and its `Bearer` challenge.
#[track_caller]
fn assert_bearer_401(reply: &RestReply, body: Value) {
    reply.assert(401, body);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(CHALLENGE),
        "{reply:?}"
    );
}

#[tokio::test]
async fn auth_register_is_201_registration_successful_on_both_paths() {
    let app = TestApp::spawn().await;
    for (path, name) in [("/auth/register/", "alice"), ("/auth/registration/", "bob")] {
        let (username, email) = (format!(" {name} "), format!("{name}@EXAMPLE.com"));
        let body = json!({ "username": username, "email": email, "password": PASSWORD });
        let data = json!({ "username": name, "email": format!("{name}@example.com") });
        let created = json!({ "message": "Registration successful", "data": data });
        post(&app, path, body).await.assert(201, created);
    }
    let sql = "SELECT username, email FROM users ORDER BY id";
    let users: Vec<(String, String)> = rows(&app.db, sql).await;
    let expected = [("alice", "alice@example.com"), ("bob", "bob@example.com")];
    assert_eq!(users, expected.map(|(u, e)| (u.to_string(), e.to_string())));
}

#[tokio::test]
async fn auth_register_failures_are_400_registration_failed_with_field_errors() {
    let app = TestApp::spawn().await;
    alice(&app).await;
    let pw = PASSWORD;
    // Each request and its field errors.
    let table = json!([
        [{ "username": "bob", "password": pw }, { "email": [REQUIRED] }],
        [{ "username": "bob", "email": "", "password": pw }, { "email": [BLANK] }],
        [{}, { "username": [REQUIRED], "email": [REQUIRED], "password": [REQUIRED] }],
        // authd validates the email the JWT API's Django project took as any string.
        [{ "username": "bad name!", "email": "nope", "password": "12345678" }, {
            "username": [INVALID_USERNAME],
            "email": ["Enter a valid email address."],
            "password": ["This password is too common.", "This password is entirely numeric."],
        }],
        [{ "username": "ALICE", "email": "a2@example.com", "password": pw },
         { "username": ["A user with that username already exists."] }],
        [{ "username": "bob", "email": "Alice@Example.com", "password": pw },
         { "email": ["A user with that email already exists."] }],
    ]);
    for case in table.as_array().unwrap() {
        let failed = json!({ "message": "Registration failed", "errors": case[1] });
        for path in ["/auth/register/", "/auth/registration/"] {
            post(&app, path, case[0].clone())
                .await
                .assert(400, failed.clone());
        }
    }
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM users").await, 1);
}

#[tokio::test]
async fn auth_login_is_200_login_successful_with_the_sessions_times_and_tokens() {
    // The login happens at 1_795_323_511, 2026-11-22T04:58:31Z.
    let app = TestApp::spawn_at(1_795_323_511 - 3_333).await;
    alice(&app).await;
    app.clock.advance(3_333);
    let body = json!({ "username": "ALICE", "password": PASSWORD });
    let reply = post(&app, "/auth/login/", body).await;
    let [created, expires, refresh, access] =
        ["created", "expires", "refresh", "access"].map(|k| reply.str(&format!("/data/{k}")));
    assert!(is_utc_timestamp(&created), "{reply:?}");
    assert!(is_utc_timestamp(&expires), "{reply:?}");
    let data =
        json!({ "created": created, "expires": expires, "refresh": refresh, "access": access });
    reply.assert(200, json!({ "message": "Login successful", "data": data }));

    let sql = "SELECT user_id, created_at, expires_at FROM sessions ORDER BY id DESC";
    let (user_id, start, end): (i64, i64, i64) = rows(&app.db, sql).await[0];
    assert_eq!((start, end), (app.now(), app.now() + 86_400));
    assert_eq!(start, 1_795_323_511);
    assert_eq!(created, "2026-11-22T04:58:31Z");
    // The refresh token's lifetime, one day by default.
    assert_eq!(expires, "2026-11-23T04:58:31Z");
    let sql = "SELECT jti, kind, created_at, expires_at FROM tokens";
    let recorded: Vec<(String, String, i64, i64)> = rows(&app.db, sql).await;
    for (token, kind, lifetime) in [(&refresh, "refresh", 86_400), (&access, "access", 3_600)] {
        let (_, claims) = jwt_parts(token);
        assert_eq!(claims["token_type"], kind);
        assert_eq!(claims["user_id"], user_id);
        assert_eq!(claims["iat"], start);
        assert_eq!(claims["exp"], start + lifetime);
        let jti = claims["jti"].as_str().unwrap().to_string();
        let row = (jti, kind.to_string(), start, start + lifetime);
        assert!(recorded.contains(&row), "{row:?} not in {recorded:?}");
    }
}

#[tokio::test]
async fn auth_login_bad_credentials_are_401_invalid_login_credentials_identically() {
    let app = TestApp::spawn().await;
    alice(&app).await;
    let invalid = json!({ "message": "Invalid login credentials" });
    let wrong = json!({ "username": "alice", "password": "not-it-at-all" });
    let unknown = json!({ "username": "nobody", "password": PASSWORD });
    let wrong = post(&app, "/auth/login/", wrong).await;
    let unknown = post(&app, "/auth/login/", unknown).await;
    wrong.assert(401, invalid.clone());
    unknown.assert(401, invalid.clone());
    assert_eq!(wrong.text, unknown.text);
    let deactivate = sqlx::query("UPDATE users SET is_active = FALSE");
    deactivate.execute(&app.db).await.unwrap();
    let inactive = json!({ "username": "alice", "password": PASSWORD });
    post(&app, "/auth/login/", inactive)
        .await
        .assert(401, invalid);
    // Only alice's first, successful login made a session.
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM sessions").await, 1);
}

#[tokio::test]
async fn auth_login_invalid_input_is_400_invalid_data_with_field_errors() {
    let app = TestApp::spawn().await;
    let table = json!([
        [{}, { "username": [REQUIRED], "password": [REQUIRED] }],
        [{ "username": "alice" }, { "password": [REQUIRED] }],
        [{ "username": "  ", "password": "" }, { "username": [BLANK], "password": [BLANK] }],
    ]);
    for case in table.as_array().unwrap() {
        let invalid = json!({ "message": "Invalid data", "errors": case[1] });
        post(&app, "/auth/login/", case[0].clone())
            .await
            .assert(400, invalid);
    }
}

#[tokio::test]
async fn auth_token_refresh_is_200_and_rotates_the_refresh_token() {
    let app = TestApp::spawn().await;
    let login = alice(&app).await;
    app.clock.advance(600);
    let reply = post(&app, REFRESH, json!({ "refresh": login["refresh"] })).await;
    let (access, refresh) = (reply.str("/access"), reply.str("/refresh"));
    reply.assert(200, json!({ "access": access, "refresh": refresh }));
    assert_ne!(json!(refresh), login["refresh"]);
    assert_eq!(jwt_parts(&access).1["token_type"], "access");
    assert_eq!(jwt_parts(&refresh).1["token_type"], "refresh");
    assert_eq!(me(&app, &access).await.status, 200);
    let sql = "SELECT spent_at FROM tokens WHERE kind = 'refresh' ORDER BY created_at";
    let spent: Vec<Option<i64>> = scalars(&app.db, sql).await;
    assert_eq!(spent, [Some(app.now()), None]);
}

#[tokio::test]
async fn auth_token_refresh_reusing_a_spent_token_is_401_and_revokes_the_session() {
    let app = TestApp::spawn().await;
    let login = alice(&app).await;
    let old = json!({ "refresh": login["refresh"] });
    let first = post(&app, REFRESH, old.clone()).await;
    app.clock.advance(10); // past the grace window for retries
    post(&app, REFRESH, old)
        .await
        .assert(401, token_not_valid());
    let newest = json!({ "refresh": first.str("/refresh") });
    post(&app, REFRESH, newest)
        .await
        .assert(401, token_not_valid());
    assert_eq!(me(&app, &first.str("/access")).await.status, 401);
    let sql = "SELECT revoked_reason FROM sessions";
    let reasons: Vec<Option<String>> = scalars(&app.db, sql).await;
    assert_eq!(reasons, [Some("refresh_reuse".to_string())]);
}

#[tokio::test]
async fn auth_token_refresh_invalid_expired_or_access_token_is_401_token_not_valid() {
    let app = TestApp::spawn().await;
    let login = alice(&app).await;
    let reply = post(&app, REFRESH, json!({ "refresh": "garbage" })).await;
    reply.assert(401, token_not_valid());
    // An access token is genuine but of the other kind, and simplejwt says so.
    let reply = post(&app, REFRESH, json!({ "refresh": login["access"] })).await;
    reply.assert(
        401,
        json!({ "detail": "Token has wrong type", "code": "token_not_valid" }),
    );
    app.clock.advance(86_401);
    let expired = post(&app, REFRESH, json!({ "refresh": login["refresh"] })).await;
    expired.assert(401, token_not_valid());
}

/// simplejwt's token views answer 401 with the challenge its authentication uses
/// (`TokenViewBase.get_authenticate_header`), as RFC 9110 requires of every 401.
#[tokio::test]
async fn auth_token_refresh_and_logout_401s_carry_the_bearer_challenge() {
    let app = TestApp::spawn().await;
    for path in [REFRESH, LOGOUT] {
        let reply = post(&app, path, json!({ "refresh": "garbage" })).await;
        reply.assert(401, token_not_valid());
        assert_eq!(
            reply.header("www-authenticate"),
            Some(CHALLENGE),
            "{reply:?}"
        );
    }
}

#[tokio::test]
async fn auth_token_refresh_missing_field_is_400_required() {
    let app = TestApp::spawn().await;
    let reply = post(&app, REFRESH, json!({})).await;
    reply.assert(400, json!({ "refresh": [REQUIRED] }));
}

#[tokio::test]
async fn auth_me_with_bearer_access_is_200_the_owner() {
    let app = TestApp::spawn().await;
    let access = alice(&app).await["access"].as_str().unwrap().to_string();
    let ids: Vec<i64> = scalars(&app.db, "SELECT id FROM users").await;
    let user = json!({ "id": ids[0], "username": "alice", "email": "alice@example.com" });
    me(&app, &access).await.assert(200, user);
}

#[tokio::test]
async fn auth_me_without_credentials_is_401_not_provided() {
    let app = TestApp::spawn().await;
    let not_provided = json!({ "detail": "Authentication credentials were not provided." });
    for header in [None, Some("Basic YWxpY2U6cGFzc3dvcmQ=")] {
        let reply = get_with_auth(&app, "/auth/me/", header).await;
        assert_bearer_401(&reply, not_provided.clone());
    }
}

#[tokio::test]
async fn auth_me_invalid_or_expired_token_is_401_token_not_valid() {
    let app = TestApp::spawn().await;
    let access = alice(&app).await["access"].as_str().unwrap().to_string();
    assert_bearer_401(&me(&app, "garbage").await, access_not_valid());
    app.clock.advance(3_601);
    assert_bearer_401(&me(&app, &access).await, access_not_valid());
}

#[tokio::test]
async fn auth_me_malformed_bearer_header_is_401_bad_authorization_header() {
    let app = TestApp::spawn().await;
    let bad = json!({
        "detail": "Authorization header must contain two space-delimited values",
        "code": "bad_authorization_header",
    });
    for header in ["Bearer", "Bearer a b"] {
        let reply = get_with_auth(&app, "/auth/me/", Some(header)).await;
        assert_bearer_401(&reply, bad.clone());
    }
}

#[tokio::test]
async fn auth_logout_is_200_empty_and_ends_the_session_at_once() {
    let app = TestApp::spawn().await;
    let login = alice(&app).await;
    let access = login["access"].as_str().unwrap();
    assert_eq!(me(&app, access).await.status, 200);
    app.clock.advance(5);
    let body = json!({ "refresh": login["refresh"] });

    post(&app, LOGOUT, body.clone())
        .await
        .assert(200, json!({}));

    assert_bearer_401(&me(&app, access).await, access_not_valid());
    post(&app, REFRESH, body)
        .await
        .assert(401, token_not_valid());
    let sql = "SELECT revoked_at, revoked_reason FROM sessions";
    let sessions: Vec<(Option<i64>, Option<String>)> = rows(&app.db, sql).await;
    assert_eq!(sessions, [(Some(app.now()), Some("logout".to_string()))]);
}

#[tokio::test]
async fn auth_logout_failures_are_401_as_for_refresh() {
    let app = TestApp::spawn().await;
    let login = alice(&app).await;
    let reply = post(&app, LOGOUT, json!({})).await;
    reply.assert(400, json!({ "refresh": [REQUIRED] }));
    let reply = post(&app, LOGOUT, json!({ "refresh": "garbage" })).await;
    reply.assert(401, token_not_valid());
    let reply = post(&app, LOGOUT, json!({ "refresh": login["access"] })).await;
    reply.assert(
        401,
        json!({ "detail": "Token has wrong type", "code": "token_not_valid" }),
    );
    let live = "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL";
    assert_eq!(count(&app.db, live).await, 1);
    let body = json!({ "refresh": login["refresh"] });
    post(&app, LOGOUT, body.clone())
        .await
        .assert(200, json!({}));
    post(&app, LOGOUT, body)
        .await
        .assert(401, token_not_valid());
}
