use super::*;

fn username(raw: &str) -> Result<String, Vec<String>> {
    Username::parse(Input::Text(raw)).map(|u| u.as_str().to_string())
}

fn email(raw: &str) -> Result<String, Vec<String>> {
    Email::parse(Input::Text(raw)).map(|e| e.as_str().to_string())
}

#[test]
fn missing_null_and_wrong_type_get_drf_messages() {
    assert_eq!(
        Username::parse(Input::Missing),
        Err(vec![REQUIRED.to_string()])
    );
    assert_eq!(Username::parse(Input::Null), Err(vec![NULL.to_string()]));
    assert_eq!(
        Email::parse(Input::NotAString),
        Err(vec![NOT_A_STRING.to_string()])
    );
    assert!(matches!(Password::parse(Input::Missing), Err(e) if e == [REQUIRED]));
}

#[test]
fn usernames_are_trimmed_and_blank_is_rejected() {
    assert_eq!(username("  alice  "), Ok("alice".into()));
    assert_eq!(username("   "), Err(vec![BLANK.to_string()]));
    assert_eq!(username(""), Err(vec![BLANK.to_string()]));
}

#[test]
fn usernames_allow_unicode_letters_digits_and_django_punctuation() {
    for ok in ["alice", "a.b@c+d-e_f", "Zoë", "用户1", "x"] {
        assert_eq!(username(ok), Ok(ok.to_string()), "{ok}");
    }
    for bad in ["al ice", "alice!", "a/b", "tab\tin", "emoji😀"] {
        assert_eq!(
            username(bad),
            Err(vec![INVALID_USERNAME.to_string()]),
            "{bad:?}"
        );
    }
}

#[test]
fn usernames_count_characters_not_bytes() {
    assert!(username(&"é".repeat(150)).is_ok());
    assert_eq!(
        username(&"é".repeat(151)),
        Err(vec![
            "Ensure this field has no more than 150 characters.".to_string()
        ])
    );
    assert_eq!(
        username(&"!".repeat(151)),
        Err(vec![
            INVALID_USERNAME.to_string(),
            "Ensure this field has no more than 150 characters.".to_string()
        ])
    );
}

#[test]
fn username_key_ignores_case() {
    let upper = Username::parse(Input::Text("ALICE")).map(|u| u.key());
    assert_eq!(upper, Ok("alice".to_string()));
    assert_eq!(
        login_username(Input::Text(" AliCe ")),
        Ok("alice".to_string())
    );
}

#[test]
fn look_alike_usernames_share_one_key() {
    for (a, b) in [
        ("foo", "ｆｏｏ"),
        ("admin", "𝐚𝐝𝐦𝐢𝐧"),
        ("finance", "ﬁnance"),
        ("strasse", "straße"),
        ("οδοσ", "ΟΔΟΣ"),
        ("οδος", "ΟΔΟΣ"),
        ("FOO", "ｆｏｏ"),
    ] {
        let key = |raw| Username::parse(Input::Text(raw)).map(|u| u.key());
        assert!(key(a).is_ok(), "{a}");
        assert_eq!(key(a), key(b), "{a} / {b}");
        assert_eq!(login_username(Input::Text(b)), key(a), "{b}");
    }
    assert_eq!(username_key("Straße"), "strasse");
}

#[test]
fn usernames_are_validated_in_nfkc_form_and_stored_so() {
    assert_eq!(username("ｆｏｏ"), Ok("foo".into()));
    assert_eq!(username("ﬁnance"), Ok("finance".into()));
    // SMALL COMMERCIAL AT is not a username character, but its NFKC form `@` is.
    assert_eq!(username("a﹫b"), Ok("a@b".into()));
    // VULGAR FRACTION ONE HALF is numeric, but its NFKC form holds U+2044 FRACTION SLASH.
    assert_eq!(username("½"), Err(vec![INVALID_USERNAME.to_string()]));
    // The length that counts is the normalised one: one ligature is two letters.
    assert!(username(&"ﬁ".repeat(75)).is_ok());
    assert_eq!(
        username(&"ﬁ".repeat(76)),
        Err(vec![
            "Ensure this field has no more than 150 characters.".to_string()
        ])
    );
}

#[test]
fn email_keys_use_the_ascii_form_of_the_domain() {
    let key = |raw| Email::parse(Input::Text(raw)).map(|e| e.key());
    assert_eq!(key("x@bücher.de"), Ok("x@xn--bcher-kva.de".to_string()));
    assert_eq!(key("x@xn--bcher-kva.de"), key("x@bücher.de"));
    assert_eq!(key("X@BÜCHER.DE"), key("x@bücher.de"));
    assert_eq!(
        key("Alice@Example.COM"),
        Ok("alice@example.com".to_string())
    );
    assert_eq!(key("x@[127.0.0.1]"), Ok("x@[127.0.0.1]".to_string()));
    // The stored address keeps the form the user gave, domain lower-cased.
    assert_eq!(email("x@BÜCHER.de"), Ok("x@bücher.de".into()));
}

#[test]
fn emails_lower_case_only_the_domain() {
    assert_eq!(email("Alice@Example.COM"), Ok("Alice@example.com".into()));
    assert_eq!(email(" bob@example.org "), Ok("bob@example.org".into()));
}

#[test]
fn emails_django_accepts() {
    for ok in [
        "a@b.co",
        "first.last+tag@sub.example.com",
        "o'hara@example.ie",
        "\"quoted@local\"@example.com",
        "x@localhost",
        "x@[127.0.0.1]",
        "x@[IPv6:::1]",
        "x@bücher.de",
        "x@example.xn--p1ai",
    ] {
        assert!(email(ok).is_ok(), "{ok}");
    }
}

#[test]
fn emails_django_rejects() {
    for bad in [
        "plain",
        "@example.com",
        "a@",
        "a@b",
        "a..b@example.com",
        ".a@example.com",
        "a.@example.com",
        "a b@example.com",
        "a@-example.com",
        "a@example-.com",
        "a@example.c",
        "a@exa_mple.com",
        "a@[999.1.1.1]",
        "\"a b\"@example.com",
        "a@bü_cher.de",
    ] {
        assert_eq!(email(bad), Err(vec![INVALID_EMAIL.to_string()]), "{bad}");
    }
}

#[test]
fn overlong_emails_report_length() {
    let long = format!("{}@example.com", "a".repeat(243));
    assert_eq!(long.chars().count(), 255);
    assert_eq!(
        email(&long),
        Err(vec![
            "Ensure this field has no more than 254 characters.".to_string()
        ])
    );
    assert!(email(&format!("{}@example.com", "a".repeat(242))).is_ok());
}

#[test]
fn optional_email_may_be_missing_or_blank_but_not_invalid() {
    assert_eq!(Email::parse_optional(Input::Missing), Ok(None));
    assert_eq!(Email::parse_optional(Input::Text("  ")), Ok(None));
    assert_eq!(
        Email::parse_optional(Input::Text("nope")),
        Err(vec![INVALID_EMAIL.to_string()])
    );
    assert_eq!(
        Email::parse_optional(Input::Null),
        Err(vec![NULL.to_string()])
    );
}

#[test]
fn passwords_are_never_trimmed_and_capped_at_128_characters() {
    let spaced = Password::parse(Input::Text("  pass word  ")).map(|p| p.expose().to_string());
    assert_eq!(spaced.ok().as_deref(), Some("  pass word  "));
    assert!(matches!(Password::parse(Input::Text("")), Err(e) if e == [BLANK]));
    assert!(Password::parse(Input::Text(&"p".repeat(128))).is_ok());
    assert!(matches!(
        Password::parse(Input::Text(&"p".repeat(129))),
        Err(e) if e == ["Ensure this field has no more than 128 characters."]
    ));
    assert!(Password::parse_for_login(Input::Text(&"p".repeat(500))).is_ok());
}

#[test]
fn password_debug_never_shows_the_secret() {
    let password = Password::parse(Input::Text("hunter2-secret")).ok();
    assert!(!format!("{password:?}").contains("hunter2"));
}

#[test]
fn null_characters_are_refused_in_every_field() {
    // A NUL is also an invalid username character: both messages, in Django's order.
    assert_eq!(
        username("nul\0byte"),
        Err(vec![
            INVALID_USERNAME.to_string(),
            NULL_CHARACTERS.to_string()
        ])
    );
    let long = format!("{}\0", "a".repeat(151));
    assert_eq!(
        username(&long),
        Err(vec![
            INVALID_USERNAME.to_string(),
            "Ensure this field has no more than 150 characters.".to_string(),
            NULL_CHARACTERS.to_string()
        ])
    );
    assert_eq!(
        email("a\0@example.com"),
        Err(vec![NULL_CHARACTERS.to_string()])
    );
    assert!(
        matches!(Password::parse(Input::Text("pass\0word-long")), Err(e) if e == [NULL_CHARACTERS])
    );
}

// Properties over any input a client can send: the parsers never panic, and what they
// accept satisfies the rules their types promise.
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Text biased towards the characters the rules care about, plus anything at all.
    fn tricky_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9@.+_ -]{0,160}",
            "[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,20}@[a-zA-Z0-9.-]{1,30}",
            "\\PC{0,200}",
            any::<String>(),
        ]
    }

    proptest! {
        #[test]
        fn accepted_usernames_keep_their_promises(raw in tricky_text()) {
            if let Ok(name) = Username::parse(Input::Text(&raw)) {
                let value = name.as_str();
                prop_assert!(!value.is_empty() && value.chars().count() <= USERNAME_MAX_CHARS);
                prop_assert!(value.chars().all(is_username_char));
                // The key is a fixed point: re-keying a key (as the upgrade of old rows
                // does) changes nothing, and a login typed as the key finds the account.
                let key = name.key();
                prop_assert_eq!(username_key(&key), key.clone());
                prop_assert_eq!(login_username(Input::Text(value)), Ok(key));
                // Parsing what was accepted gives the same value again.
                prop_assert_eq!(Username::parse(Input::Text(value)), Ok(name.clone()));
            }
        }

        #[test]
        fn accepted_emails_keep_their_promises(raw in tricky_text()) {
            if let Ok(email) = Email::parse(Input::Text(&raw)) {
                let value = email.as_str();
                let (_, domain) = value.rsplit_once('@').unwrap();
                prop_assert_eq!(domain, domain.to_lowercase());
                let key = email.key();
                prop_assert_eq!(email_key(&key), key.clone());
                prop_assert!(!value.contains('\0'));
                prop_assert!(raw.trim().chars().count() <= EMAIL_MAX_CHARS);
                prop_assert_eq!(Email::parse(Input::Text(value)), Ok(email.clone()));
            }
        }

        #[test]
        fn passwords_are_taken_exactly_as_sent(raw in "\\PC{1,128}") {
            prop_assume!(!raw.contains('\0'));
            let password = Password::parse(Input::Text(&raw)).unwrap();
            prop_assert_eq!(password.expose(), raw.as_str());
        }

        #[test]
        fn every_text_gets_an_answer_never_a_panic(raw in any::<String>()) {
            let _ = Username::parse(Input::Text(&raw));
            let _ = Email::parse_optional(Input::Text(&raw));
            let _ = Password::parse(Input::Text(&raw));
            let _ = Password::parse_for_login(Input::Text(&raw));
            let _ = login_username(Input::Text(&raw));
        }
    }
}
