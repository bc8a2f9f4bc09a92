//! `authd import-django` on a database made by real Django (`tests/django_import/make_db.py`:
//! Django's migrations, users made by Django's ORM with its own hashers, DRF token keys,
//! seed 2's `jwt_api_member`): what comes across, what conflicts, that a second run imports
//! nothing twice, and that the imported users log in with their Django passwords — their
//! hashes upgraded to argon2id at the first login — and their DRF keys keep working.

use std::process::Command;

use tonic::Code;

use crate::helpers::{PASSWORD, TestApp, authd, get_with_auth, rows, scalars};

/// Makes the Django database in `dir`: its URL and what the script says it made.
fn django_database(dir: &std::path::Path) -> (String, serde_json::Value) {
    let python = std::env::var("AUTHD_TEST_DJANGO_PYTHON").expect(
        "this test needs AUTHD_TEST_DJANGO_PYTHON (scripts/test.sh sets it when .venv-django exists)",
    );
    let path = dir.join("django.sqlite3");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/django_import/make_db.py"
    );
    let output = Command::new(python)
        .arg(script)
        .arg(&path)
        .output()
        .expect("run make_db.py");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let made = serde_json::from_slice(&output.stdout).expect("make_db.py prints JSON");
    (format!("sqlite://{}", path.display()), made)
}

async fn import(from: &str, app: &TestApp, extra: &[&str]) -> crate::helpers::Ran {
    let mut args = vec![
        "import-django",
        "--from",
        from,
        "--database-url",
        app.database_url(),
    ];
    args.extend_from_slice(extra);
    authd(&args, "").await
}

async fn stored_hash(app: &TestApp, username: &str) -> String {
    let hashes: Vec<(String, String)> =
        rows(&app.db, "SELECT username, password_hash FROM users").await;
    hashes
        .into_iter()
        .find(|(name, _)| name == username)
        .map(|(_, hash)| hash)
        .unwrap_or_else(|| panic!("no user {username}"))
}

#[tokio::test]
#[ignore = "needs Django: scripts/test.sh runs it with AUTHD_TEST_DJANGO_PYTHON"]
async fn django_users_come_across_and_log_in_with_their_django_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let (from, made) = django_database(dir.path());
    let app = TestApp::spawn().await;
    // Two authd users already hold names the Django database also has, ignoring case.
    app.register("taken", "someone@example.com", PASSWORD)
        .await
        .unwrap();
    app.register("frank", "shared@example.com", PASSWORD)
        .await
        .unwrap();

    let first = import(&from, &app, &[]).await;
    assert_eq!(
        first.ok(),
        "imported 4 users (2 kept their Django id) and 2 API keys\n\
         skipped 0 users imported before\n\
         2 conflicting users not imported:\n  \
         Taken: an authd user has that username\n  \
         erin: an authd user has that email\n"
    );

    // Ids kept where free (1 and 2 were authd's), is_active, date_joined, Django's hashes.
    let users: Vec<(i64, String, i64, i64)> = rows(
        &app.db,
        "SELECT id, username, CASE WHEN is_active THEN 1 ELSE 0 END, created_at FROM users ORDER BY username",
    )
    .await;
    let user = |name: &str| {
        users
            .iter()
            .find(|(_, username, ..)| username == name)
            .cloned()
            .unwrap()
    };
    let joined = |name: &str| made["users"][name]["date_joined"].as_i64().unwrap();
    assert_eq!(user("carol"), (3, "carol".into(), 1, joined("carol")));
    assert_eq!(user("dave"), (4, "dave".into(), 0, joined("dave")));
    assert!(user("alice").0 > 4 && user("bob").0 > 4, "{users:?}");
    assert_eq!(
        stored_hash(&app, "bob").await,
        made["users"]["bob"]["hash"].as_str().unwrap()
    );

    // The DRF key works as before, and only its hash is stored.
    let key = made["keys"]["alice"].as_str().unwrap();
    let me = get_with_auth(&app, "/api/me/", Some(&format!("Token {key}"))).await;
    assert_eq!(
        (me.status, me.json["username"].as_str()),
        (200, Some("alice"))
    );
    let hashes: Vec<String> = scalars(&app.db, "SELECT key_hash FROM api_keys").await;
    assert!(!hashes.iter().any(|hash| hash == key));
    let dave_key = made["keys"]["dave"].as_str().unwrap();
    let refused = get_with_auth(&app, "/api/me/", Some(&format!("Token {dave_key}"))).await;
    assert_eq!(refused.status, 401, "an inactive user's key stays refused");

    // A wrong password is refused and changes nothing; the right one logs in and upgrades
    // the hash to authd's argon2id, after which the password still works.
    for name in ["alice", "bob", "carol"] {
        let django = stored_hash(&app, name).await;
        let status = app.login(name, "not-the-password").await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(stored_hash(&app, name).await, django);
        app.login(name, PASSWORD).await.unwrap();
        let upgraded = stored_hash(&app, name).await;
        assert!(
            upgraded.starts_with("$argon2id$v=19$m=19456"),
            "{name}: {upgraded}"
        );
        app.login(name, PASSWORD).await.unwrap();
    }
    let status = app.login("dave", PASSWORD).await.unwrap_err();
    assert_eq!(
        status.code(),
        Code::Unauthenticated,
        "inactive in Django, inactive here"
    );

    // A second run imports nothing twice.
    let second = import(&from, &app, &[]).await;
    assert_eq!(
        second.ok(),
        "imported 0 users (0 kept their Django id) and 0 API keys\n\
         skipped 4 users imported before\n\
         2 conflicting users not imported:\n  \
         Taken: an authd user has that username\n  \
         erin: an authd user has that email\n"
    );

    // Seed 2's own table, and a table name that is not one.
    let members = import(&from, &app, &["--user-table", "jwt_api_member"]).await;
    assert!(members.ok().starts_with("imported 2 users"), "{members:?}");
    app.login("mia", PASSWORD).await.unwrap();
    let hostile = import(
        &from,
        &app,
        &["--user-table", "auth_user; DROP TABLE auth_user"],
    )
    .await;
    assert!(
        hostile.failed().contains("not a plain table name"),
        "{hostile:?}"
    );
}

#[tokio::test]
#[ignore = "needs Django: scripts/test.sh runs it with AUTHD_TEST_DJANGO_PYTHON"]
async fn an_import_into_a_new_database_creates_and_migrates_it_first() {
    let dir = tempfile::tempdir().unwrap();
    let (from, _) = django_database(dir.path());
    let fresh = format!("sqlite://{}", dir.path().join("new-authd.db").display());
    let ran = authd(
        &["import-django", "--from", &from, "--database-url", &fresh],
        "",
    )
    .await;
    assert!(
        ran.ok()
            .starts_with("imported 6 users (6 kept their Django id) and 2 API keys\n"),
        "{ran:?}"
    );
    let app = TestApp::spawn_on(&fresh, &[]).await;
    app.login("erin", PASSWORD).await.unwrap();
    let ids: Vec<i64> = scalars(&app.db, "SELECT id FROM users ORDER BY id").await;
    assert_eq!(ids, [1, 2, 3, 4, 5, 40]);
    // New users continue after the largest imported id.
    let next = app
        .register("zoe", "zoe@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(next.id, 41);
}
