//! Login: tokens and their claims, case-insensitive names, indistinguishable failures, and
//! what the database records (times, never the tokens).

use tonic::Code;

use crate::helpers::{
    PASSWORD, TestApp, assert_unauthenticated, count, jwt_parts, pairs, violations,
};

#[tokio::test]
async fn login_returns_a_token_pair_with_simplejwt_claims() {
    let app = TestApp::spawn().await;
    let user = app
        .register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let now = app.now();
    let response = app.login("alice", PASSWORD).await.unwrap();

    assert_eq!(response.user.as_ref().unwrap(), &user);
    let tokens = response.tokens.unwrap();
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.access_expires_at.unwrap().seconds, now + 3600);
    assert_eq!(tokens.refresh_expires_at.unwrap().seconds, now + 86_400);

    for (token, kind, lifetime) in [
        (&tokens.access_token, "access", 3600),
        (&tokens.refresh_token, "refresh", 86_400),
    ] {
        let (header, claims) = jwt_parts(token);
        assert_eq!(header["alg"], "EdDSA");
        assert_eq!(header["kid"].as_str().unwrap().len(), 43);
        assert_eq!(claims["token_type"], kind);
        assert_eq!(claims["user_id"], user.id);
        assert_eq!(claims["iat"], now);
        assert_eq!(claims["exp"], now + lifetime);
        assert_eq!(claims["iss"], "authd");
        assert_eq!(claims["aud"], "authd");
        let jti = claims["jti"].as_str().unwrap();
        assert_eq!(jti.len(), 32);
        assert!(
            jti.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
}

#[tokio::test]
async fn login_matches_the_username_ignoring_case_and_whitespace() {
    let app = TestApp::spawn().await;
    app.register("Alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let response = app.login("  aLICE ", PASSWORD).await.unwrap();
    assert_eq!(response.user.unwrap().username, "Alice");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_fail_identically() {
    let app = TestApp::spawn().await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let wrong = app.login("alice", "not-the-password").await.unwrap_err();
    let unknown = app.login("nobody", PASSWORD).await.unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);
    assert_eq!(unknown.code(), Code::Unauthenticated);
    assert_eq!(wrong.message(), unknown.message());
    assert_eq!(wrong.details(), unknown.details());
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM sessions").await, 0);
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM tokens").await, 0);
}

#[tokio::test]
async fn a_deactivated_user_cannot_log_in_refresh_or_use_old_tokens() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_in("alice").await.tokens.unwrap();
    sqlx::query("UPDATE users SET is_active = FALSE")
        .execute(&app.db)
        .await
        .unwrap();
    let status = app.login("alice", PASSWORD).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "invalid credentials");
    let refresh = authd::pb::RefreshRequest {
        refresh_token: tokens.refresh_token,
    };
    assert_unauthenticated(app.client().await.refresh(refresh).await);
    assert_unauthenticated(app.get_me(&tokens.access_token).await);
}

#[tokio::test]
async fn missing_login_fields_are_invalid_argument() {
    let app = TestApp::spawn().await;
    let status = app.login("", "").await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&status),
        pairs(&[
            ("username", "This field is required."),
            ("password", "This field is required.")
        ])
    );
    let status = app.login("   ", PASSWORD).await.unwrap_err();
    assert_eq!(
        violations(&status),
        pairs(&[("username", "This field may not be blank.")])
    );
}

#[tokio::test]
async fn each_login_records_a_session_and_both_tokens_with_times_but_not_the_tokens() {
    let app = TestApp::spawn().await;
    let user = app
        .register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let now = app.now();
    let first = app.login("alice", PASSWORD).await.unwrap().tokens.unwrap();
    let second = app.login("alice", PASSWORD).await.unwrap().tokens.unwrap();

    let sessions: Vec<(i64, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT user_id, created_at, expires_at, revoked_at FROM sessions ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(sessions, vec![(user.id, now, now + 86_400, None); 2]);

    let tokens: Vec<(String, String, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT jti, kind, created_at, expires_at, spent_at FROM tokens ORDER BY created_at, kind",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(tokens.len(), 4);
    for (jti, kind, created_at, expires_at, spent_at) in &tokens {
        assert_eq!(*created_at, now);
        let lifetime = if kind == "access" { 3600 } else { 86_400 };
        assert_eq!(*expires_at, now + lifetime);
        assert_eq!(*spent_at, None);
        assert_eq!(jti.len(), 32);
    }

    // No column of any table holds a token, or even its signature.
    let dump: Vec<String> = sqlx::query_scalar(
        "SELECT jti || kind FROM tokens UNION ALL
         SELECT username || COALESCE(email, '') || password_hash FROM users UNION ALL
         SELECT COALESCE(revoked_reason, '') FROM sessions",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let dump = dump.concat();
    for token in [
        &first.access_token,
        &first.refresh_token,
        &second.access_token,
        &second.refresh_token,
    ] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!dump.contains(signature));
    }
}
