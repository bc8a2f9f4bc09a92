//! Secrets at rest: the files authd creates are owner-only whatever the umask, and the
//! signing key is stored sealed with the key-encryption key (KEK), which the database never
//! holds: a node without it refuses to start, and a key stored in clear by an older version
//! is sealed at the next start, keeping its `kid`.

use std::{os::unix::fs::PermissionsExt, path::Path};

use authd::auth::sealing::{self, KeyEncryptionKey};
use sqlx::AnyPool;

use crate::helpers::{
    Node, TEST_KEK, TestApp, postgres_database, refused_start, require_postgres, rows,
};

/// The algorithm identifier every PKCS#8 Ed25519 key holds (OID 1.3.101.112, RFC 8410):
/// what a clear key looks like, whether it is a v1 or a v2 (with public key) structure.
const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

fn is_clear_pkcs8(key: &[u8]) -> bool {
    key.first() == Some(&0x30) && key.windows(ED25519_OID.len()).any(|w| w == ED25519_OID)
}

fn mode(file: &Path) -> u32 {
    std::fs::metadata(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .permissions()
        .mode()
        & 0o777
}

async fn stored_keys(url: &str) -> Vec<(String, Vec<u8>)> {
    sqlx::any::install_default_drivers();
    let db = AnyPool::connect(url).await.unwrap();
    let keys = rows(
        &db,
        "SELECT kid, private_key FROM signing_keys ORDER BY slot",
    )
    .await;
    db.close().await;
    keys
}

async fn wait_for_line(node: &Node, line: &str) {
    // The log reader thread may still be on its way to the line.
    for _ in 0..500 {
        if node.log().contains(line) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no {line:?} in the log:\n{}", node.log());
}

#[tokio::test]
async fn the_database_its_wal_files_and_the_generated_kek_are_owner_only_under_umask_000() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_with_umask("000", dir.path(), &[]).await;
    for name in ["authd.db", "authd.db-wal", "authd.db-shm", "authd.db.kek"] {
        assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
    }
    drop(node);
}

#[tokio::test]
async fn a_database_file_left_readable_by_others_is_made_owner_only_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Node::start(dir.path(), &[]).await;
    first.terminate().await;
    let database = dir.path().join("authd.db");
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();

    let node = Node::start_with_umask("000", dir.path(), &[]).await;
    assert_eq!(mode(&database), 0o600);
    wait_for_line(&node, "made it owner-only").await;
}

#[tokio::test]
async fn the_signing_key_is_stored_sealed_with_the_generated_kek_and_opens_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path(), &[]).await;
    let tokens = node_login(&node).await;
    node.terminate().await;

    let text = std::fs::read_to_string(dir.path().join("authd.db.kek")).unwrap();
    assert_eq!(text.len(), 65, "64 hex characters and a newline");
    let kek = KeyEncryptionKey::parse_hex(&text).unwrap();
    let url = format!("sqlite://{}", dir.path().join("authd.db").display());
    let keys = stored_keys(&url).await;
    let [(kid, stored)] = keys.as_slice() else {
        panic!("one signing key, not {}", keys.len())
    };
    assert!(!is_clear_pkcs8(stored), "stored in clear");
    let clear = sealing::open(&kek, kid, stored).expect("the generated KEK opens it");
    assert!(is_clear_pkcs8(&clear));
    let wrong = KeyEncryptionKey::generate().unwrap();
    assert!(sealing::open(&wrong, kid, stored).is_none());

    // The next start opens the same key: tokens signed before still verify.
    let node = Node::start(dir.path(), &[]).await;
    node_get_me(&node, &tokens)
        .await
        .expect("a token from before the restart");
}

#[tokio::test]
async fn a_node_whose_kek_cannot_open_the_stored_key_refuses_to_start_naming_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path(), &[]).await;
    node.terminate().await;

    let other = KeyEncryptionKey::generate().unwrap();
    let log = refused_start(
        dir.path(),
        &[],
        &[("AUTHD_KEY_ENCRYPTION_KEY", other.to_hex().as_str())],
    )
    .await;
    assert!(log.contains("AUTHD_KEY_ENCRYPTION_KEY"), "{log}");
    assert!(log.contains("--key-encryption-key-file"), "{log}");
    assert!(
        !log.contains(other.to_hex().as_str()),
        "the KEK reached the log:\n{log}"
    );

    // Without its KEK file, a node refuses too, and does not make another.
    std::fs::remove_file(dir.path().join("authd.db.kek")).unwrap();
    let log = refused_start(dir.path(), &[], &[]).await;
    assert!(log.contains("--key-encryption-key-file"), "{log}");
    assert!(
        !dir.path().join("authd.db.kek").exists(),
        "a new KEK was generated"
    );
}

#[tokio::test]
async fn a_kek_file_that_does_not_exist_or_is_not_a_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let with_file = |file: &Path| {
        let args = ["--key-encryption-key-file", file.to_str().unwrap()].map(String::from);
        let dir = dir.path().to_path_buf();
        async move { refused_start(&dir, &args.each_ref().map(String::as_str), &[]).await }
    };
    let missing = dir.path().join("missing.kek");
    let log = with_file(&missing).await;
    assert!(log.contains("missing.kek"), "{log}");
    assert!(!missing.exists());

    let bad = dir.path().join("bad.kek");
    std::fs::write(&bad, "not a key\n").unwrap();
    let log = with_file(&bad).await;
    assert!(log.contains("64 hex characters"), "{log}");
}

#[tokio::test]
async fn a_signing_key_stored_in_clear_is_sealed_on_upgrade_and_its_tokens_still_verify() {
    let mut app = TestApp::spawn().await;
    let tokens = app.signed_in("alice").await.tokens.unwrap();

    // Put the key back in clear, as versions before sealing stored it (the running server
    // read it at start and does not look again).
    let kek = KeyEncryptionKey::parse_hex(TEST_KEK).unwrap();
    let (kid, sealed): (String, Vec<u8>) =
        sqlx::query_as("SELECT kid, private_key FROM signing_keys")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let clear = sealing::open(&kek, &kid, &sealed).unwrap();
    sqlx::query("UPDATE signing_keys SET private_key = $1 WHERE kid = $2")
        .bind(clear.to_vec())
        .bind(&kid)
        .execute(&app.db)
        .await
        .unwrap();

    app.restart().await;
    app.get_me(&tokens.access_token)
        .await
        .expect("a token signed before the upgrade");
    let (kid_after, stored): (String, Vec<u8>) =
        sqlx::query_as("SELECT kid, private_key FROM signing_keys")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(kid_after, kid);
    assert!(!is_clear_pkcs8(&stored), "still in clear");
    assert_eq!(sealing::open(&kek, &kid, &stored).unwrap(), clear);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it in its PostgreSQL pass"]
async fn a_second_postgres_node_in_another_directory_needs_the_first_ones_kek() {
    require_postgres();
    let url = postgres_database().await;
    let args = ["--database-url", url.as_str()];
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = Node::start(first_dir.path(), &args).await;
    let kek_file = first_dir.path().join("authd.kek");
    assert_eq!(mode(&kek_file), 0o600);

    let log = refused_start(second_dir.path(), &args, &[]).await;
    assert!(log.contains("AUTHD_KEY_ENCRYPTION_KEY"), "{log}");
    assert!(
        !second_dir.path().join("authd.kek").exists(),
        "it made a KEK of its own"
    );

    let kek = kek_file.to_str().unwrap();
    let second = Node::start(
        second_dir.path(),
        &[
            "--database-url",
            url.as_str(),
            "--key-encryption-key-file",
            kek,
        ],
    )
    .await;
    let tokens = node_login(&first).await;
    node_get_me(&second, &tokens)
        .await
        .expect("the same signing key");
}

async fn node_login(node: &Node) -> authd::pb::TokenPair {
    use authd::pb::{LoginRequest, RegisterRequest};
    let mut client = node.client().await;
    client
        .register(RegisterRequest {
            username: "alice".into(),
            email: "alice@example.com".into(),
            password: crate::helpers::PASSWORD.into(),
        })
        .await
        .unwrap();
    client
        .login(LoginRequest {
            username: "alice".into(),
            password: crate::helpers::PASSWORD.into(),
            email: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap()
}

async fn node_get_me(node: &Node, tokens: &authd::pb::TokenPair) -> Result<(), tonic::Status> {
    let mut request = tonic::Request::new(authd::pb::GetMeRequest {});
    let bearer = format!("Bearer {}", tokens.access_token);
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().unwrap());
    node.client().await.get_me(request).await.map(|_| ())
}
