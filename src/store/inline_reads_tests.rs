//! The store's liveness reads answer the same whether SQLite answers them on the request's
//! own thread or, with every inline connection taken, the usual way (the coalesced reads;
//! for a refresh token's session and login's reads, the reader pool): live, expired to the
//! second, logged out, spent, disabled, held back after failures.

use crate::{
    auth::model::{
        AttemptRule, EndedSessionToken, IssuedToken, LoginClaim, NewUser, RefreshSession, Rotation,
        RotationRule, SessionOrigin, TokenKind, TokenPair,
    },
    store::{PoolSettings, Store},
};

const NOW: i64 = 1_000_000;

fn token(jti: &str, kind: TokenKind) -> IssuedToken {
    IssuedToken {
        token: String::new(),
        jti: jti.into(),
        kid: "k1".into(),
        kind,
        issued_at: NOW,
        expires_at: NOW + 300,
    }
}

/// A store on a fresh file with one user, `ann`, and one session whose access token is
/// `a1` (valid until `NOW + 300`) and refresh token `r1`.
async fn store_with_a_session(dir: &tempfile::TempDir) -> (Store, i64) {
    let url = format!("sqlite://{}", dir.path().join("reads.sqlite3").display());
    let store = Store::connect(&url, PoolSettings { max_connections: 1 })
        .await
        .expect("store");
    let user = NewUser {
        username: "ann",
        username_key: "ann",
        email: Some("ann@example.com"),
        email_key: Some("ann@example.com"),
        password_hash: "x",
        created_at: NOW - 1_000,
    };
    let crate::auth::model::Inserted::User(user) =
        store.insert_user(&user).await.expect("insert user")
    else {
        panic!("user not inserted");
    };
    let pair = TokenPair {
        access: token("a1", TokenKind::Access),
        refresh: token("r1", TokenKind::Refresh),
    };
    let origin = SessionOrigin {
        public_id: "p1",
        user_agent: None,
        ip: None,
    };
    store
        .start_session(user.id, &pair, NOW + 86_400, &origin, "ann")
        .await
        .expect("session");
    (store, user.id)
}

/// The store's inline reads: every one of a file-backed store's.
fn inline_reads(store: &Store) -> &crate::store::inline_reads::InlineReads {
    &store
        .on_disk
        .as_ref()
        .expect("a file-backed store")
        .inline_reads
}

/// Who `jti` belongs to at `now`, read inline and read with every inline connection
/// taken: (username, session public id) each way.
async fn access_both_ways(store: &Store, jti: &str, now: i64) -> [Option<(String, String)>; 2] {
    let shown = |found: Option<crate::auth::model::SessionUser>| {
        found.map(|found| (found.user.username, found.public_id))
    };
    let inline = store.session_user(jti, now).await.expect("inline read");
    let reads = inline_reads(store);
    let held = reads.hold_all();
    let coalesced = store.session_user(jti, now).await.expect("coalesced read");
    drop(held);
    [shown(inline), shown(coalesced)]
}

async fn key_both_ways(store: &Store, key_hash: &str, now: i64) -> [Option<String>; 2] {
    let inline = store
        .api_key_user(key_hash, now)
        .await
        .expect("inline read");
    let reads = inline_reads(store);
    let held = reads.hold_all();
    let coalesced = store
        .api_key_user(key_hash, now)
        .await
        .expect("coalesced read");
    drop(held);
    [inline, coalesced].map(|found| found.map(|found| found.user.username))
}

/// What refresh token `jti`'s session is, read inline and with every inline connection
/// taken.
async fn refresh_both_ways(store: &Store, jti: &str) -> [Option<RefreshSession>; 2] {
    let inline = store.refresh_session(jti).await.expect("inline read");
    let held = inline_reads(store).hold_all();
    let pooled = store.refresh_session(jti).await.expect("pooled read");
    drop(held);
    [inline, pooled]
}

#[tokio::test]
async fn a_refresh_tokens_session_reads_the_same_both_ways_through_rotation_and_logout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, user_id) = store_with_a_session(&dir).await;
    let [Some(RefreshSession::Live(session)), pooled] = refresh_both_ways(&store, "r1").await
    else {
        panic!("r1's session is live");
    };
    assert_eq!(session.ends_at, NOW + 86_400);
    let read_inline = store.inline_read(
        super::sessions::REFRESH_SESSION,
        ("r1",),
        super::rows::RefreshSessionRow::from_inline,
    );
    assert!(
        matches!(read_inline, Some(Some(ref row)) if row.session_id == session.session_id),
        "the session is read on this thread"
    );
    assert_eq!(pooled, Some(RefreshSession::Live(session)));
    assert_eq!(refresh_both_ways(&store, "a1").await, [None, None]);
    assert_eq!(refresh_both_ways(&store, "nobody").await, [None, None]);

    let next = TokenPair {
        access: token("a2", TokenKind::Access),
        refresh: token("r2", TokenKind::Refresh),
    };
    let rule = RotationRule { grace: 0 };
    let rotation = store
        .rotate_refresh("r1", session, user_id, NOW + 1, &next, rule)
        .await
        .expect("rotate");
    assert_eq!(rotation, Rotation::Rotated);
    let live = Some(RefreshSession::Live(session));
    assert_eq!(refresh_both_ways(&store, "r1").await, [live, live]);
    assert_eq!(refresh_both_ways(&store, "r2").await, [live, live]);

    store.end_session("r2", NOW + 2).await.expect("logout");
    let spent = Some(RefreshSession::Over(EndedSessionToken::Spent));
    let unspent = Some(RefreshSession::Over(EndedSessionToken::Unspent));
    assert_eq!(refresh_both_ways(&store, "r1").await, [spent, spent]);
    assert_eq!(refresh_both_ways(&store, "r2").await, [unspent, unspent]);
}

#[tokio::test]
async fn an_access_token_reads_the_same_both_ways_through_expiry_and_logout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, _) = store_with_a_session(&dir).await;
    let live = Some(("ann".to_string(), "p1".to_string()));
    assert_eq!(
        access_both_ways(&store, "a1", NOW).await,
        [live.clone(), live.clone()]
    );
    assert_eq!(
        access_both_ways(&store, "a1", NOW + 299).await,
        [live.clone(), live]
    );
    assert_eq!(
        access_both_ways(&store, "a1", NOW + 300).await,
        [None, None]
    );
    assert_eq!(access_both_ways(&store, "r1", NOW).await, [None, None]);
    assert_eq!(access_both_ways(&store, "nobody", NOW).await, [None, None]);

    store.end_session("r1", NOW + 1).await.expect("logout");
    assert_eq!(access_both_ways(&store, "a1", NOW + 1).await, [None, None]);
}

#[tokio::test]
async fn an_api_key_reads_the_same_both_ways_until_its_user_is_disabled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, user_id) = store_with_a_session(&dir).await;
    store
        .insert_api_key("hash-1", user_id, NOW, Some(NOW + 60), 10)
        .await
        .expect("key");
    let ann = Some("ann".to_string());
    assert_eq!(
        key_both_ways(&store, "hash-1", NOW).await,
        [ann.clone(), ann]
    );
    assert_eq!(
        key_both_ways(&store, "hash-1", NOW + 60).await,
        [None, None]
    );
    assert_eq!(key_both_ways(&store, "hash-2", NOW).await, [None, None]);

    store
        .set_active(user_id, false, NOW + 1)
        .await
        .expect("disable");
    assert_eq!(key_both_ways(&store, "hash-1", NOW + 1).await, [None, None]);
}

/// What a login reads for username key `key` (whether the account exists and is active,
/// and when its next attempt may be checked) and whose account email key `email` is, read
/// inline and with every inline connection taken.
async fn login_reads_both_ways(
    store: &Store,
    key: &str,
    email: &str,
) -> [(Option<(i64, bool)>, Option<i64>, Option<String>); 2] {
    async fn read(
        store: &Store,
        key: &str,
        email: &str,
    ) -> (Option<(i64, bool)>, Option<i64>, Option<String>) {
        let record = store.password_record(key).await.expect("password record");
        let not_before = store.login_not_before(key).await.expect("not before");
        let account = store
            .username_key_for_email(email)
            .await
            .expect("email lookup");
        (
            record.map(|r| (r.user.id, r.is_active)),
            not_before,
            account,
        )
    }
    let inline = read(store, key, email).await;
    let held = inline_reads(store).hold_all();
    let pooled = read(store, key, email).await;
    drop(held);
    [inline, pooled]
}

#[tokio::test]
async fn a_logins_reads_answer_the_same_both_ways_through_failures_and_disabling() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, user_id) = store_with_a_session(&dir).await;
    let fresh = (Some((user_id, true)), None, Some("ann".to_string()));
    assert_eq!(
        login_reads_both_ways(&store, "ann", "ann@example.com").await,
        [fresh.clone(), fresh]
    );
    let read_inline = store.inline_read(
        super::users::PASSWORD_RECORD,
        ("ann",),
        super::rows::PasswordRow::from_inline,
    );
    assert!(
        matches!(read_inline, Some(Some(ref row)) if row.user.id == user_id && row.password_hash == "x"),
        "the account is read on this thread"
    );
    let nobody = (None, None, None);
    assert_eq!(
        login_reads_both_ways(&store, "bob", "bob@example.com").await,
        [nobody.clone(), nobody]
    );

    let rule = AttemptRule {
        hold_from: 1,
        hold: 30,
        forget_after: 3_600,
    };
    let claim = store
        .claim_login_attempt("ann", NOW, rule)
        .await
        .expect("claim");
    assert_eq!(claim, LoginClaim::Claimed { failures: 1 });
    store
        .delay_login_attempts("ann", NOW + 120)
        .await
        .expect("delay");
    let held_back = (
        Some((user_id, true)),
        Some(NOW + 120),
        Some("ann".to_string()),
    );
    assert_eq!(
        login_reads_both_ways(&store, "ann", "ann@example.com").await,
        [held_back.clone(), held_back]
    );

    store
        .set_active(user_id, false, NOW + 1)
        .await
        .expect("disable");
    store
        .record_login_success("ann")
        .await
        .expect("forget failures");
    let disabled = (Some((user_id, false)), None, Some("ann".to_string()));
    assert_eq!(
        login_reads_both_ways(&store, "ann", "ann@example.com").await,
        [disabled.clone(), disabled]
    );
}
