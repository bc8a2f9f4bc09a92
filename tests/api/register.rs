//! Register: success, every validation message, duplicates, and the registration race.

use authd::pb::RegisterRequest;
use tonic::Code;

use crate::helpers::{PASSWORD, TestApp, count, pairs, violations};

#[tokio::test]
async fn register_returns_the_user_and_stores_only_an_argon2_hash() {
    let app = TestApp::spawn().await;
    let before = app.now();
    let user = app
        .register("  alice  ", "Alice@Example.COM", PASSWORD)
        .await
        .unwrap();

    assert!(user.id > 0);
    assert_eq!(user.username, "alice");
    assert_eq!(user.email, "Alice@example.com");
    assert_eq!(user.created_at.unwrap().seconds, before);

    let (hash, created_at): (String, i64) =
        sqlx::query_as("SELECT password_hash, created_at FROM users WHERE id = $1")
            .bind(user.id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
    assert_eq!(created_at, before);
}

#[tokio::test]
async fn empty_request_reports_every_required_field() {
    let app = TestApp::spawn().await;
    let status = app.register("", "", "").await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&status),
        pairs(&[
            ("username", "This field is required."),
            ("email", "This field is required."),
            ("password", "This field is required."),
        ])
    );
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM users").await, 0);
}

/// username, email, password, and the expected (field, message) violations.
type Case<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)]);

#[tokio::test]
async fn each_validation_rule_answers_with_djangos_message() {
    let app = TestApp::spawn().await;
    let long_name = "a".repeat(151);
    let long_email = format!("{}@example.com", "a".repeat(243));
    let long_password = "Xy7!".repeat(33);
    let cases: &[Case] = &[
        (
            "   ",
            "b@example.com",
            PASSWORD,
            &[("username", "This field may not be blank.")],
        ),
        (
            "bad name!",
            "b@example.com",
            PASSWORD,
            &[(
                "username",
                "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
            )],
        ),
        (
            &long_name,
            "b@example.com",
            PASSWORD,
            &[(
                "username",
                "Ensure this field has no more than 150 characters.",
            )],
        ),
        (
            "bob",
            "not-an-email",
            PASSWORD,
            &[("email", "Enter a valid email address.")],
        ),
        (
            "bob",
            &long_email,
            PASSWORD,
            &[(
                "email",
                "Ensure this field has no more than 254 characters.",
            )],
        ),
        (
            "bob",
            "b@example.com",
            &long_password,
            &[(
                "password",
                "Ensure this field has no more than 128 characters.",
            )],
        ),
        (
            "bob",
            "b@example.com",
            "Zq9!x",
            &[(
                "password",
                "This password is too short. It must contain at least 8 characters.",
            )],
        ),
        (
            "bob",
            "b@example.com",
            "password1",
            &[("password", "This password is too common.")],
        ),
        (
            "bob",
            "b@example.com",
            "90817263541",
            &[("password", "This password is entirely numeric.")],
        ),
        (
            "margaretha",
            "b@example.com",
            "Margaretha1",
            &[("password", "The password is too similar to the username.")],
        ),
        (
            "bob",
            "wilhelmina@example.com",
            "wilhelmina!",
            &[(
                "password",
                "The password is too similar to the email address.",
            )],
        ),
        (
            "bob",
            "b@example.com",
            "1234",
            &[
                (
                    "password",
                    "This password is too short. It must contain at least 8 characters.",
                ),
                ("password", "This password is too common."),
                ("password", "This password is entirely numeric."),
            ],
        ),
    ];
    for (username, email, password, expected) in cases {
        let status = app.register(username, email, password).await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{username:?} {email:?}"
        );
        assert_eq!(
            violations(&status),
            pairs(expected),
            "{username:?} {email:?} {password:?}"
        );
        assert!(
            status.message().contains(expected[0].1),
            "{}",
            status.message()
        );
    }
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM users").await, 0);
}

#[tokio::test]
async fn duplicate_username_is_already_exists_ignoring_case() {
    let app = TestApp::spawn().await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let status = app
        .register("ALICE", "other@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(
        violations(&status),
        pairs(&[("username", "A user with that username already exists.")])
    );
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM users").await, 1);
}

#[tokio::test]
async fn duplicate_email_is_already_exists_ignoring_case() {
    let app = TestApp::spawn().await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let status = app
        .register("bob", "ALICE@EXAMPLE.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(
        violations(&status),
        pairs(&[("email", "A user with that email already exists.")])
    );
}

#[tokio::test]
async fn both_duplicates_are_reported_together() {
    let app = TestApp::spawn().await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let status = app
        .register("Alice", "alice@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(
        violations(&status),
        pairs(&[
            ("username", "A user with that username already exists."),
            ("email", "A user with that email already exists."),
        ])
    );
}

#[tokio::test]
async fn duplicates_beside_invalid_fields_are_invalid_argument_listing_both() {
    let app = TestApp::spawn().await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let status = app
        .register("alice", "alice2@example.com", "short")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&status),
        pairs(&[
            (
                "password",
                "This password is too short. It must contain at least 8 characters."
            ),
            ("username", "A user with that username already exists."),
        ])
    );
}

#[tokio::test]
async fn simultaneous_registrations_of_one_name_yield_exactly_one_user() {
    let app = TestApp::spawn().await;
    let attempts = (0..8).map(|i| {
        let channel_future = app.client();
        async move {
            let mut client = channel_future.await;
            client
                .register(RegisterRequest {
                    username: if i % 2 == 0 {
                        "Racer".into()
                    } else {
                        "racer".into()
                    },
                    email: format!("racer{i}@example.com"),
                    password: PASSWORD.into(),
                })
                .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    for result in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(result.code(), Code::AlreadyExists, "{result:?}");
        assert_eq!(
            violations(result),
            pairs(&[("username", "A user with that username already exists.")])
        );
    }
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM users").await, 1);
}
