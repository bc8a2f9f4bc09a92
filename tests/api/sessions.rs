//! A user's own sessions over gRPC: ListSessions shows each login with its device and
//! marks the caller's, RevokeSession ends one at once (and knows only the caller's), and
//! ChangePassword proves the current password, applies the policy and ends everything
//! else the old password let in.

use authd::pb::{
    ChangePasswordRequest, ChangePasswordResponse, ListSessionsRequest, LoginRequest,
    LoginResponse, RefreshRequest, RevokeSessionRequest, SessionInfo,
    auth_service_client::AuthServiceClient,
};
use tonic::{Code, Request, Status, transport::Endpoint};

use crate::helpers::{
    PASSWORD, TestApp, api_token, assert_unauthenticated, is_lower_hex, pairs, rows, violations,
};

fn authorized<T>(message: T, authorization: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        authorization.parse().expect("ascii metadata"),
    );
    request
}

fn bearer(login: &LoginResponse) -> String {
    format!("Bearer {}", login.tokens.as_ref().unwrap().access_token)
}

fn refresh_token(login: &LoginResponse) -> String {
    login.tokens.as_ref().unwrap().refresh_token.clone()
}

async fn list(app: &TestApp, authorization: &str) -> Result<Vec<SessionInfo>, Status> {
    let request = authorized(ListSessionsRequest {}, authorization);
    let response = app.client().await.list_sessions(request).await?;
    Ok(response.into_inner().sessions)
}

async fn revoke(app: &TestApp, authorization: &str, session_id: &str) -> Result<(), Status> {
    let message = RevokeSessionRequest {
        session_id: session_id.into(),
    };
    let request = authorized(message, authorization);
    app.client().await.revoke_session(request).await?;
    Ok(())
}

async fn change(
    app: &TestApp,
    authorization: &str,
    current: &str,
    new: &str,
) -> Result<ChangePasswordResponse, Status> {
    let message = ChangePasswordRequest {
        current_password: current.into(),
        new_password: new.into(),
    };
    let request = authorized(message, authorization);
    Ok(app
        .client()
        .await
        .change_password(request)
        .await?
        .into_inner())
}

/// Logs `username` in from a client whose `user-agent` starts with `agent`.
async fn login_from(app: &TestApp, agent: &str, username: &str) -> LoginResponse {
    let channel = Endpoint::from_shared(format!("http://{}", app.address))
        .unwrap()
        .user_agent(agent)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let request = LoginRequest {
        username: username.into(),
        password: PASSWORD.into(),
        email: String::new(),
    };
    let response = AuthServiceClient::new(channel).login(request).await;
    response.unwrap().into_inner()
}

async fn refresh(app: &TestApp, refresh_token: &str) -> Result<(), Status> {
    let request = RefreshRequest {
        refresh_token: refresh_token.into(),
    };
    app.client().await.refresh(request).await.map(|_| ())
}

#[tokio::test]
async fn each_login_is_a_session_shown_with_its_device_the_callers_marked() {
    let app = TestApp::spawn().await;
    app.signed_in("bob").await;
    app.register("alice", "alice@example.com", PASSWORD)
        .await
        .unwrap();
    let started = app.now();
    let laptop = login_from(&app, "laptop-browser/1.0", "alice").await;
    app.clock.advance(10);
    let phone = login_from(&app, "phone-app/2.3", "alice").await;
    app.clock.advance(10);
    let _tablet = login_from(&app, "tablet/9", "alice").await;

    let sessions = list(&app, &bearer(&phone)).await.unwrap();
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    let agents: Vec<&str> = sessions
        .iter()
        .map(|s| s.user_agent.split(' ').next().unwrap())
        .collect();
    assert_eq!(agents, ["tablet/9", "phone-app/2.3", "laptop-browser/1.0"]);
    let current: Vec<bool> = sessions.iter().map(|s| s.current).collect();
    assert_eq!(current, [false, true, false]);
    for (session, created) in sessions.iter().zip([started + 20, started + 10, started]) {
        assert!(is_lower_hex(&session.id, 32), "{session:?}");
        assert_eq!(session.ip, "127.0.0.1");
        assert_eq!(session.created_at.as_ref().unwrap().seconds, created);
        assert_eq!(session.last_used_at.as_ref().unwrap().seconds, created);
        assert_eq!(
            session.expires_at.as_ref().unwrap().seconds,
            created + 86_400
        );
    }
    // The public ids are not the database keys.
    let keys: Vec<(i64, String)> = rows(&app.db, "SELECT id, public_id FROM sessions").await;
    assert!(keys.iter().all(|(id, public)| *public != id.to_string()));

    // A refresh shows as the session's last use; another user's sessions never show.
    app.clock.advance(5);
    refresh(&app, &refresh_token(&laptop)).await.unwrap();
    let sessions = list(&app, &bearer(&phone)).await.unwrap();
    assert_eq!(
        sessions[2].last_used_at.as_ref().unwrap().seconds,
        app.now()
    );

    // Through an API key the list is the same, and no session is the caller's.
    let key = api_token(&app, "alice", PASSWORD).await;
    let by_key = list(&app, &format!("Token {key}")).await.unwrap();
    assert_eq!(by_key.len(), 3);
    assert!(by_key.iter().all(|s| !s.current));
}

#[tokio::test]
async fn revoking_a_session_ends_it_at_once_and_only_the_callers_can_be_named() {
    let app = TestApp::spawn().await;
    let first = app.signed_in("alice").await;
    let second = app.login("alice", PASSWORD).await.unwrap();
    let bob = app.signed_in("bob").await;
    let sessions = list(&app, &bearer(&first)).await.unwrap();
    let second_id = sessions.iter().find(|s| !s.current).unwrap().id.clone();
    let bob_id = list(&app, &bearer(&bob)).await.unwrap()[0].id.clone();

    revoke(&app, &bearer(&first), &second_id).await.unwrap();
    assert_unauthenticated(
        app.get_me(&second.tokens.as_ref().unwrap().access_token)
            .await,
    );
    assert_unauthenticated(refresh(&app, &refresh_token(&second)).await);
    assert!(
        app.get_me(&first.tokens.as_ref().unwrap().access_token)
            .await
            .is_ok()
    );
    let reasons: Vec<Option<String>> =
        crate::helpers::scalars(&app.db, "SELECT revoked_reason FROM sessions ORDER BY id").await;
    assert_eq!(reasons, [None, Some("revoked_by_user".to_string()), None]);

    // Another user's session, an ended one and an unknown one: the same NOT_FOUND.
    for id in [
        bob_id.as_str(),
        second_id.as_str(),
        "0123456789abcdef0123456789abcdef",
        "1",
    ] {
        let status = revoke(&app, &bearer(&first), id).await.unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{id}: {status:?}");
        assert_eq!(status.message(), "not found");
    }
    assert!(
        app.get_me(&bob.tokens.as_ref().unwrap().access_token)
            .await
            .is_ok()
    );

    let status = revoke(&app, &bearer(&first), "").await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&status),
        pairs(&[("session_id", "This field is required.")])
    );

    // Ending one's own session is allowed, and is the end of it.
    let own = list(&app, &bearer(&first)).await.unwrap()[0].id.clone();
    revoke(&app, &bearer(&first), &own).await.unwrap();
    assert_unauthenticated(list(&app, &bearer(&first)).await);
}

#[tokio::test]
async fn every_call_about_ones_sessions_needs_credentials() {
    let app = TestApp::spawn().await;
    app.signed_in("alice").await;
    for authorization in ["", "Bearer not-a-token", "Token 0000"] {
        let auth = if authorization.is_empty() {
            "Basic x"
        } else {
            authorization
        };
        assert_unauthenticated(list(&app, auth).await);
        assert_unauthenticated(revoke(&app, auth, "abc").await);
        assert_unauthenticated(change(&app, auth, PASSWORD, "a-new-long-secret").await);
    }
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_and_key_but_the_callers() {
    let app = TestApp::spawn().await;
    let caller = app.signed_in("alice").await;
    let other = app.login("alice", PASSWORD).await.unwrap();
    let key = api_token(&app, "alice", PASSWORD).await;
    let bob = app.signed_in("bob").await;

    let changed = change(&app, &bearer(&caller), PASSWORD, "a-new-long-secret")
        .await
        .unwrap();
    assert_eq!((changed.sessions_ended, changed.api_keys_revoked), (1, 1));

    assert!(
        app.get_me(&caller.tokens.as_ref().unwrap().access_token)
            .await
            .is_ok()
    );
    refresh(&app, &refresh_token(&caller)).await.unwrap();
    assert_unauthenticated(
        app.get_me(&other.tokens.as_ref().unwrap().access_token)
            .await,
    );
    assert_unauthenticated(app.get_me_with(&format!("Token {key}")).await);
    assert!(
        app.get_me(&bob.tokens.as_ref().unwrap().access_token)
            .await
            .is_ok()
    );

    assert_unauthenticated(app.login("alice", PASSWORD).await);
    app.login("alice", "a-new-long-secret").await.unwrap();
    let reasons: Vec<String> = crate::helpers::scalars(
        &app.db,
        "SELECT revoked_reason FROM sessions WHERE revoked_at IS NOT NULL",
    )
    .await;
    assert_eq!(reasons, ["password_change"]);
}

#[tokio::test]
async fn a_password_changed_with_an_api_key_keeps_that_key_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let session = app.signed_in("alice").await;
    let kept = api_token(&app, "alice", PASSWORD).await;
    let ended = api_token(&app, "alice", PASSWORD).await;
    let changed = change(
        &app,
        &format!("Token {kept}"),
        PASSWORD,
        "a-new-long-secret",
    )
    .await
    .unwrap();
    assert_eq!((changed.sessions_ended, changed.api_keys_revoked), (1, 1));
    assert!(app.get_me_with(&format!("Token {kept}")).await.is_ok());
    assert_unauthenticated(app.get_me_with(&format!("Token {ended}")).await);
    assert_unauthenticated(
        app.get_me(&session.tokens.as_ref().unwrap().access_token)
            .await,
    );
}

#[tokio::test]
async fn a_new_password_must_pass_the_policy_and_a_wrong_current_one_is_named() {
    let app = TestApp::spawn().await;
    let caller = app.signed_in("alice").await;
    let auth = bearer(&caller);

    let status = change(&app, &auth, PASSWORD, "12345678").await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&status),
        pairs(&[
            ("new_password", "This password is too common."),
            ("new_password", "This password is entirely numeric."),
        ])
    );
    let status = change(&app, &auth, PASSWORD, "alice123x")
        .await
        .unwrap_err();
    assert_eq!(
        violations(&status),
        pairs(&[(
            "new_password",
            "The password is too similar to the username."
        )])
    );
    let status = change(&app, &auth, "", "").await.unwrap_err();
    assert_eq!(
        violations(&status),
        pairs(&[
            ("current_password", "This field is required."),
            ("new_password", "This field is required."),
        ])
    );
    let status = change(&app, &auth, "wrong-password", "a-new-long-secret")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&status),
        pairs(&[(
            "current_password",
            "Your old password was entered incorrectly. Please enter it again."
        )])
    );
    // Nothing changed: the old password still logs in, the session is live.
    app.login("alice", PASSWORD).await.unwrap();
    assert!(
        app.get_me(&caller.tokens.as_ref().unwrap().access_token)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn wrong_current_passwords_count_toward_the_accounts_throttle() {
    let app = TestApp::spawn().await;
    let caller = app.signed_in("alice").await;
    for _ in 0..5 {
        let status = change(&app, &bearer(&caller), "guess", "a-new-long-secret")
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
    }
    // A stolen access token cannot be used to guess on: the account now waits, and so
    // does a login with the right password.
    let status = change(&app, &bearer(&caller), PASSWORD, "a-new-long-secret")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let status = app.login("alice", PASSWORD).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
}
