//! The REST twins of the session and password calls, in the Django ecosystem's shapes:
//! `GET /auth/sessions/`, `DELETE /auth/sessions/<id>/` and dj-rest-auth's
//! `POST /auth/password/change/` with Django's `PasswordChangeForm` messages.

use serde_json::json;

use crate::helpers::{
    PASSWORD, REQUIRED, RestReply, TestApp, api_create, api_token, auth_login, get_with_auth, http,
    is_lower_hex, is_utc_timestamp, send,
};

async fn delete_session(app: &TestApp, id: &str, authorization: &str) -> RestReply {
    let request = http()
        .delete(app.url(&format!("/auth/sessions/{id}/")))
        .header("authorization", authorization);
    send(request).await
}

async fn change_password(app: &TestApp, authorization: &str, body: serde_json::Value) -> RestReply {
    let request = http()
        .post(app.url("/auth/password/change/"))
        .header("authorization", authorization)
        .json(&body);
    send(request).await
}

fn bearer(login: &serde_json::Value) -> String {
    format!("Bearer {}", login["access"].as_str().unwrap())
}

#[tokio::test]
async fn sessions_list_as_json_with_the_callers_marked() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    let first = auth_login(&app, "alice", PASSWORD).await;
    app.clock.advance(1);
    let second = auth_login(&app, "alice", PASSWORD).await;

    let reply = get_with_auth(&app, "/auth/sessions/", Some(&bearer(&first))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let sessions = reply.json.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    for session in sessions {
        let keys: Vec<&str> = session
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "created_at",
                "expires_at",
                "last_used_at",
                "current",
                "user_agent",
                "ip"
            ]
        );
        assert!(is_lower_hex(session["id"].as_str().unwrap(), 32));
        for time in ["created_at", "expires_at", "last_used_at"] {
            assert!(
                is_utc_timestamp(session[time].as_str().unwrap()),
                "{session}"
            );
        }
        assert_eq!(session["ip"], "127.0.0.1");
    }
    assert_eq!(sessions[0]["current"], false);
    assert_eq!(sessions[1]["current"], true);
    assert_eq!(reply.header("cache-control"), None);

    // The same list through a DRF key, and with no credentials simplejwt's 401.
    let key = api_token(&app, "alice", PASSWORD).await;
    let by_key = get_with_auth(&app, "/auth/sessions/", Some(&format!("Token {key}"))).await;
    assert_eq!(by_key.json.as_array().unwrap().len(), 2);
    let anonymous = get_with_auth(&app, "/auth/sessions/", None).await;
    anonymous.assert(
        401,
        json!({ "detail": "Authentication credentials were not provided." }),
    );
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Bearer realm=\"api\"")
    );
    let _ = second;
}

#[tokio::test]
async fn a_session_is_deleted_with_204_and_an_id_not_the_callers_is_404() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    api_create(&app, "bob").await;
    let alice = auth_login(&app, "alice", PASSWORD).await;
    let other = auth_login(&app, "alice", PASSWORD).await;
    let bob = auth_login(&app, "bob", PASSWORD).await;
    let listed = get_with_auth(&app, "/auth/sessions/", Some(&bearer(&other))).await;
    let other_id = listed.json[0]["id"].as_str().unwrap().to_string();
    assert_eq!(listed.json[0]["current"], true);
    let bob_id = get_with_auth(&app, "/auth/sessions/", Some(&bearer(&bob)))
        .await
        .json[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let reply = delete_session(&app, &other_id, &bearer(&alice)).await;
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(reply.text, "");
    let me = get_with_auth(&app, "/auth/me/", Some(&bearer(&other))).await;
    assert_eq!(me.status, 401);
    let refreshed = send(
        http()
            .post(app.url("/auth/token/refresh/"))
            .json(&json!({ "refresh": other["refresh"] })),
    )
    .await;
    assert_eq!(refreshed.status, 401);

    for id in [other_id.as_str(), bob_id.as_str(), "nope", "%FF"] {
        let reply = delete_session(&app, id, &bearer(&alice)).await;
        reply.assert(404, json!({ "detail": "Not found." }));
    }
    assert_eq!(
        get_with_auth(&app, "/auth/me/", Some(&bearer(&bob)))
            .await
            .status,
        200
    );
    let unauthenticated = send(http().delete(app.url(&format!("/auth/sessions/{bob_id}/")))).await;
    assert_eq!(unauthenticated.status, 401);
    let without_slash = send(http().delete(app.url(&format!("/auth/sessions/{bob_id}")))).await;
    assert_eq!(without_slash.status, 301);
    assert_eq!(
        without_slash.header("location"),
        Some(format!("/auth/sessions/{bob_id}/").as_str())
    );
    // Credentials come before the method, as in DRF: 401 without, 405 with.
    let anonymous = get_with_auth(&app, &format!("/auth/sessions/{bob_id}/"), None).await;
    assert_eq!(anonymous.status, 401);
    let wrong_method = get_with_auth(
        &app,
        &format!("/auth/sessions/{bob_id}/"),
        Some(&bearer(&alice)),
    )
    .await;
    assert_eq!(wrong_method.status, 405);
}

#[tokio::test]
async fn password_change_answers_as_dj_rest_auth_does() {
    let app = TestApp::spawn().await;
    api_create(&app, "alice").await;
    let caller = auth_login(&app, "alice", PASSWORD).await;
    let other = auth_login(&app, "alice", PASSWORD).await;
    let auth = bearer(&caller);

    change_password(&app, &auth, json!({})).await.assert(
        400,
        json!({
            "old_password": [REQUIRED], "new_password1": [REQUIRED], "new_password2": [REQUIRED],
        }),
    );
    let differ = json!({
        "old_password": PASSWORD, "new_password1": "a-new-long-secret",
        "new_password2": "another-long-secret",
    });
    change_password(&app, &auth, differ).await.assert(
        400,
        json!({ "new_password2": ["The two password fields didn\u{2019}t match."] }),
    );
    let weak = json!({
        "old_password": PASSWORD, "new_password1": "1234567", "new_password2": "1234567",
    });
    change_password(&app, &auth, weak).await.assert(
        400,
        json!({ "new_password2": [
            "This password is too short. It must contain at least 8 characters.",
            "This password is too common.",
            "This password is entirely numeric.",
        ]}),
    );
    let wrong = json!({
        "old_password": "not-my-password", "new_password1": "a-new-long-secret",
        "new_password2": "a-new-long-secret",
    });
    change_password(&app, &auth, wrong).await.assert(
        400,
        json!({ "old_password": [
            "Your old password was entered incorrectly. Please enter it again."
        ]}),
    );
    let anonymous = send(
        http()
            .post(app.url("/auth/password/change/"))
            .json(&json!({})),
    )
    .await;
    anonymous.assert(
        401,
        json!({ "detail": "Authentication credentials were not provided." }),
    );

    let good = json!({
        "old_password": PASSWORD, "new_password1": "a-new-long-secret",
        "new_password2": "a-new-long-secret",
    });
    change_password(&app, &auth, good)
        .await
        .assert(200, json!({ "detail": "New password has been saved." }));
    assert_eq!(
        get_with_auth(&app, "/auth/me/", Some(&auth)).await.status,
        200
    );
    assert_eq!(
        get_with_auth(&app, "/auth/me/", Some(&bearer(&other)))
            .await
            .status,
        401
    );
    auth_login(&app, "alice", "a-new-long-secret").await;

    // A form body works as well as JSON, as with every DRF view.
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("old_password", "a-new-long-secret"),
            ("new_password1", "third-long-secret"),
            ("new_password2", "third-long-secret"),
        ])
        .finish();
    let reply = send(
        http()
            .post(app.url("/auth/password/change/"))
            .header("authorization", &auth)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form),
    )
    .await;
    reply.assert(200, json!({ "detail": "New password has been saved." }));
}
