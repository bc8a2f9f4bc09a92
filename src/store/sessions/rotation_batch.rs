//! Spending the refresh tokens of concurrent requests in one transaction (group commit).
//!
//! A refresh is a few writes (spend the generation, mark its tokens spent, record the new
//! pair), and on SQLite's single writer or over a PostgreSQL round trip each statement
//! costs far more than the rows it touches. So the refreshes waiting at one moment
//! (`store::batched`) share one transaction and the same statements as `rotation.rs`, made
//! set-based: the requests go in as one JSON array, and each statement does for all of them
//! what it did for one. On PostgreSQL the spend, the marking and the recording of a round
//! are chained into one statement (`postgres::SPEND_AND_RECORD`).
//!
//! The outcome of every request is the one it would have had alone, in some serial order:
//! - A statement only ever handles requests of *different* sessions. The requests of one
//!   session (a retry racing its original, two tabs) go in successive rounds, in arrival
//!   order, inside the same transaction, so the second sees what the first did: exactly
//!   the race `rotation.rs` describes, decided the same way.
//! - Requests at different `now` seconds go in different rounds, so expiry stays exact.
//! - Reuse (a spent token, revoking its session) is rare and handled per request, with the
//!   one-request statements, after its round's set-based ones.
//!
//! If the transaction fails as a whole — on PostgreSQL, two nodes' batches can deadlock on
//! two sessions they share — nothing of it was written, and every request of the batch is
//! retried one by one, in a transaction of its own (`rotation::rotate_one`).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{
    REVOKE_REUSED, SPENT_TOKEN_SESSION, Spent,
    rotation::{RotationRequest, rotate_one},
};
use crate::{auth::model::Rotation, error::Error, store::Pools};

/// Where the set-based statements read their rows from: `$n`, a JSON array of objects,
/// as a table `j` with the named, typed columns. One text per backend, spliced with
/// `concat!` so every statement stays a literal.
macro_rules! json_rows {
    (sqlite, $param:literal, $first:ident $first_type:ident $(, $column:ident $type:ident)*) => {
        concat!("(SELECT value->>'", stringify!($first), "' AS ", stringify!($first),
                $(", value->>'", stringify!($column), "' AS ", stringify!($column),)*
                " FROM json_each(", $param, ")) AS j")
    };
    (postgres, $param:literal, $first:ident $first_type:ident $(, $column:ident $type:ident)*) => {
        concat!("jsonb_to_recordset(", $param, "::text::jsonb) AS j(",
                stringify!($first), " ", stringify!($first_type),
                $(", ", stringify!($column), " ", stringify!($type),)* ")")
    };
}

/// `rotation.rs`'s SPEND for every request in `$2` (`[{jti, user_id, expires_at}]`, at
/// most one per session), at `now` `$1`: the `(session, generation)` of each it spent.
macro_rules! spend {
    ($backend:ident) => {
        concat!(
            "UPDATE sessions
             SET generation = generation + 1, rotated_at = $1, last_used_at = $1,
                 expires_at = r.new_expires_at
             FROM (SELECT t.session_id, t.generation AS token_generation,
                          j.user_id AS token_user, j.expires_at AS new_expires_at
                   FROM ",
            json_rows!($backend, "$2", jti TEXT, user_id BIGINT, expires_at BIGINT),
            " JOIN tokens t ON t.jti = j.jti
                   WHERE t.kind = 'refresh' AND t.spent_at IS NULL AND t.expires_at > $1) AS r
             WHERE sessions.id = r.session_id AND sessions.generation = r.token_generation
               AND sessions.revoked_at IS NULL AND sessions.ends_at > $1
               AND sessions.user_id = r.token_user
               AND EXISTS (SELECT 1 FROM users u WHERE u.id = sessions.user_id AND u.is_active)
             RETURNING id, generation"
        )
    };
}

/// The statements both backends run as they are.
macro_rules! rotation_statements {
    ($backend:ident) => {
        /// `rotation.rs`'s RETRY for every request in `$2`, with the grace window `$3`.
        pub const RETRY: &str = concat!(
            "UPDATE sessions
             SET last_used_at = $1,
                 expires_at = CASE WHEN expires_at < r.new_expires_at THEN r.new_expires_at
                                   ELSE expires_at END
             FROM (SELECT t.session_id, t.generation + 1 AS next_generation,
                          j.user_id AS token_user, j.expires_at AS new_expires_at
                   FROM ",
            json_rows!($backend, "$2", jti TEXT, user_id BIGINT, expires_at BIGINT),
            " JOIN tokens t ON t.jti = j.jti
                   WHERE t.kind = 'refresh' AND t.expires_at > $1) AS r
             WHERE sessions.id = r.session_id AND sessions.generation = r.next_generation
               AND sessions.revoked_at IS NULL AND sessions.ends_at > $1
               AND sessions.user_id = r.token_user
               AND $3 > 0 AND sessions.rotated_at > $1 - $3
               AND EXISTS (SELECT 1 FROM users u WHERE u.id = sessions.user_id AND u.is_active)
             RETURNING id, generation"
        );
        /// Every new token of the round (`$1`), as `record_pair!` records one pair.
        pub const RECORD: &str = concat!(
            "INSERT INTO tokens (jti, session_id, kind, created_at, expires_at, generation, kid)
             SELECT j.jti, j.session_id, j.kind, j.created_at, j.expires_at, j.generation, j.kid
             FROM ",
            json_rows!($backend, "$1", jti TEXT, session_id BIGINT, kind TEXT,
                       created_at BIGINT, expires_at BIGINT, generation BIGINT, kid TEXT)
        );
    };
}

/// SQLite spends, marks spent and records in three statements (it has no data-modifying
/// `WITH`); each probes an index per request.
mod sqlite {
    rotation_statements!(sqlite);
    pub const SPEND: &str = spend!(sqlite);
    /// `rotation.rs`'s SPEND_TOKENS for every spent generation in `$2` (`[{s, g}]`).
    pub const SPEND_TOKENS: &str = concat!(
        "UPDATE tokens SET spent_at = $1
         WHERE kind = 'refresh' AND spent_at IS NULL
           AND (session_id, generation) IN (SELECT j.s, j.g FROM ",
        json_rows!(sqlite, "$2", s BIGINT, g BIGINT),
        ")"
    );
}
/// PostgreSQL chains the three in one statement, so a batch is one round trip fewer
/// twice over. The spent generation's tokens are found by joining what `spent` returned,
/// a handful of rows the planner probes the `(session_id, generation)` index for.
/// (Joined to `jsonb_to_recordset`, for which it guesses 100 rows, it had chosen a
/// sequential scan of every token.)
mod postgres {
    rotation_statements!(postgres);
    /// SPEND for `$2`, the spent generation's refresh tokens marked spent, and the new
    /// tokens of `$3` (`[{jti, session_id, kind, created_at, expires_at, kid}]`, each
    /// request's pair in its session) recorded in the generation their session now has.
    pub const SPEND_AND_RECORD: &str = concat!(
        "WITH spent AS (",
        spend!(postgres),
        "), marked AS (
             UPDATE tokens t SET spent_at = $1 FROM spent
             WHERE t.session_id = spent.id AND t.generation = spent.generation - 1
               AND t.kind = 'refresh' AND t.spent_at IS NULL
         ), recorded AS (
             INSERT INTO tokens (jti, session_id, kind, created_at, expires_at, generation, kid)
             SELECT j.jti, j.session_id, j.kind, j.created_at, j.expires_at, spent.generation,
                    j.kid
             FROM ",
        json_rows!(postgres, "$3", jti TEXT, session_id BIGINT, kind TEXT,
                   created_at BIGINT, expires_at BIGINT, kid TEXT),
        " JOIN spent ON spent.id = j.session_id
         )
         SELECT id, generation FROM spent"
    );
}

/// Answers every request of a batch: together in one transaction, or — if that fails as a
/// whole — one by one.
pub(in crate::store) async fn rotate_all(
    pools: &Pools,
    requests: Vec<RotationRequest>,
) -> Vec<Result<Rotation, Error>> {
    if let [request] = requests.as_slice() {
        return vec![rotate_one(pools, request).await];
    }
    match rotate_together(pools, &requests).await {
        Ok(rotations) => rotations.into_iter().map(Ok).collect(),
        Err(error) => {
            tracing::info!(
                requests = requests.len(),
                error = %error.with_cause(),
                "a batch of refreshes failed as a whole; retrying them one by one"
            );
            let mut answers = Vec::with_capacity(requests.len());
            for request in &requests {
                answers.push(rotate_one(pools, request).await);
            }
            answers
        }
    }
}

/// Rounds of requests, by their index in the batch.
type Rounds = Vec<Vec<usize>>;
/// A request's `(now, grace)`: requests that share one may share a round.
type Second = (i64, i64);

/// The requests in rounds: each round one `(now, grace)` and at most one request of each
/// session, the k-th request of a session in a round after its (k-1)-th. The session is
/// the one each request's pre-read found (a token never changes session); a token deleted
/// since (its session purged) matches nothing in its round and is refused, as alone.
fn rounds(requests: &[RotationRequest]) -> Rounds {
    let mut groups: Vec<(Second, Rounds)> = Vec::new();
    let mut seen: HashMap<(i64, i64, i64), usize> = HashMap::new();
    for (index, request) in requests.iter().enumerate() {
        let session = request.session_id;
        let key = (request.now, request.grace);
        let group = match groups.iter().position(|(k, _)| *k == key) {
            Some(group) => group,
            None => {
                groups.push((key, Vec::new()));
                groups.len() - 1
            }
        };
        let rank = seen.entry((key.0, key.1, session)).or_insert(0);
        let rounds = &mut groups[group].1;
        if rounds.len() <= *rank {
            rounds.push(Vec::new());
        }
        rounds[*rank].push(index);
        *rank += 1;
    }
    groups.into_iter().flat_map(|(_, rounds)| rounds).collect()
}

fn encode(rows: Vec<Value>) -> String {
    Value::Array(rows).to_string()
}

/// `$2` of SPEND and RETRY for the requests at `indices`.
fn asked(requests: &[RotationRequest], indices: &[usize]) -> String {
    encode(
        indices
            .iter()
            .map(|&i| {
                let request = &requests[i];
                json!({
                    "jti": request.jti,
                    "user_id": request.user_id,
                    "expires_at": request.pair.refresh.expires_at,
                })
            })
            .collect(),
    )
}

/// `$1` of RECORD: both tokens of each request's pair, in its session and generation.
fn new_tokens(requests: &[RotationRequest], recorded: &[(usize, i64, i64)]) -> String {
    encode(
        recorded
            .iter()
            .flat_map(|&(i, session, generation)| {
                let pair = &requests[i].pair;
                [&pair.access, &pair.refresh].map(|token| {
                    json!({
                        "jti": token.jti,
                        "session_id": session,
                        "kind": token.kind.as_str(),
                        "created_at": token.issued_at,
                        "expires_at": token.expires_at,
                        "generation": generation,
                        "kid": token.kid,
                    })
                })
            })
            .collect(),
    )
}

/// SPEND for the requests of `$round`, their spent generations marked spent and their
/// new pairs recorded; evaluates to the `(session, generation)` each spent. Three
/// statements on SQLite, one on PostgreSQL.
macro_rules! spend_round {
    (sqlite, $tx:ident, $now:expr, $requests:ident, $round:expr, $by_session:expr) => {{
        let spent: Vec<(i64, i64)> = sqlx::query_as(sqlite::SPEND)
            .bind($now)
            .bind(asked($requests, $round))
            .fetch_all(&mut *$tx)
            .await?;
        if !spent.is_empty() {
            let generations = spent
                .iter()
                .map(|&(session, generation)| json!({ "s": session, "g": generation - 1 }))
                .collect();
            sqlx::query(sqlite::SPEND_TOKENS)
                .bind($now)
                .bind(encode(generations))
                .execute(&mut *$tx)
                .await?;
            let pairs: Vec<(usize, i64, i64)> = spent
                .iter()
                .filter_map(|&(session, generation)| {
                    $by_session.get(&session).map(|&i| (i, session, generation))
                })
                .collect();
            sqlx::query(sqlite::RECORD)
                .bind(new_tokens($requests, &pairs))
                .execute(&mut *$tx)
                .await?;
        }
        spent
    }};
    (postgres, $tx:ident, $now:expr, $requests:ident, $round:expr, $by_session:expr) => {{
        // Each request's pair in its own session; the generation comes from `spent`.
        let pairs: Vec<(usize, i64, i64)> = $round
            .iter()
            .map(|&i| (i, $requests[i].session_id, 0))
            .collect();
        let spent: Vec<(i64, i64)> = sqlx::query_as(postgres::SPEND_AND_RECORD)
            .bind($now)
            .bind(asked($requests, $round))
            .bind(new_tokens($requests, &pairs))
            .fetch_all(&mut *$tx)
            .await?;
        spent
    }};
}

/// The body of `rotate_together` on pool `$db`, with `$sql`'s statements.
macro_rules! rotate_in {
    ($db:ident, $sql:ident, $requests:ident) => {{
        let mut tx = $db.begin().await?;
        let mut outcomes: Vec<Option<Rotation>> = vec![None; $requests.len()];
        for round in rounds($requests) {
            let (now, grace) = ($requests[round[0]].now, $requests[round[0]].grace);
            let by_session: HashMap<i64, usize> = round
                .iter()
                .map(|&i| ($requests[i].session_id, i))
                .collect();
            let spent = spend_round!($sql, tx, now, $requests, &round, &by_session);
            for &(session, _) in &spent {
                if let Some(&i) = by_session.get(&session) {
                    outcomes[i] = Some(Rotation::Rotated);
                }
            }
            let mut recorded: Vec<(usize, i64, i64)> = Vec::new();
            let left: Vec<usize> = round
                .iter()
                .copied()
                .filter(|&i| outcomes[i].is_none())
                .collect();
            if !left.is_empty() {
                let retried: Vec<(i64, i64)> = sqlx::query_as($sql::RETRY)
                    .bind(now)
                    .bind(asked($requests, &left))
                    .bind(grace)
                    .fetch_all(&mut *tx)
                    .await?;
                for (session, generation) in retried {
                    if let Some(&i) = by_session.get(&session) {
                        outcomes[i] = Some(Rotation::Retried);
                        recorded.push((i, session, generation));
                    }
                }
            }
            if !recorded.is_empty() {
                sqlx::query($sql::RECORD)
                    .bind(new_tokens($requests, &recorded))
                    .execute(&mut *tx)
                    .await?;
            }
            for &i in &round {
                if outcomes[i].is_none() {
                    outcomes[i] =
                        Some(Rotation::from(revoke_if_spent!(tx, &$requests[i].jti, now)));
                }
            }
        }
        tx.commit().await?;
        outcomes
    }};
}

/// One transaction for every request: per round the spend with its marking and recording
/// (`spend_round!`), RETRY and its RECORD, and, for what is left, reuse detection.
async fn rotate_together(
    pools: &Pools,
    requests: &[RotationRequest],
) -> Result<Vec<Rotation>, Error> {
    let outcomes = writer_of!(pools,
        sqlite: db => rotate_in!(db, sqlite, requests),
        postgres: db => rotate_in!(db, postgres, requests)
    );
    // Every request was in a round, and every round decides each of its requests.
    Ok(outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap_or(Rotation::Rejected))
        .collect())
}

#[cfg(test)]
#[path = "rotation_batch_tests.rs"]
mod tests;
