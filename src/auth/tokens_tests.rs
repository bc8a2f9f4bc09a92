use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::*;

const NOW: i64 = 1_800_000_000;

fn settings() -> TokenSettings {
    TokenSettings {
        issuer: "authd".into(),
        audience: "authd".into(),
        access_lifetime: 3600,
        refresh_lifetime: 86_400,
    }
}

fn signer_with(settings: TokenSettings) -> Result<(TokenSigner, KeyPair), Error> {
    let key = KeyPair::generate(KeyAlgorithm::EdDsa, NOW)?;
    Ok((TokenSigner::new(settings, &key, &[])?, key))
}

#[test]
fn no_token_claims_to_outlive_its_session() -> Result<(), Error> {
    let (signer, _) = signer_with(settings())?;
    let session_end = NOW + 600;
    for kind in [TokenKind::Access, TokenKind::Refresh] {
        let issued = signer.issue(kind, 1, NOW, session_end)?;
        assert_eq!(issued.expires_at, session_end);
        let claims = signer.verify(&issued.token, kind, NOW)?;
        assert_eq!(claims.exp, session_end);
    }
    let far = signer.issue(TokenKind::Access, 1, NOW, NOW + 1_000_000)?;
    assert_eq!(far.expires_at, NOW + 3600);
    Ok(())
}

#[test]
fn issued_tokens_verify_with_simplejwt_claims() -> Result<(), Error> {
    let (signer, key) = signer_with(settings())?;
    let issued = signer.issue(TokenKind::Access, 42, NOW, i64::MAX)?;
    let claims = signer.verify(&issued.token, TokenKind::Access, NOW)?;
    assert_eq!(claims.user_id, 42);
    assert_eq!(claims.token_type, "access");
    assert_eq!((claims.iat, claims.exp), (NOW, NOW + 3600));
    assert_eq!(claims.jti, issued.jti);
    assert_eq!(claims.jti.len(), 32);
    assert!(
        claims
            .jti
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_uppercase())
    );
    let header = jsonwebtoken::decode_header(&issued.token).map_err(|_| Error::InvalidToken)?;
    assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
    Ok(())
}

#[test]
fn kinds_are_never_interchangeable() -> Result<(), Error> {
    let (signer, _) = signer_with(settings())?;
    let access = signer.issue(TokenKind::Access, 1, NOW, i64::MAX)?;
    let refresh = signer.issue(TokenKind::Refresh, 1, NOW, i64::MAX)?;
    assert!(
        signer
            .verify(&access.token, TokenKind::Refresh, NOW)
            .is_err()
    );
    assert!(
        signer
            .verify(&refresh.token, TokenKind::Access, NOW)
            .is_err()
    );
    assert_eq!(refresh.expires_at, NOW + 86_400);
    Ok(())
}

#[test]
fn tokens_expire_exactly_at_exp() -> Result<(), Error> {
    let (signer, _) = signer_with(settings())?;
    let access = signer.issue(TokenKind::Access, 1, NOW, i64::MAX)?;
    assert!(
        signer
            .verify(&access.token, TokenKind::Access, NOW + 3599)
            .is_ok()
    );
    assert!(
        signer
            .verify(&access.token, TokenKind::Access, NOW + 3600)
            .is_err()
    );
    Ok(())
}

#[test]
fn other_issuers_audiences_and_keys_are_refused() -> Result<(), Error> {
    let (signer, _) = signer_with(settings())?;
    let foreign_iss = signer_with(TokenSettings {
        issuer: "evil".into(),
        ..settings()
    })?
    .0;
    let foreign_aud = signer_with(TokenSettings {
        audience: "other".into(),
        ..settings()
    })?
    .0;
    let foreign_key = signer_with(settings())?.0;
    for other in [foreign_iss, foreign_aud, foreign_key] {
        let token = other.issue(TokenKind::Access, 1, NOW, i64::MAX)?.token;
        assert!(signer.verify(&token, TokenKind::Access, NOW).is_err());
    }
    Ok(())
}

#[test]
fn unsigned_and_symmetric_tokens_are_refused() -> Result<(), Error> {
    let (signer, key) = signer_with(settings())?;
    let claims = signer.verify(
        &signer.issue(TokenKind::Access, 1, NOW, i64::MAX)?.token,
        TokenKind::Access,
        NOW,
    )?;
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let none_header = format!(r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#, key.kid);
    let unsigned = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(none_header));
    assert!(signer.verify(&unsigned, TokenKind::Access, NOW).is_err());

    // HS256 "signed" with the public key, the classic algorithm-confusion attack.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.clone());
    let confused =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&key.public_key))
            .map_err(|e| Error::Internal(e.to_string()))?;
    assert!(signer.verify(&confused, TokenKind::Access, NOW).is_err());
    Ok(())
}

#[test]
fn garbage_is_refused_without_panicking() -> Result<(), Error> {
    let (signer, _) = signer_with(settings())?;
    for garbage in [
        "",
        ".",
        "..",
        "a.b.c",
        "not a token",
        "eyJhbGciOiJFZERTQSJ9.e30.AAAA",
    ] {
        assert!(
            signer.verify(garbage, TokenKind::Access, NOW).is_err(),
            "{garbage}"
        );
    }
    Ok(())
}

/// A token signed with `key`, as an attacker holding no key cannot make but a bug or a
/// leaked key could: `header` and `claims` exactly as given.
fn signed(key: &KeyPair, header: Header, claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_ed_der(&key.private_pkcs8),
    )
    .unwrap()
}

fn genuine_header(key: &KeyPair) -> Header {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    header
}

fn access_claims(iat: i64, exp: i64) -> serde_json::Value {
    serde_json::json!({
        "token_type": "access", "iat": iat, "exp": exp, "jti": "0".repeat(32),
        "user_id": 1, "iss": "authd", "aud": "authd",
    })
}

#[test]
fn hand_signed_tokens_within_the_rules_verify() {
    let (signer, key) = signer_with(settings()).unwrap();
    let token = signed(&key, genuine_header(&key), &access_claims(NOW, NOW + 3600));
    assert!(signer.verify(&token, TokenKind::Access, NOW).is_ok());
    // A node whose clock is a little behind the issuer's still takes it.
    let ahead = signed(
        &key,
        genuine_header(&key),
        &access_claims(NOW + 60, NOW + 3660),
    );
    assert!(signer.verify(&ahead, TokenKind::Access, NOW).is_ok());
}

#[test]
fn a_crit_header_is_refused() {
    let (signer, key) = signer_with(settings()).unwrap();
    for crit in [vec!["exp".to_string()], vec!["b64".to_string()], vec![]] {
        let mut header = genuine_header(&key);
        header.crit = Some(crit.clone());
        let token = signed(&key, header, &access_claims(NOW, NOW + 3600));
        assert!(
            signer.verify(&token, TokenKind::Access, NOW).is_err(),
            "{crit:?}"
        );
    }
}

#[test]
fn iat_or_nbf_in_the_future_is_refused() {
    let (signer, key) = signer_with(settings()).unwrap();
    let day = 86_400;
    let future_iat = signed(
        &key,
        genuine_header(&key),
        &access_claims(NOW + day, NOW + day + 3600),
    );
    assert!(signer.verify(&future_iat, TokenKind::Access, NOW).is_err());
    let just_beyond = signed(
        &key,
        genuine_header(&key),
        &access_claims(NOW + 61, NOW + 3661),
    );
    assert!(signer.verify(&just_beyond, TokenKind::Access, NOW).is_err());

    let mut claims = access_claims(NOW, NOW + 3600);
    claims["nbf"] = (NOW + day).into();
    let future_nbf = signed(&key, genuine_header(&key), &claims);
    assert!(signer.verify(&future_nbf, TokenKind::Access, NOW).is_err());
    claims["nbf"] = (NOW - 10).into();
    let past_nbf = signed(&key, genuine_header(&key), &claims);
    assert!(signer.verify(&past_nbf, TokenKind::Access, NOW).is_ok());
}

#[test]
fn an_exp_beyond_the_configured_lifetime_is_refused() {
    let (signer, key) = signer_with(settings()).unwrap();
    let century = 100 * 365 * 86_400;
    let forever = signed(
        &key,
        genuine_header(&key),
        &access_claims(NOW, NOW + century),
    );
    assert!(signer.verify(&forever, TokenKind::Access, NOW).is_err());
    // An hour and two minutes for an access token that lives an hour.
    let long = signed(&key, genuine_header(&key), &access_claims(NOW, NOW + 3720));
    assert!(signer.verify(&long, TokenKind::Access, NOW).is_err());
    // A backdated iat does not buy a longer life either.
    let backdated = signed(
        &key,
        genuine_header(&key),
        &access_claims(NOW - century, NOW + century),
    );
    assert!(signer.verify(&backdated, TokenKind::Access, NOW).is_err());
    // A refresh token may live its own (longer) lifetime.
    let mut refresh = access_claims(NOW, NOW + 86_400);
    refresh["token_type"] = "refresh".into();
    let refresh = signed(&key, genuine_header(&key), &refresh);
    assert!(signer.verify(&refresh, TokenKind::Refresh, NOW).is_ok());
}

#[test]
fn claims_and_parts_outside_the_shape_authd_issues_are_refused() {
    let (signer, key) = signer_with(settings()).unwrap();
    let mut claims = access_claims(NOW, NOW + 3600);
    claims["aud"] = serde_json::json!(["authd"]);
    let listed = signed(&key, genuine_header(&key), &claims);
    assert!(signer.verify(&listed, TokenKind::Access, NOW).is_err());
    let genuine = signed(&key, genuine_header(&key), &access_claims(NOW, NOW + 3600));
    let (message, signature) = genuine.rsplit_once('.').unwrap();
    let four_parts = format!("{message}.e30.{signature}");
    assert!(signer.verify(&four_parts, TokenKind::Access, NOW).is_err());
}

#[test]
fn jtis_begin_with_their_second_and_sort_in_the_order_they_were_issued() -> Result<(), Error> {
    let (signer, _) = signer_with(settings())?;
    let issue = |now| signer.issue(TokenKind::Access, 1, now, i64::MAX);
    let (first, twin, next) = (issue(NOW)?, issue(NOW)?, issue(NOW + 1)?);
    assert_eq!(&first.jti[..10], format!("{NOW:010x}"));
    assert_eq!(&next.jti[..10], format!("{:010x}", NOW + 1));
    assert_ne!(
        first.jti, twin.jti,
        "the random part tells one second's jtis apart"
    );
    assert!(first.jti.max(twin.jti) < next.jti);
    // A clock before 1970 or past 40 bits still gives a 32-character jti.
    for now in [-5, i64::MAX] {
        assert_eq!(issue(now)?.jti.len(), 32);
    }
    Ok(())
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_text_as_a_token_is_refused_without_panicking(garbage in any::<String>()) {
            let (signer, _) = signer_with(settings()).unwrap();
            prop_assert!(signer.verify(&garbage, TokenKind::Access, NOW).is_err());
        }

        #[test]
        fn changing_any_byte_of_a_token_breaks_it(at in any::<prop::sample::Index>(), with in 0x21u8..0x7f) {
            let (signer, _) = signer_with(settings()).unwrap();
            let token = signer.issue(TokenKind::Access, 7, NOW, i64::MAX).unwrap().token;
            let mut bytes = token.clone().into_bytes();
            let at = at.index(bytes.len());
            prop_assume!(bytes[at] != with);
            bytes[at] = with;
            let tampered = String::from_utf8(bytes).unwrap();
            // The last base64url character of the signature can carry unused bits; a change
            // there may decode to the same signature, which is not a forgery.
            let same_signature = at == token.len() - 1;
            prop_assume!(!same_signature);
            prop_assert!(signer.verify(&tampered, TokenKind::Access, NOW).is_err(), "{}", tampered);
        }
    }
}

#[test]
fn es256_tokens_verify_and_say_so_in_their_header() -> Result<(), Error> {
    let key = KeyPair::generate(KeyAlgorithm::Es256, NOW)?;
    let signer = TokenSigner::new(settings(), &key, &[])?;
    let issued = signer.issue(TokenKind::Access, 7, NOW, i64::MAX)?;
    let header = jsonwebtoken::decode_header(&issued.token).map_err(|_| Error::InvalidToken)?;
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
    assert_eq!(issued.kid, key.kid);
    assert_eq!(
        signer
            .verify(&issued.token, TokenKind::Access, NOW)?
            .user_id,
        7
    );
    assert_eq!(signer.public_keys()[0].algorithm, KeyAlgorithm::Es256);
    Ok(())
}

#[test]
fn each_kid_accepts_only_its_own_algorithm() -> Result<(), Error> {
    let ec = KeyPair::generate(KeyAlgorithm::Es256, NOW)?;
    let ed = KeyPair::generate(KeyAlgorithm::EdDsa, NOW)?;
    let verifying = [VerificationKey {
        kid: ed.kid.clone(),
        algorithm: KeyAlgorithm::EdDsa,
        public_key: ed.public_key.clone(),
        rotated_at: Some(NOW),
    }];
    let signer = TokenSigner::new(settings(), &ec, &verifying)?;
    // Both keys' own tokens verify...
    let mut ed_header = Header::new(Algorithm::EdDSA);
    ed_header.kid = Some(ed.kid.clone());
    let by_ed = signed(&ed, ed_header, &access_claims(NOW, NOW + 3600));
    assert!(signer.verify(&by_ed, TokenKind::Access, NOW).is_ok());
    // ...but an EdDSA token under the P-256 key's kid, or HS256 with its public key as the
    // secret, does not.
    let mut confused = Header::new(Algorithm::EdDSA);
    confused.kid = Some(ec.kid.clone());
    let wrong_alg = signed(&ed, confused, &access_claims(NOW, NOW + 3600));
    assert!(signer.verify(&wrong_alg, TokenKind::Access, NOW).is_err());
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(ec.kid.clone());
    let hmac = jsonwebtoken::encode(
        &hs,
        &access_claims(NOW, NOW + 3600),
        &EncodingKey::from_secret(&ec.public_key),
    )
    .unwrap();
    assert!(signer.verify(&hmac, TokenKind::Access, NOW).is_err());
    Ok(())
}

#[test]
fn hs256_signs_with_the_shared_secret_and_publishes_nothing() -> Result<(), Error> {
    let secret = JwtSecret::new(b"a shared secret of at least thirty-two bytes".to_vec()).unwrap();
    let signer = TokenSigner::with_secret(settings(), &secret);
    assert!(signer.public_keys().is_empty());
    let issued = signer.issue(TokenKind::Access, 3, NOW, i64::MAX)?;
    let header = jsonwebtoken::decode_header(&issued.token).map_err(|_| Error::InvalidToken)?;
    assert_eq!(header.alg, Algorithm::HS256);
    assert!(
        header
            .kid
            .as_deref()
            .is_some_and(|kid| kid.starts_with("hs256-"))
    );
    assert!(!issued.token.contains("thirty-two"));
    assert_eq!(
        signer
            .verify(&issued.token, TokenKind::Access, NOW)?
            .user_id,
        3
    );

    let other =
        JwtSecret::new(b"another secret, also of thirty-two bytes or more".to_vec()).unwrap();
    let forged = TokenSigner::with_secret(settings(), &other)
        .issue(TokenKind::Access, 3, NOW, i64::MAX)?
        .token;
    assert!(signer.verify(&forged, TokenKind::Access, NOW).is_err());
    assert!(JwtSecret::new(b"too short".to_vec()).is_err());
    assert_eq!(format!("{secret:?}"), "JwtSecret(<redacted>)");
    Ok(())
}

/// A token this signer issued is remembered at once, with exactly the claims a check of
/// its signature decodes; one signed by another key set is not.
#[test]
fn an_issued_token_is_remembered_with_the_claims_its_signature_covers() -> Result<(), Error> {
    let (signer, _) = signer_with(settings())?;
    assert_eq!(signer.verified.len(), 0);
    let issued = signer.issue(TokenKind::Refresh, 9, NOW, NOW + 600)?;
    assert_eq!(signer.verified.len(), 1);
    let remembered = signer
        .verified
        .get(issued.token.as_str())
        .ok_or(Error::InvalidToken)?;
    let checked = signer.verify_signature(&issued.token)?;
    let as_json = |claims: &Claims| serde_json::to_value(claims).map_err(|_| Error::InvalidToken);
    assert_eq!(as_json(&remembered)?, as_json(&checked)?);
    assert_eq!(remembered.exp, NOW + 600);
    assert_eq!(remembered.jti, issued.jti);
    // Its claims are still checked on every use: the wrong kind, then expiry.
    assert!(matches!(
        signer.verify(&issued.token, TokenKind::Access, NOW),
        Err(Error::WrongTokenType)
    ));
    assert!(matches!(
        signer.verify(&issued.token, TokenKind::Refresh, NOW + 600),
        Err(Error::InvalidToken)
    ));
    let (other, _) = signer_with(settings())?;
    assert!(
        other
            .verify(&issued.token, TokenKind::Refresh, NOW)
            .is_err()
    );
    assert_eq!(other.verified.len(), 0);
    Ok(())
}

/// A token whose signature was checked once is remembered, but only its signature: every
/// claim check runs again each time, and any other bytes are checked from scratch.
#[test]
fn a_remembered_signature_skips_no_other_check() -> Result<(), Error> {
    let (signer, _) = signer_with(settings())?;
    let issued = signer.issue(TokenKind::Access, 7, NOW, i64::MAX)?;
    // Issued here, so remembered already; forgotten, it is checked and remembered again.
    assert_eq!(signer.verified.len(), 1);
    signer.verified.clear();
    assert_eq!(
        signer
            .verify(&issued.token, TokenKind::Access, NOW)?
            .user_id,
        7
    );
    assert_eq!(signer.verified.len(), 1);
    // Remembered now; still refused at the second it expires, and as the other kind.
    assert_eq!(
        signer
            .verify(&issued.token, TokenKind::Access, NOW + 3599)?
            .user_id,
        7
    );
    assert!(matches!(
        signer.verify(&issued.token, TokenKind::Access, NOW + 3600),
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        signer.verify(&issued.token, TokenKind::Refresh, NOW),
        Err(Error::WrongTokenType)
    ));
    // The genuine signature over other claims: a different token, checked and refused.
    let (header, rest) = issued.token.split_once('.').ok_or(Error::InvalidToken)?;
    let (_, signature) = rest.split_once('.').ok_or(Error::InvalidToken)?;
    let mut claims = signer.verify(&issued.token, TokenKind::Access, NOW)?;
    claims.user_id = 1;
    let payload =
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).map_err(|_| Error::InvalidToken)?);
    let forged = format!("{header}.{payload}.{signature}");
    assert!(matches!(
        signer.verify(&forged, TokenKind::Access, NOW),
        Err(Error::InvalidToken)
    ));
    assert_eq!(
        signer.verified.len(),
        1,
        "a refused token is not remembered"
    );
    // Another signer (the keys reloaded) remembers nothing, and does not know the key.
    let (other, _) = signer_with(settings())?;
    assert_eq!(other.verified.len(), 0);
    assert!(matches!(
        other.verify(&issued.token, TokenKind::Access, NOW),
        Err(Error::InvalidToken)
    ));
    Ok(())
}
