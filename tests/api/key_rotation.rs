//! Signing keys that rotate without downtime: `authd keys rotate` from the shell, every
//! running node signing with the new key within seconds (at its next check, or at once when
//! shown a token of a key it does not know) while tokens of the old key keep working; the
//! JWKS publishing both until the old one's tokens have expired; `authd keys retire`
//! ending a leaked key's tokens on every node at the next request.

use authd::{clock::ManualClock, pb::auth_service_client::AuthServiceClient};
use tonic::transport::Channel;

use crate::{
    helpers::{
        PASSWORD, TestApp, assert_unauthenticated, authd, postgres_database, require_postgres,
    },
    throttling_nodes::start_node,
};

/// The seconds between a node's checks of its keys (`auth::keys::KEY_CHECK_INTERVAL`).
const KEY_CHECK: i64 = 5;

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn published(app_url: &str) -> Vec<String> {
    let reply = crate::helpers::send(
        crate::helpers::http().get(format!("{app_url}/.well-known/jwks.json")),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_string())
        .collect()
}

async fn get_me(
    client: &mut AuthServiceClient<Channel>,
    access: &str,
) -> Result<(), tonic::Status> {
    let mut request = tonic::Request::new(authd::pb::GetMeRequest {});
    let bearer = format!("Bearer {access}");
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().unwrap());
    client.get_me(request).await.map(|_| ())
}

async fn login(client: &mut AuthServiceClient<Channel>) -> String {
    let request = authd::pb::LoginRequest {
        username: "alice".into(),
        password: PASSWORD.into(),
        email: String::new(),
    };
    let response = client.login(request).await.unwrap().into_inner();
    response.tokens.unwrap().access_token
}

/// `keys rotate` on `url`: the new kid it printed.
async fn rotate(url: &str) -> String {
    let ran = authd(&["keys", "rotate", "--database-url", url], "").await;
    let printed = ran.ok();
    let kid = printed
        .strip_prefix("rotated: new signing key ")
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("{printed:?}"));
    kid.to_string()
}

#[tokio::test]
async fn a_rotation_reaches_a_running_node_and_old_tokens_keep_working() {
    let app = TestApp::spawn().await;
    let url = app.database_url().to_string();
    let mut client = app.client().await;
    let before = app.signed_in("alice").await.tokens.unwrap().access_token;
    let old_kid = kid_of(&before);

    let new_kid = rotate(&url).await;
    assert_ne!(new_kid, old_kid);
    // Until its next check the node signs with what it has; then with the new key.
    assert_eq!(kid_of(&login(&mut client).await), old_kid);
    app.clock.advance(KEY_CHECK);
    let after = login(&mut client).await;
    assert_eq!(kid_of(&after), new_kid);
    assert!(
        get_me(&mut client, &before).await.is_ok(),
        "the old key still verifies"
    );
    assert!(get_me(&mut client, &after).await.is_ok());
    assert_eq!(
        published(&app.url("")).await,
        [new_kid.clone(), old_kid.clone()]
    );

    let listed = authd(
        &["keys", "list", "--output", "json", "--database-url", &url],
        "",
    )
    .await;
    let listed: serde_json::Value = serde_json::from_str(listed.ok()).unwrap();
    let states: Vec<(&str, &str, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|key| {
            (
                key["kid"].as_str().unwrap(),
                key["state"].as_str().unwrap(),
                key["published"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (new_kid.as_str(), "active", true),
            (old_kid.as_str(), "rotated", true)
        ]
    );
    // The rotated key's private half is gone: it can never sign again.
    let private: Vec<Vec<u8>> = crate::helpers::scalars(
        &app.db,
        "SELECT private_key FROM signing_keys WHERE slot IS NULL",
    )
    .await;
    assert_eq!(private, [Vec::<u8>::new()]);

    // Once every token the old key signed has expired (refresh lifetime, a day, plus
    // slack), it leaves the JWKS.
    app.clock.advance(86_400 + 60 + 2 * KEY_CHECK);
    assert_eq!(published(&app.url("")).await, [new_kid]);
}

#[tokio::test]
async fn a_node_shown_a_token_of_a_key_it_does_not_know_reloads_at_once() {
    let first = TestApp::spawn().await;
    let url = first.database_url().to_string();
    first.signed_in("alice").await;
    let new_kid = rotate(&url).await;
    // A node started after the rotation signs with the new key; the first node has not
    // checked yet, and accepts its token anyway.
    let second = TestApp::spawn_on(&url, &[]).await;
    let token = login(&mut second.client().await).await;
    assert_eq!(kid_of(&token), new_kid);
    assert!(first.get_me(&token).await.is_ok());
    // And a forged kid does not make it reload more than once a second: still refused.
    assert_unauthenticated(
        first
            .get_me("eyJhbGciOiJFZERTQSIsImtpZCI6Im5vcGUifQ.e30.AA")
            .await,
    );
}

#[tokio::test]
async fn retiring_a_key_ends_its_tokens_at_once_and_the_active_key_cannot_be_retired() {
    let app = TestApp::spawn().await;
    let url = app.database_url().to_string();
    let old = app.signed_in("alice").await.tokens.unwrap();
    let old_kid = kid_of(&old.access_token);

    let refused = authd(&["keys", "retire", &old_kid, "--database-url", &url], "").await;
    assert!(
        refused.failed().contains("run `authd keys rotate` first"),
        "{refused:?}"
    );
    assert!(app.get_me(&old.access_token).await.is_ok());

    let new_kid = rotate(&url).await;
    app.clock.advance(KEY_CHECK);
    let new = app.login("alice", PASSWORD).await.unwrap().tokens.unwrap();
    assert_eq!(kid_of(&new.access_token), new_kid);

    let retired = authd(&["keys", "retire", &old_kid, "--database-url", &url], "").await;
    assert_eq!(
        retired.ok(),
        format!("retired {old_kid}: the tokens it signed are refused from now on\n")
    );
    // At the next request, with no wait: access and refresh tokens of the old key are dead.
    assert_unauthenticated(app.get_me(&old.access_token).await);
    let refresh = authd::pb::RefreshRequest {
        refresh_token: old.refresh_token.clone(),
    };
    assert_unauthenticated(app.client().await.refresh(refresh).await);
    assert!(app.get_me(&new.access_token).await.is_ok());
    let again = authd(&["keys", "retire", &old_kid, "--database-url", &url], "").await;
    assert_eq!(again.ok(), format!("{old_kid} was already retired\n"));
    let unknown = authd(&["keys", "retire", "nope", "--database-url", &url], "").await;
    assert!(unknown.failed().contains("no signing key \"nope\""));
    app.clock.advance(KEY_CHECK);
    assert_eq!(published(&app.url("")).await, [new_kid]);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it in its PostgreSQL pass"]
async fn three_nodes_on_postgres_rotate_and_retire_together() {
    require_postgres();
    let url = postgres_database().await;
    let clock = ManualClock::starting_now();
    let nodes = [
        start_node(&url, &clock).await,
        start_node(&url, &clock).await,
        start_node(&url, &clock).await,
    ];
    let mut clients = Vec::new();
    for (address, _) in &nodes {
        clients.push(
            AuthServiceClient::connect(format!("http://{address}"))
                .await
                .unwrap(),
        );
    }
    let register = authd::pb::RegisterRequest {
        username: "alice".into(),
        email: "alice@example.com".into(),
        password: PASSWORD.into(),
    };
    clients[0].register(register).await.unwrap();
    let before = login(&mut clients[0]).await;
    let old_kid = kid_of(&before);

    let new_kid = rotate(&url).await;
    clock.advance(KEY_CHECK);
    for client in &mut clients {
        let token = login(client).await;
        assert_eq!(kid_of(&token), new_kid, "every node signs with the new key");
        assert!(
            get_me(client, &before).await.is_ok(),
            "the old token works everywhere"
        );
    }
    for (address, _) in &nodes {
        assert_eq!(
            published(&format!("http://{address}")).await,
            [new_kid.clone(), old_kid.clone()]
        );
    }
    authd(&["keys", "retire", &old_kid, "--database-url", &url], "")
        .await
        .ok();
    for client in &mut clients {
        assert_unauthenticated(get_me(client, &before).await);
    }
}

#[tokio::test]
async fn sessions_are_listed_and_ended_from_the_shell() {
    let app = TestApp::spawn().await;
    let url = app.database_url().to_string();
    let first = app.signed_in("alice").await.tokens.unwrap();
    let second = app.login("alice", PASSWORD).await.unwrap().tokens.unwrap();
    let bob = app.signed_in("bob").await.tokens.unwrap();

    let listed = authd(
        &[
            "sessions",
            "list",
            "--user",
            "ALICE",
            "--output",
            "json",
            "--database-url",
            &url,
        ],
        "",
    )
    .await;
    let listed: serde_json::Value = serde_json::from_str(listed.ok()).unwrap();
    let ids: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(listed[0]["ip"], "127.0.0.1");

    // The newest (the second login) by id: it stops working on the running server at once.
    let one = authd(
        &[
            "sessions",
            "revoke",
            "--session",
            &ids[0],
            "--database-url",
            &url,
        ],
        "",
    )
    .await;
    assert_eq!(one.ok(), format!("ended session {}\n", ids[0]));
    assert_unauthenticated(app.get_me(&second.access_token).await);
    assert!(app.get_me(&first.access_token).await.is_ok());

    let all = authd(
        &[
            "sessions",
            "revoke",
            "--user",
            "alice",
            "--database-url",
            &url,
        ],
        "",
    )
    .await;
    assert_eq!(all.ok(), "ended 1 session of alice\n");
    assert_unauthenticated(app.get_me(&first.access_token).await);
    assert!(app.get_me(&bob.access_token).await.is_ok());

    let neither = authd(&["sessions", "revoke", "--database-url", &url], "").await;
    assert_eq!(neither.status.code(), Some(2), "{neither:?}");
    let gone = authd(
        &[
            "sessions",
            "revoke",
            "--session",
            &ids[0],
            "--database-url",
            &url,
        ],
        "",
    )
    .await;
    assert!(gone.failed().contains("no live session"));
    let nobody = authd(
        &[
            "sessions",
            "list",
            "--user",
            "nobody",
            "--database-url",
            &url,
        ],
        "",
    )
    .await;
    assert!(nobody.failed().contains("no user named \"nobody\""));
}
