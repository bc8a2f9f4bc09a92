//! Coalescing the liveness reads of concurrent requests into one statement.
//!
//! Every GetMe (and `/api/me/`, `/auth/me/`) reads its token's or key's row afresh, so a
//! logout or a revocation from any node or the admin shell takes effect on the very next
//! request. Done one statement per request, that read is most of the request's cost. Here
//! the reads queue in a [`Batches`] (see `store::batched`), and each batch is one `… WHERE
//! key IN (…)` statement. That is every such read on PostgreSQL, where a statement is a
//! round trip; on SQLite, only the reads `store::inline_reads` could not answer at once on
//! the request's own thread.
//!
//! Nothing gets staler: a request's read is always a statement that *starts after* the
//! request was queued, so it sees every commit made before the request arrived, exactly as
//! its own statement would. Requests that name different `now` seconds are read by
//! separate statements, so expiry stays exact to the second.

use std::{collections::HashMap, future::Future, sync::Arc};

use super::batched::Batches;
use crate::error::Error;

/// Keys read together at one `now`: what one batched statement is asked.
pub type Batch = (i64, Vec<String>);

/// Runs one batch's statement on the read pool: `sqlite_sql` takes the keys as a JSON
/// array in `$1` (for `IN (SELECT value FROM json_each($1))`, so a batch of any size is one
/// prepared statement), `postgres_sql` as a text array (for `= ANY($1)`); both take `now`
/// in `$2`.
pub async fn fetch_batch<R>(
    pools: &super::Pools,
    sqlite_sql: &'static str,
    postgres_sql: &'static str,
    (now, keys): Batch,
) -> Result<Vec<R>, Error>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    Ok(match pools {
        super::Pools::Sqlite { reader, .. } => {
            let keys = serde_json::to_string(&keys)
                .map_err(|e| Error::Internal(format!("encoding a batch of keys: {e}")))?;
            sqlx::query_as(sqlite_sql)
                .bind(keys)
                .bind(now)
                .fetch_all(reader)
                .await?
        }
        super::Pools::Postgres { pool } => {
            sqlx::query_as(postgres_sql)
                .bind(keys)
                .bind(now)
                .fetch_all(pool)
                .await?
        }
    })
}

/// A queue of reads by key, answered in batches by `read_batch`.
pub struct Coalescer<T> {
    reads: Batches<(String, i64), Option<T>>,
}

impl<T: Clone + Send + 'static> Coalescer<T> {
    /// Starts the task that answers the queue named `queue`, with at most `in_flight`
    /// statements running at once. `read_batch(now, keys)` returns the rows found, by key; a key it does not
    /// return is not live.
    pub fn start<F, Fut>(queue: &'static str, in_flight: usize, read_batch: F) -> Self
    where
        F: Fn(Batch) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<(String, T)>, Error>> + Send + 'static,
    {
        let read_batch = Arc::new(read_batch);
        let reads = Batches::start(queue, in_flight, move |reads: Vec<(String, i64)>| {
            read_by_second(read_batch.clone(), reads)
        });
        Self { reads }
    }

    /// The row behind `key` as of a statement that starts after this call.
    pub async fn read(&self, key: String, now: i64) -> Result<Option<T>, Error> {
        self.reads.submit((key, now)).await
    }
}

/// Answers `reads` with one statement per distinct `now`, each asking every distinct key
/// once.
async fn read_by_second<T, F, Fut>(
    read_batch: Arc<F>,
    reads: Vec<(String, i64)>,
) -> Vec<Result<Option<T>, Error>>
where
    T: Clone,
    F: Fn(Batch) -> Fut,
    Fut: Future<Output = Result<Vec<(String, T)>, Error>>,
{
    let mut by_now: HashMap<i64, Vec<&str>> = HashMap::new();
    for (key, now) in &reads {
        by_now.entry(*now).or_default().push(key);
    }
    let mut found: HashMap<i64, Result<HashMap<String, T>, Error>> = HashMap::new();
    for (now, mut keys) in by_now {
        keys.sort_unstable();
        keys.dedup();
        let keys = keys.into_iter().map(str::to_owned).collect();
        let rows = read_batch((now, keys)).await;
        found.insert(now, rows.map(|rows| rows.into_iter().collect()));
    }
    reads
        .iter()
        .map(|(key, now)| match found.get(now) {
            Some(Ok(rows)) => Ok(rows.get(key).cloned()),
            Some(Err(error)) => Err(error.clone()),
            None => Err(Error::Internal("a coalesced read was not asked".into())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_reads_share_statements_and_each_gets_its_own_row() {
        let statements = Arc::new(AtomicUsize::new(0));
        let counted = statements.clone();
        let coalescer = Coalescer::start("test", 1, move |(now, keys): Batch| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                Ok(keys
                    .into_iter()
                    .filter(|key| key != "missing")
                    .map(|key| (key.clone(), format!("{key}@{now}")))
                    .collect())
            }
        });
        let coalescer = Arc::new(coalescer);
        let reads: Vec<_> = (0..40)
            .map(|i| {
                let coalescer = coalescer.clone();
                let key = if i == 7 {
                    "missing".to_string()
                } else {
                    format!("k{}", i % 10)
                };
                tokio::spawn(async move { (key.clone(), coalescer.read(key, 100).await) })
            })
            .collect();
        for read in reads {
            let (key, answer) = read.await.unwrap();
            let answer = answer.unwrap();
            if key == "missing" {
                assert_eq!(answer, None);
            } else {
                assert_eq!(answer, Some(format!("{key}@100")));
            }
        }
        let statements = statements.load(Ordering::SeqCst);
        assert!(statements < 40, "{statements} statements for 40 reads");
    }

    #[tokio::test]
    async fn reads_at_different_seconds_get_their_own_statements() {
        let coalescer = Coalescer::start("test", 1, |(now, keys): Batch| async move {
            Ok(keys.into_iter().map(|key| (key, now)).collect())
        });
        let (a, b) = tokio::join!(
            coalescer.read("k".into(), 10),
            coalescer.read("k".into(), 11)
        );
        assert_eq!(a.unwrap(), Some(10));
        assert_eq!(b.unwrap(), Some(11));
    }

    #[tokio::test]
    async fn a_failed_statement_fails_every_read_in_it() {
        let coalescer: Coalescer<()> = Coalescer::start("test", 2, |_batch: Batch| async move {
            Err(Error::Unavailable("down".into()))
        });
        let (a, b) = tokio::join!(coalescer.read("a".into(), 1), coalescer.read("b".into(), 1));
        assert!(matches!(a, Err(Error::Unavailable(_))));
        assert!(matches!(b, Err(Error::Unavailable(_))));
    }
}
