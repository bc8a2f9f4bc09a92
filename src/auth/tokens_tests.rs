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
    let key = KeyPair::generate(NOW)?;
    Ok((TokenSigner::new(settings, &key, &[]), key))
}

#[test]
fn issued_tokens_verify_with_simplejwt_claims() -> Result<(), Error> {
    let (signer, key) = signer_with(settings())?;
    let issued = signer.issue(TokenKind::Access, 42, NOW)?;
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
    let access = signer.issue(TokenKind::Access, 1, NOW)?;
    let refresh = signer.issue(TokenKind::Refresh, 1, NOW)?;
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
    let access = signer.issue(TokenKind::Access, 1, NOW)?;
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
        let token = other.issue(TokenKind::Access, 1, NOW)?.token;
        assert!(signer.verify(&token, TokenKind::Access, NOW).is_err());
    }
    Ok(())
}

#[test]
fn unsigned_and_symmetric_tokens_are_refused() -> Result<(), Error> {
    let (signer, key) = signer_with(settings())?;
    let claims = signer.verify(
        &signer.issue(TokenKind::Access, 1, NOW)?.token,
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

#[test]
fn random_hex_has_the_requested_length() -> Result<(), Error> {
    assert_eq!(random_hex::<20>()?.len(), 40);
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
            let token = signer.issue(TokenKind::Access, 7, NOW).unwrap().token;
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
