//! The JWKS endpoint, used the way another service would: fetch the key set, pick the key
//! by the token's `kid`, and verify the token with an ordinary JWT library.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};

use crate::helpers::{TestApp, get_with_auth};

#[derive(Debug, serde::Deserialize)]
struct Claims {
    user_id: i64,
    token_type: String,
}

async fn key_set(app: &TestApp) -> JwkSet {
    let reply = get_with_auth(app, "/.well-known/jwks.json", None).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
    serde_json::from_value(reply.json.clone()).expect("a JWK set")
}

fn verify_with(keys: &JwkSet, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
    let header = jsonwebtoken::decode_header(token)?;
    let kid = header.kid.unwrap_or_default();
    let jwk = keys
        .find(&kid)
        .ok_or(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&["authd"]);
    validation.set_audience(&["authd"]);
    Ok(jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_jwk(jwk)?, &validation)?.claims)
}

#[tokio::test]
async fn another_service_verifies_tokens_with_the_published_keys() {
    let app = TestApp::spawn().await;
    let login = app.signed_in("alice").await;
    let keys = key_set(&app).await;
    assert_eq!(keys.keys.len(), 1);
    let kid: String = sqlx::query_scalar("SELECT kid FROM signing_keys")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(keys.keys[0].common.key_id.as_deref(), Some(kid.as_str()));

    let tokens = login.tokens.unwrap();
    let claims = verify_with(&keys, &tokens.access_token).unwrap();
    assert_eq!(
        (claims.user_id, claims.token_type.as_str()),
        (login.user.unwrap().id, "access")
    );

    // A token from another deployment, or a tampered one, does not verify.
    let other = TestApp::spawn().await;
    let foreign = other.signed_in("alice").await.tokens.unwrap().access_token;
    assert!(verify_with(&keys, &foreign).is_err());
    let mut tampered = tokens.access_token.clone();
    tampered.pop();
    tampered.push(if tokens.access_token.ends_with('A') {
        'B'
    } else {
        'A'
    });
    assert!(verify_with(&keys, &tampered).is_err());
}

#[tokio::test]
async fn the_key_set_holds_no_private_material() {
    let app = TestApp::spawn().await;
    let reply = get_with_auth(&app, "/.well-known/jwks.json", None).await;
    let key = &reply.json["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    assert!(key.get("d").is_none(), "{key}");
    let members: Vec<&String> = key.as_object().unwrap().keys().collect();
    assert_eq!(members, ["kty", "crv", "x", "kid", "use", "alg"]);
}
