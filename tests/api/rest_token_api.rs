//! The DRF token API: `POST /api/create/`, `POST /api/token/` and `GET /api/me/`, one test
//! per row of the compatibility contract.

use serde_json::{Value, json};

use crate::helpers::{
    BLANK, INVALID_USERNAME, PASSWORD, REQUIRED, RestReply, TestApp, api_create, api_token, count,
    get_with_auth, is_lower_hex, post_json, rows,
};

const USERS: &str = "SELECT COUNT(*) FROM users";
const KEYS: &str = "SELECT COUNT(*) FROM api_keys";

async fn create(app: &TestApp, body: Value) -> RestReply {
    post_json(app, "/api/create/", &body).await
}

async fn token(app: &TestApp, username: &str, password: &str) -> RestReply {
    let body = json!({ "username": username, "password": password });
    post_json(app, "/api/token/", &body).await
}

async fn me(app: &TestApp, authorization: Option<&str>) -> RestReply {
    get_with_auth(app, "/api/me/", authorization).await
}

fn bad_login() -> Value {
    json!({ "non_field_errors": ["Unable to log in with provided credentials."] })
}

fn taken(field: &str) -> Value {
    json!({ field: [format!("A user with that {field} already exists.")] })
}

/// Asserts a 401 from `/api/me/`: DRF's `detail` and the `Token` challenge.
#[track_caller]
fn assert_token_401(reply: &RestReply, detail: &str) {
    reply.assert(401, json!({ "detail": detail }));
    assert_eq!(reply.header("www-authenticate"), Some("Token"), "{reply:?}");
}

#[tokio::test]
async fn api_create_is_201_with_id_username_and_email() {
    let app = TestApp::spawn().await;
    let body = json!({ "username": " alice ", "email": "Alice@Example.COM", "password": PASSWORD });
    let reply = create(&app, body).await;
    let id = reply.json["id"].as_i64().expect("id is a JSON number");
    let user = json!({ "id": id, "username": "alice", "email": "Alice@example.com" });
    reply.assert(201, user);

    let sql = "SELECT id, username, email, password_hash FROM users";
    let users: Vec<(i64, String, String, String)> = rows(&app.db, sql).await;
    let (row_id, username, email, hash) = &users[0];
    assert_eq!((*row_id, username.as_str()), (id, "alice"));
    assert_eq!(email, "Alice@example.com");
    assert!(
        hash.starts_with("$argon2id$") && users.len() == 1,
        "{users:?}"
    );
}

#[tokio::test]
async fn api_create_email_is_optional_and_shown_as_empty() {
    let app = TestApp::spawn().await;
    let absent = json!({ "username": "alice", "password": PASSWORD });
    // Two users without an email are not duplicates of each other.
    let blank = json!({ "username": "bob", "email": "", "password": PASSWORD });
    for (body, name) in [(absent, "alice"), (blank, "bob")] {
        let reply = create(&app, body).await;
        let id = reply.json["id"].as_i64().expect("id");
        reply.assert(201, json!({ "id": id, "username": name, "email": "" }));
    }
    let no_email = "SELECT COUNT(*) FROM users WHERE email IS NULL AND email_key IS NULL";
    assert_eq!(count(&app.db, no_email).await, 2);
}

#[tokio::test]
async fn api_create_reports_every_failing_field_at_once() {
    let app = TestApp::spawn().await;
    let body = json!({ "username": "bad name!", "email": "nope", "password": "1234" });
    let errors = json!({
        "username": [INVALID_USERNAME],
        "email": ["Enter a valid email address."],
        "password": [
            "This password is too short. It must contain at least 8 characters.",
            "This password is too common.",
            "This password is entirely numeric.",
        ],
    });
    create(&app, body).await.assert(400, errors);
    assert_eq!(count(&app.db, USERS).await, 0);
}

#[tokio::test]
async fn api_create_answers_each_user_table_rule_with_djangos_message() {
    let app = TestApp::spawn().await;
    let max = |n: u32| format!("Ensure this field has no more than {n} characters.");
    let long_email = format!("{}@example.com", "a".repeat(243));
    // Each request and its 400 body.
    let table = json!([
        [{ "username": "   ", "password": PASSWORD }, { "username": [BLANK] }],
        [{ "username": "a".repeat(151), "password": PASSWORD }, { "username": [max(150)] }],
        [{ "username": "bob", "email": long_email, "password": PASSWORD }, { "email": [max(254)] }],
        [{ "username": "bob", "password": "Xy7!".repeat(33) }, { "password": [max(128)] }],
        [{ "username": "bob", "password": "password1" },
         { "password": ["This password is too common."] }],
        [{ "username": "bob", "password": "90817263541" },
         { "password": ["This password is entirely numeric."] }],
        [{ "username": "margaretha", "password": "Margaretha1" },
         { "password": ["The password is too similar to the username."] }],
        [{ "username": "bob", "email": "wilhelmina@example.com", "password": "wilhelmina!" },
         { "password": ["The password is too similar to the email address."] }],
        [{ "email": "b@example.com" }, { "username": [REQUIRED], "password": [REQUIRED] }],
        [{ "username": "", "password": "" }, { "username": [BLANK], "password": [BLANK] }],
    ]);
    for case in table.as_array().unwrap() {
        create(&app, case[0].clone())
            .await
            .assert(400, case[1].clone());
    }
    assert_eq!(count(&app.db, USERS).await, 0);
}

#[tokio::test]
async fn api_create_never_trims_the_password() {
    let app = TestApp::spawn().await;
    let padded = format!(" {PASSWORD} ");
    let reply = create(&app, json!({ "username": "alice", "password": padded })).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    token(&app, "alice", PASSWORD)
        .await
        .assert(400, bad_login());
    assert!(is_lower_hex(&api_token(&app, "alice", &padded).await, 40));
}

#[tokio::test]
async fn api_create_duplicate_username_ignoring_case_is_400() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    let body = json!({ "username": "ALICE", "email": "other@example.com", "password": PASSWORD });
    create(&app, body).await.assert(400, taken("username"));
    assert_eq!(count(&app.db, USERS).await, 1);
}

#[tokio::test]
async fn api_create_duplicate_email_ignoring_case_is_400() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    let body = json!({ "username": "bob", "email": "ALICE@EXAMPLE.com", "password": PASSWORD });
    create(&app, body).await.assert(400, taken("email"));
    let body = json!({ "username": "Alice", "email": "alice@example.com", "password": PASSWORD });
    let mut both = taken("username");
    both["email"] = taken("email")["email"].clone();
    create(&app, body).await.assert(400, both);
    assert_eq!(count(&app.db, USERS).await, 1);
}

#[tokio::test]
async fn api_create_simultaneous_registrations_of_one_name_yield_one_user_never_500() {
    let app = TestApp::spawn().await;
    let attempts = (0..8).map(|i| {
        let username = if i % 2 == 0 { "Racer" } else { "racer" };
        let email = format!("r{i}@example.com");
        create(
            &app,
            json!({ "username": username, "email": email, "password": PASSWORD }),
        )
    });
    let replies = futures::future::join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 1, "{replies:?}");
    for reply in replies.iter().filter(|r| r.status != 201) {
        reply.assert(400, taken("username"));
    }
    assert_eq!(count(&app.db, USERS).await, 1);
}

#[tokio::test]
async fn api_token_is_200_with_a_new_40_hex_key_per_login_stored_only_as_sha256() {
    let app = TestApp::spawn().await;
    let user_id = api_create(&app, "alice").await["id"].as_i64().unwrap();
    let now = app.now();
    let first = token(&app, "alice", PASSWORD).await;
    let key = first.str("/token");
    assert!(is_lower_hex(&key, 40), "{key}");
    first.assert(200, json!({ "token": key }));
    let second = api_token(&app, "ALICE", PASSWORD).await;
    assert!(is_lower_hex(&second, 40) && second != key, "{second}");

    type Row = (String, i64, i64, Option<i64>, Option<i64>);
    let sql = "SELECT key_hash, user_id, created_at, expires_at, revoked_at FROM api_keys";
    let stored: Vec<Row> = rows(&app.db, sql).await;
    // One row per key, each 64 lowercase hex digits. That each is its key's SHA-256 follows
    // from both keys working below and from `api_me_finds_a_key_by_its_sha256_only`.
    let hashes: Vec<&str> = stored.iter().map(|(hash, ..)| hash.as_str()).collect();
    assert!(
        hashes.iter().all(|hash| is_lower_hex(hash, 64)),
        "{stored:?}"
    );
    assert_eq!(hashes.len(), 2, "{stored:?}");
    assert_ne!(hashes[0], hashes[1]);
    let rest: Vec<_> = stored
        .iter()
        .map(|(_, u, c, e, r)| (*u, *c, *e, *r))
        .collect();
    assert_eq!(rest, [(user_id, now, None, None); 2]);
    let dump = format!("{stored:?}");
    assert!(
        !dump.contains(&key) && !dump.contains(&second),
        "a raw key is stored"
    );
    // Both keys work, and keep working: no lifetime unless an operator sets one.
    app.clock.advance(400 * 86_400);
    for k in [&key, &second] {
        assert_eq!(me(&app, Some(&format!("Token {k}"))).await.status, 200);
    }
}

/// A key is looked up by the lowercase hex of its SHA-256 and by nothing else. The digest
/// is written out (from `sha256sum`), not computed here the way authd computes it.
#[tokio::test]
async fn api_me_finds_a_key_by_its_sha256_only() {
    const KEY: &str = "0123456789abcdef0123456789abcdef01234567";
    const KEY_SHA256: &str = "deb87fabd17715bb31ad4cf4ffb9494eeb15f8d33d85b031a301c64ab3417eaa";
    // Stored as itself rather than hashed, a key must not be accepted.
    const RAW: &str = "89abcdef0123456789abcdef0123456789abcdef";
    let app = TestApp::spawn().await;
    let user = api_create(&app, "alice").await;
    let user_id = user["id"].as_i64().unwrap();
    for stored in [KEY_SHA256, RAW] {
        let sql = "INSERT INTO api_keys (key_hash, user_id, created_at) VALUES ($1, $2, $3)";
        let insert = sqlx::query(sql).bind(stored).bind(user_id).bind(app.now());
        insert.execute(&app.db).await.unwrap();
    }
    me(&app, Some(&format!("Token {KEY}")))
        .await
        .assert(200, user);
    assert_token_401(
        &me(&app, Some(&format!("Token {RAW}"))).await,
        "Invalid token.",
    );
}

#[tokio::test]
async fn api_token_wrong_password_is_400_non_field_errors() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    token(&app, "alice", "not-the-password")
        .await
        .assert(400, bad_login());
    assert_eq!(count(&app.db, KEYS).await, 0);
}

#[tokio::test]
async fn api_token_unknown_user_is_400_non_field_errors() {
    let app = TestApp::spawn().await;
    token(&app, "nobody", PASSWORD)
        .await
        .assert(400, bad_login());
    assert_eq!(count(&app.db, KEYS).await, 0);
}

#[tokio::test]
async fn api_token_inactive_user_is_400_non_field_errors() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    let deactivate = sqlx::query("UPDATE users SET is_active = FALSE");
    deactivate.execute(&app.db).await.unwrap();
    token(&app, "alice", PASSWORD)
        .await
        .assert(400, bad_login());
    assert_eq!(count(&app.db, KEYS).await, 0);
}

#[tokio::test]
async fn api_token_missing_or_blank_fields_are_400_field_errors() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    let table = json!([
        [{}, { "username": [REQUIRED], "password": [REQUIRED] }],
        [{ "username": "alice" }, { "password": [REQUIRED] }],
        [{ "username": "", "password": "" }, { "username": [BLANK], "password": [BLANK] }],
        [{ "username": "alice", "password": "" }, { "password": [BLANK] }],
    ]);
    for case in table.as_array().unwrap() {
        let reply = post_json(&app, "/api/token/", &case[0]).await;
        reply.assert(400, case[1].clone());
    }
    assert_eq!(count(&app.db, KEYS).await, 0);
}

#[tokio::test]
async fn api_me_with_token_key_is_200_the_owner_scheme_case_insensitive() {
    let app = TestApp::spawn().await;
    let user = api_create(&app, "alice").await;
    let key = api_token(&app, "alice", PASSWORD).await;
    for scheme in ["Token", "token", "TOKEN"] {
        let reply = me(&app, Some(&format!("{scheme} {key}"))).await;
        reply.assert(200, user.clone());
    }
}

#[tokio::test]
async fn api_me_with_bearer_access_jwt_is_200_the_owner() {
    let app = TestApp::spawn().await;
    let user = api_create(&app, "alice").await;
    let login = app.login("alice", PASSWORD).await.unwrap();
    let bearer = format!("Bearer {}", login.tokens.unwrap().access_token);
    me(&app, Some(&bearer)).await.assert(200, user);
}

#[tokio::test]
async fn api_me_without_credentials_or_other_scheme_is_401_not_provided() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    for header in [None, Some("Basic YWxpY2U6cGFzc3dvcmQ="), Some("Digest abc")] {
        let reply = me(&app, header).await;
        assert_token_401(&reply, "Authentication credentials were not provided.");
    }
}

#[tokio::test]
async fn api_me_unknown_or_revoked_key_is_401_invalid_token() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    let key = api_token(&app, "alice", PASSWORD).await;
    let unknown = format!("Token {}", "0123456789abcdef0123".repeat(2));
    for header in [unknown.as_str(), "Token not-a-key"] {
        assert_token_401(&me(&app, Some(header)).await, "Invalid token.");
    }
    let revoke = sqlx::query("UPDATE api_keys SET revoked_at = $1").bind(app.now());
    revoke.execute(&app.db).await.unwrap();
    let reply = me(&app, Some(&format!("Token {key}"))).await;
    assert_token_401(&reply, "Invalid token.");
}

#[tokio::test]
async fn api_me_token_without_key_is_401_no_credentials_provided() {
    let app = TestApp::spawn().await;
    let reply = me(&app, Some("Token")).await;
    assert_token_401(&reply, "Invalid token header. No credentials provided.");
}

#[tokio::test]
async fn api_me_token_with_spaces_is_401_should_not_contain_spaces() {
    let app = TestApp::spawn().await;
    let reply = me(&app, Some("Token a b")).await;
    let detail = "Invalid token header. Token string should not contain spaces.";
    assert_token_401(&reply, detail);
}
