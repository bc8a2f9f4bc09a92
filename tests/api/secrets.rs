//! Secrets at rest: the files authd creates are owner-only whatever the umask.

use std::{os::unix::fs::PermissionsExt, path::Path};

use crate::helpers::Node;

fn mode(file: &Path) -> u32 {
    std::fs::metadata(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn the_database_and_its_wal_files_are_owner_only_under_a_permissive_umask() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start_with_umask("000", dir.path(), &[]).await;
    for name in ["authd.db", "authd.db-wal", "authd.db-shm"] {
        assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
    }
    assert!(node.terminate().await.success());
}

#[tokio::test]
async fn a_database_file_left_readable_by_others_is_made_owner_only_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Node::start(dir.path(), &[]).await;
    assert!(first.terminate().await.success());
    let database = dir.path().join("authd.db");
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();

    let mut node = Node::start_with_umask("000", dir.path(), &[]).await;
    assert_eq!(mode(&database), 0o600);
    // The log reader thread may still be on its way to the line.
    for _ in 0..500 {
        if node.log().contains("made it owner-only") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(node.log().contains("made it owner-only"), "{}", node.log());
    assert!(node.terminate().await.success());
}
