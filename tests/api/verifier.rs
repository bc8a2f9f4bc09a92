//! `authd-verify` against the real authd, verifying locally: a guarded tonic service and a
//! guarded axum service let authd's access tokens through with their claims, and refuse
//! garbage, tampered, refresh, expired and foreign tokens; a key rotation is followed
//! (unknown kid → JWKS refetch, rate-limited); ES256 and HS256 deployments work too.

use authd_verify::{Claims, Error, Verifier};
use tonic::Code;

use crate::helpers::{
    AppClock, TestApp, authd, guarded_grpc, guarded_http, health_check, http, intercepted_grpc,
    jwks_url, jwt_parts, send,
};

const SECRET: &str = "a secret shared with the services, 32+ bytes";

/// `token` with one character of its signature changed.
fn tampered(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A JWKS verifier of `app`, on `app`'s clock.
fn local_verifier(app: &TestApp) -> Verifier {
    Verifier::jwks(jwks_url(app.address))
        .clock(AppClock(app.clock.clone()))
        .build()
        .unwrap()
}

/// `GET /whoami` on a guarded axum service: status, `WWW-Authenticate`, body.
async fn whoami(
    address: std::net::SocketAddr,
    authorization: Option<&str>,
) -> (u16, Option<String>, serde_json::Value) {
    let mut request = http().get(format!("http://{address}/whoami"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let reply = send(request).await;
    let challenge = reply.header("www-authenticate").map(str::to_string);
    (reply.status, challenge, reply.json)
}

#[tokio::test]
async fn an_axum_service_gets_the_claims_of_an_authd_token_and_401_for_anything_else() {
    let app = TestApp::spawn().await;
    let login = app.signed_in("alice").await;
    let tokens = login.tokens.unwrap();
    let service = guarded_http(local_verifier(&app)).await;

    let (status, _, body) = whoami(service, Some(&bearer(&tokens.access_token))).await;
    assert_eq!(status, 200, "{body}");
    let (_, payload) = jwt_parts(&tokens.access_token);
    assert_eq!(body["user_id"], login.user.unwrap().id);
    assert_eq!(body["jti"], payload["jti"]);
    assert_eq!(body["token_type"], "access");
    assert_eq!(
        (&body["iss"], &body["aud"]),
        (&"authd".into(), &"authd".into())
    );

    let missing = whoami(service, None).await;
    assert_eq!((missing.0, missing.1.as_deref()), (401, Some("Bearer")));
    let other = TestApp::spawn().await;
    let foreign = other.signed_in("alice").await.tokens.unwrap().access_token;
    for refused in [
        "Bearer not-a-jwt".to_string(),
        bearer(&tampered(&tokens.access_token)),
        bearer(&tokens.refresh_token),
        bearer(&foreign),
        format!("Basic {}", tokens.access_token),
    ] {
        let (status, challenge, _) = whoami(service, Some(&refused)).await;
        assert_eq!(status, 401, "{refused}");
        assert_eq!(challenge.as_deref(), Some("Bearer error=\"invalid_token\""));
    }
}

/// The guarded gRPC service at `service` answers OK to `tokens`' access token only:
/// none, garbage, a tampered one or the refresh token are UNAUTHENTICATED.
async fn assert_only_the_access_token_passes(
    service: std::net::SocketAddr,
    tokens: &authd::pb::TokenPair,
) {
    let live = bearer(&tokens.access_token);
    assert_eq!(health_check(service, Some(&live)).await, Code::Ok);
    assert_eq!(health_check(service, None).await, Code::Unauthenticated);
    let refused = [
        "garbage".to_string(),
        tampered(&tokens.access_token),
        tokens.refresh_token.clone(),
    ];
    for token in refused {
        let code = health_check(service, Some(&bearer(&token))).await;
        assert_eq!(code, Code::Unauthenticated, "{token}");
    }
}

#[tokio::test]
async fn a_tonic_service_answers_unauthenticated_without_a_live_access_token() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_in("alice").await.tokens.unwrap();
    let service = guarded_grpc(local_verifier(&app)).await;

    assert_only_the_access_token_passes(service, &tokens).await;
}

#[tokio::test]
async fn a_token_is_refused_once_its_expiry_and_the_leeway_have_passed() {
    let app = TestApp::spawn().await;
    let access = app.signed_in("alice").await.tokens.unwrap().access_token;
    let service = guarded_grpc(local_verifier(&app)).await;
    // An access token lives 3600 s; the verifier tolerates 30 s of clock difference.
    app.clock.advance(3600 + 29);
    assert_eq!(
        health_check(service, Some(&bearer(&access))).await,
        Code::Ok
    );
    app.clock.advance(1);
    assert_eq!(
        health_check(service, Some(&bearer(&access))).await,
        Code::Unauthenticated
    );
}

/// `keys rotate` on `url`, as an operator runs it.
async fn rotate(url: &str) {
    authd(&["keys", "rotate", "--database-url", url], "")
        .await
        .ok();
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn after_a_key_rotation_new_and_old_tokens_both_pass() {
    let app = TestApp::spawn().await;
    let before = app.signed_in("alice").await.tokens.unwrap().access_token;
    let service = guarded_grpc(local_verifier(&app)).await;
    assert_eq!(
        health_check(service, Some(&bearer(&before))).await,
        Code::Ok
    );

    rotate(app.database_url()).await;
    app.clock.advance(5);
    let after = app.login("alice", crate::helpers::PASSWORD).await.unwrap();
    let after = after.tokens.unwrap().access_token;
    assert_ne!(
        kid_of(&after),
        kid_of(&before),
        "the node signs with the new key"
    );
    assert_eq!(health_check(service, Some(&bearer(&after))).await, Code::Ok);
    assert_eq!(
        health_check(service, Some(&bearer(&before))).await,
        Code::Ok
    );
}

#[tokio::test]
async fn unknown_kids_refetch_the_jwks_at_most_once_per_interval() {
    let app = TestApp::spawn().await;
    let before = app.signed_in("alice").await.tokens.unwrap().access_token;
    let verifier = local_verifier(&app);
    assert!(verifier.verify(&before).await.is_ok());

    // A node started after a rotation signs with the new key; the first node publishes it
    // once shown one of its tokens.
    rotate(app.database_url()).await;
    let second = TestApp::spawn_on(app.database_url(), &[]).await;
    let login = second
        .login("alice", crate::helpers::PASSWORD)
        .await
        .unwrap();
    let after = login.tokens.unwrap().access_token;
    assert!(app.get_me(&after).await.is_ok());
    let jwks = send(http().get(jwks_url(app.address))).await;
    assert!(jwks.text.contains(&kid_of(&after)), "{jwks:?}");

    // The verifier fetched a moment ago: neither the new kid nor a flood of forged ones
    // makes it fetch again before the interval is over.
    let forged = "eyJhbGciOiJFZERTQSIsImtpZCI6Im5vcGUifQ.e30.AA";
    for _ in 0..20 {
        assert_eq!(verifier.verify(forged).await, Err(Error::InvalidToken));
    }
    assert_eq!(verifier.verify(&after).await, Err(Error::InvalidToken));
    app.clock.advance(5);
    let claims: Claims = verifier.verify(&after).await.unwrap();
    assert_eq!(claims.token_type, "access");
}

#[tokio::test]
async fn es256_tokens_verify_against_the_p256_jwks() {
    let app = TestApp::spawn_with(&["--jwt-algorithm", "es256"]).await;
    let login = app.signed_in("alice").await;
    let tokens = login.tokens.unwrap();
    let verifier = local_verifier(&app);
    let claims = verifier.verify(&tokens.access_token).await.unwrap();
    assert_eq!(claims.user_id, login.user.unwrap().id);
    let service = guarded_grpc(verifier).await;
    assert_eq!(
        health_check(service, Some(&bearer(&tokens.access_token))).await,
        Code::Ok
    );
    let code = health_check(service, Some(&bearer(&tampered(&tokens.access_token)))).await;
    assert_eq!(code, Code::Unauthenticated);
}

#[tokio::test]
async fn hs256_tokens_verify_with_the_shared_secret_only() {
    let app = TestApp::spawn_with(&["--jwt-algorithm", "hs256", "--jwt-secret", SECRET]).await;
    let login = app.signed_in("alice").await;
    let access = login.tokens.unwrap().access_token;
    let shared = Verifier::hs256(SECRET).build().unwrap();
    assert_eq!(
        shared.verify(&access).await.unwrap().user_id,
        login.user.unwrap().id
    );
    let service = guarded_grpc(shared).await;
    assert_eq!(
        health_check(service, Some(&bearer(&access))).await,
        Code::Ok
    );

    let other = Verifier::hs256("another secret of thirty-two bytes or more")
        .build()
        .unwrap();
    assert_eq!(other.verify(&access).await, Err(Error::InvalidToken));
    // The JWKS of an HS256 deployment is empty: nothing verifies against it.
    assert_eq!(
        local_verifier(&app).verify(&access).await,
        Err(Error::InvalidToken)
    );
}

#[tokio::test]
async fn an_authd_that_cannot_be_reached_is_503_not_401() {
    let app = TestApp::spawn().await;
    let access = app.signed_in("alice").await.tokens.unwrap().access_token;
    let verifier = local_verifier(&app);
    app.stop().await;
    let service = guarded_http(verifier).await;
    let (status, challenge, _) = whoami(service, Some(&bearer(&access))).await;
    assert_eq!((status, challenge), (503, None));
}

#[tokio::test]
async fn authenticate_puts_the_claims_in_a_tonic_request() {
    let app = TestApp::spawn().await;
    let access = app.signed_in("alice").await.tokens.unwrap().access_token;
    let verifier = local_verifier(&app);
    let mut request = tonic::Request::new(());
    request
        .metadata_mut()
        .insert("authorization", bearer(&access).parse().unwrap());
    let request = verifier.authenticate(request).await.unwrap();
    let (_, payload) = jwt_parts(&access);
    assert_eq!(
        request.extensions().get::<Claims>().unwrap().jti,
        payload["jti"]
    );
    let refused = verifier.authenticate(tonic::Request::new(())).await;
    assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);
}

#[tokio::test]
async fn alg_none_and_hs256_under_a_public_key_are_refused() {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let app = TestApp::spawn().await;
    let access = app.signed_in("alice").await.tokens.unwrap().access_token;
    let verifier = local_verifier(&app);
    assert!(verifier.verify(&access).await.is_ok());
    let (header, payload) = jwt_parts(&access);
    let encode = |value: &serde_json::Value| URL_SAFE_NO_PAD.encode(value.to_string());

    let none = serde_json::json!({"alg": "none", "kid": header["kid"]});
    let unsigned = format!("{}.{}.", encode(&none), encode(&payload));
    assert_eq!(verifier.verify(&unsigned).await, Err(Error::InvalidToken));

    // The published public key used as an HMAC secret: the classic confusion.
    let jwks = send(http().get(jwks_url(app.address))).await;
    let public = URL_SAFE_NO_PAD.decode(jwks.str("/keys/0/x")).unwrap();
    let mut forged_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    forged_header.kid = header["kid"].as_str().map(str::to_string);
    let key = jsonwebtoken::EncodingKey::from_secret(&public);
    let forged = jsonwebtoken::encode(&forged_header, &payload, &key).unwrap();
    assert_eq!(verifier.verify(&forged).await, Err(Error::InvalidToken));
}

#[tokio::test]
async fn a_retired_key_is_refused_once_the_periodic_refresh_has_seen_it_go() {
    let app = TestApp::spawn().await;
    let before = app.signed_in("alice").await.tokens.unwrap().access_token;
    let verifier = local_verifier(&app);
    assert!(verifier.verify(&before).await.is_ok());
    rotate(app.database_url()).await;
    let retire = [
        "keys",
        "retire",
        &kid_of(&before),
        "--database-url",
        app.database_url(),
    ];
    authd(&retire, "").await.ok();

    // Locally, a signature cannot know: the cached key verifies until the next refresh.
    app.clock.advance(299);
    assert!(verifier.verify(&before).await.is_ok());
    app.clock.advance(1);
    assert_eq!(verifier.verify(&before).await, Err(Error::InvalidToken));
}

#[tokio::test]
async fn the_synchronous_interceptor_answers_from_the_cached_keys() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_in("alice").await.tokens.unwrap();
    let verifier = local_verifier(&app);
    let service = intercepted_grpc(verifier.interceptor().unwrap()).await;
    let live = bearer(&tokens.access_token);
    // It cannot wait: before the first fetch has finished, it is UNAVAILABLE.
    assert_eq!(health_check(service, Some(&live)).await, Code::Unavailable);
    // Warmed (as a service would at start), it answers from the cache.
    verifier.verify(&tokens.access_token).await.unwrap();
    assert_only_the_access_token_passes(service, &tokens).await;
    let remote = Verifier::validate_token(app.channel().await)
        .build()
        .unwrap();
    assert!(matches!(remote.interceptor(), Err(Error::Config(_))));
}
