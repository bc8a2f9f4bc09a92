//! The database each test gets: a new SQLite file in the test's temp directory, or (with
//! `AUTHD_TEST_BACKEND=postgres`) a new database on the server `AUTHD_TEST_POSTGRES_URL`
//! names. Also the read-back helpers tests assert stored rows with. Nothing here knows
//! authd's schema beyond the SQL a test hands in.

use std::{
    collections::hash_map::RandomState,
    hash::{BuildHasher, Hasher},
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use sqlx::AnyPool;

/// The environment variable that switches the suite to PostgreSQL, and the one naming a
/// server where the test role may create databases.
const BACKEND_VARIABLE: &str = "AUTHD_TEST_BACKEND";
const POSTGRES_URL_VARIABLE: &str = "AUTHD_TEST_POSTGRES_URL";

/// A new, empty database for one test: a SQLite file in `dir`, or a new database on the
/// PostgreSQL server.
pub async fn fresh_database(dir: &tempfile::TempDir) -> String {
    sqlx::any::install_default_drivers();
    match std::env::var(BACKEND_VARIABLE).as_deref() {
        Ok("postgres") => {
            let admin_url = std::env::var(POSTGRES_URL_VARIABLE)
                .expect("AUTHD_TEST_BACKEND=postgres needs AUTHD_TEST_POSTGRES_URL");
            fresh_postgres_database(&admin_url).await
        }
        Ok("sqlite") | Err(_) => format!("sqlite://{}", dir.path().join("authd.db").display()),
        Ok(other) => panic!("unknown {BACKEND_VARIABLE}={other:?} (sqlite or postgres)"),
    }
}

/// Creates `authd_test_<random>` on the server of `admin_url` and returns its URL.
async fn fresh_postgres_database(admin_url: &str) -> String {
    let admin = AnyPool::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    let name = format!("authd_test_{}", random_suffix());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create a test database");
    admin.close().await;
    let (server, _database) = admin_url
        .rsplit_once('/')
        .expect("a URL with a database path");
    format!("{server}/{name}")
}

/// 64 bits as 16 hex digits, different at every call: std's randomly keyed hasher over a
/// call counter and the time (a test's database name needs no more than that).
fn random_suffix() -> String {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    hasher.write_u128(now.map_or(0, |elapsed| elapsed.as_nanos()));
    format!("{:016x}", hasher.finish())
}

/// Whether the suite runs on PostgreSQL.
fn on_postgres() -> bool {
    std::env::var(BACKEND_VARIABLE).as_deref() == Ok("postgres")
}

/// The first line of a test that needs PostgreSQL. Such a test is `#[ignore]`d, so the
/// SQLite pass reports it as ignored; run without PostgreSQL anyway, it fails loudly
/// instead of passing without having run.
pub fn require_postgres() {
    assert!(
        on_postgres(),
        "this test needs PostgreSQL: run it with {BACKEND_VARIABLE}=postgres and \
         {POSTGRES_URL_VARIABLE}, as the PostgreSQL pass of scripts/test.sh does"
    );
}

/// A fresh database URL on the suite's PostgreSQL server.
pub async fn postgres_database() -> String {
    sqlx::any::install_default_drivers();
    let admin_url = std::env::var(POSTGRES_URL_VARIABLE).expect(POSTGRES_URL_VARIABLE);
    fresh_postgres_database(&admin_url).await
}

/// The one number a trusted SQL query from the test returns (e.g. a `COUNT(*)`).
pub async fn count(db: &AnyPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db)
        .await
        .expect("count query")
}

/// The rows of a trusted SQL query from the test, as tuples.
pub async fn rows<T>(db: &AnyPool, sql: &'static str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    sqlx::query_as(sql).fetch_all(db).await.expect("query")
}

/// The one-column rows of a trusted SQL query from the test.
pub async fn scalars<T>(db: &AnyPool, sql: &'static str) -> Vec<T>
where
    T: Send + Unpin,
    (T,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
{
    sqlx::query_scalar(sql).fetch_all(db).await.expect("query")
}
