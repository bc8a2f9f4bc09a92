//! The real consumer: a Django service running djangorestframework-simplejwt 5.3.1 (from
//! PyPI, `tests/django_consumer/`) verifies authd's tokens with simplejwt's
//! `JWTStatelessUserAuthentication` — ES256 through `JWK_URL` pointing at authd's JWKS, and
//! HS256 with the shared secret. An access token is let through as its user; a refresh
//! token, a tampered one or one from another deployment is refused with simplejwt's 401.
//!
//! Needs a Python with the pinned packages (`.ci/run` makes `.venv-django`); scripts/test.sh
//! runs these with `AUTHD_TEST_DJANGO_PYTHON` set.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

use serde_json::json;

use crate::helpers::{RestReply, TestApp, http, send};

const SECRET: &str = "the SIGNING_KEY the Django services share, 32+ bytes";

/// The Django service, stopped when dropped.
struct Consumer {
    child: Child,
    port: u16,
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> String {
    std::env::var("AUTHD_TEST_DJANGO_PYTHON").expect(
        "this test needs AUTHD_TEST_DJANGO_PYTHON: a python with tests/django_consumer/\
         requirements.txt installed (scripts/test.sh sets it when .venv-django exists)",
    )
}

/// Starts the Django service with `env` and waits until it listens.
fn start_consumer(env: &[(&str, &str)]) -> Consumer {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/django_consumer/consumer.py"
    );
    let mut child = Command::new(python())
        .arg(script)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the Django service");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the Django service's port");
    let port = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("the Django service did not start: {line:?}"));
    Consumer { child, port }
}

async fn whoami(consumer: &Consumer, authorization: Option<&str>) -> RestReply {
    let mut request = http().get(format!("http://127.0.0.1:{}/whoami/", consumer.port));
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    send(request).await
}

fn tampered(token: &str) -> String {
    let (rest, signature) = token.rsplit_once('.').unwrap();
    let flipped: String = signature.chars().rev().collect();
    format!("{rest}.{flipped}")
}

/// What every deployment must show: the access token in, everything else out.
async fn assert_accepts_only_access_tokens(app: &TestApp, consumer: &Consumer, other: &TestApp) {
    let login = app.signed_in("alice").await;
    let tokens = login.tokens.unwrap();
    let user_id = login.user.unwrap().id;

    let reply = whoami(consumer, Some(&format!("Bearer {}", tokens.access_token))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.json,
        json!({ "user_id": user_id, "token_type": "access" })
    );

    let refused = [
        tokens.refresh_token.clone(),
        tampered(&tokens.access_token),
        other
            .signed_in("mallory")
            .await
            .tokens
            .unwrap()
            .access_token,
    ];
    for token in refused {
        let reply = whoami(consumer, Some(&format!("Bearer {token}"))).await;
        assert_eq!(reply.status, 401, "{reply:?}");
        assert_eq!(reply.json["code"], "token_not_valid", "{reply:?}");
    }
    let anonymous = whoami(consumer, None).await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
}

#[tokio::test]
#[ignore = "needs Django: scripts/test.sh runs it with AUTHD_TEST_DJANGO_PYTHON"]
async fn simplejwt_verifies_es256_tokens_through_authds_jwks() {
    let app = TestApp::spawn_with(&["--jwt-algorithm", "es256"]).await;
    let other = TestApp::spawn_with(&["--jwt-algorithm", "es256"]).await;
    let jwk_url = app.url("/.well-known/jwks.json");
    let consumer = start_consumer(&[("JWT_ALGORITHM", "ES256"), ("JWK_URL", &jwk_url)]);
    assert_accepts_only_access_tokens(&app, &consumer, &other).await;
}

#[tokio::test]
#[ignore = "needs Django: scripts/test.sh runs it with AUTHD_TEST_DJANGO_PYTHON"]
async fn simplejwt_verifies_hs256_tokens_with_the_shared_secret() {
    let app = TestApp::spawn_with(&["--jwt-algorithm", "hs256", "--jwt-secret", SECRET]).await;
    let other_secret = "another deployment's secret, also 32+ bytes";
    let other =
        TestApp::spawn_with(&["--jwt-algorithm", "hs256", "--jwt-secret", other_secret]).await;
    let consumer = start_consumer(&[("JWT_ALGORITHM", "HS256"), ("JWT_SECRET", SECRET)]);
    assert_accepts_only_access_tokens(&app, &consumer, &other).await;
}
