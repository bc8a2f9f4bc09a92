//! `--jwt-algorithm`: ES256 key pairs published as P-256 JWKs for verifiers without EdDSA,
//! a switch of algorithm that keeps old tokens working, and HS256 with a shared secret that
//! is never published or printed.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};

use crate::helpers::{TestApp, get_with_auth, refused_start};

const SECRET: &str = "a secret shared with the services, 32+ bytes";

#[derive(Debug, serde::Deserialize)]
struct Claims {
    user_id: i64,
}

async fn key_set(app: &TestApp) -> (serde_json::Value, JwkSet) {
    let reply = get_with_auth(app, "/.well-known/jwks.json", None).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let set = serde_json::from_value(reply.json.clone()).expect("a JWK set");
    (reply.json, set)
}

/// Verifies `token` as an ordinary JWT library would, with the key `keys` has for its kid,
/// allowing only `algorithm`.
fn verify_with(keys: &JwkSet, token: &str, algorithm: Algorithm) -> Option<Claims> {
    let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
    let key = DecodingKey::from_jwk(keys.find(&kid)?).ok()?;
    let mut validation = Validation::new(algorithm);
    validation.set_audience(&["authd"]);
    jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .ok()
        .map(|data| data.claims)
}

#[tokio::test]
async fn es256_keys_are_published_as_p256_jwks_that_verify_the_tokens() {
    let app = TestApp::spawn_with(&["--jwt-algorithm", "es256"]).await;
    let login = app.signed_in("alice").await;
    let access = login.tokens.unwrap().access_token;
    let header = jsonwebtoken::decode_header(&access).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);

    let (raw, keys) = key_set(&app).await;
    let jwk = &raw["keys"][0];
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert_eq!(jwk["alg"], "ES256");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["kid"].as_str(), header.kid.as_deref());
    assert_eq!(jwk["x"].as_str().unwrap().len(), 43);
    assert_eq!(jwk["y"].as_str().unwrap().len(), 43);
    assert!(jwk.get("d").is_none(), "no private part: {jwk}");

    let claims = verify_with(&keys, &access, Algorithm::ES256).expect("verifies");
    assert_eq!(claims.user_id, login.user.unwrap().id);
    assert!(app.get_me(&access).await.is_ok());
    let stored: Vec<String> =
        crate::helpers::scalars(&app.db, "SELECT algorithm FROM signing_keys").await;
    assert_eq!(stored, ["ES256"]);
}

#[tokio::test]
async fn switching_from_eddsa_to_es256_keeps_earlier_tokens_working() {
    let first = TestApp::spawn().await;
    let before = first.signed_in("alice").await.tokens.unwrap().access_token;
    let url = first.database_url().to_string();
    let switched = TestApp::spawn_on(&url, &["--jwt-algorithm", "es256"]).await;

    let after = switched
        .login("alice", crate::helpers::PASSWORD)
        .await
        .unwrap();
    let after = after.tokens.unwrap().access_token;
    assert_eq!(
        jsonwebtoken::decode_header(&after).unwrap().alg,
        Algorithm::ES256
    );
    assert!(
        switched.get_me(&before).await.is_ok(),
        "the EdDSA token still verifies"
    );
    assert!(switched.get_me(&after).await.is_ok());

    // Both keys are published, the new (signing) one first, until the old one's tokens
    // have all expired.
    let (raw, keys) = key_set(&switched).await;
    let algorithms: Vec<&str> = raw["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algorithms, ["ES256", "EdDSA"]);
    assert!(verify_with(&keys, &before, Algorithm::EdDSA).is_some());
    assert!(verify_with(&keys, &after, Algorithm::ES256).is_some());
    drop(first);
}

#[tokio::test]
async fn hs256_signs_with_the_shared_secret_and_publishes_no_key() {
    let app = TestApp::spawn_with(&["--jwt-algorithm", "hs256", "--jwt-secret", SECRET]).await;
    let access = app.signed_in("alice").await.tokens.unwrap().access_token;
    let (raw, _) = key_set(&app).await;
    assert_eq!(raw, serde_json::json!({ "keys": [] }));

    // A service holding the secret verifies it; one holding another secret does not.
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&["authd"]);
    let key = DecodingKey::from_secret(SECRET.as_bytes());
    assert!(jsonwebtoken::decode::<Claims>(&access, &key, &validation).is_ok());
    let wrong = DecodingKey::from_secret(b"some other secret of thirty-two bytes....");
    assert!(jsonwebtoken::decode::<Claims>(&access, &wrong, &validation).is_err());
    assert!(app.get_me(&access).await.is_ok());
    assert_eq!(
        crate::helpers::count(&app.db, "SELECT COUNT(*) FROM signing_keys").await,
        0
    );
}

#[tokio::test]
async fn hs256_without_a_long_enough_secret_refuses_to_start_without_quoting_it() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/authd.db", dir.path().display());
    let args = [
        "--database-url",
        database.as_str(),
        "--jwt-algorithm",
        "hs256",
    ];
    let log = refused_start(dir.path(), &args, &[]).await;
    assert!(log.contains("AUTHD_JWT_SECRET"), "{log}");

    let short = "too-short-secret-value";
    let log = refused_start(dir.path(), &args, &[("AUTHD_JWT_SECRET", short)]).await;
    assert!(log.contains("at least 32 bytes"), "{log}");
    assert!(!log.contains(short), "{log}");
}
