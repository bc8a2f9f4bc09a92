//! Spending a refresh token: rotation by generations, with a grace window for retries.
//!
//! A session's refresh tokens are numbered by generation (`sessions.generation`, and the
//! `generation` each token row was issued in). **Invariant: a session has at most one live
//! generation, the current one, and only its tokens can spend it.** Spending is one
//! conditional `UPDATE` of the session row — `generation = generation + 1 WHERE generation =
//! <the token's>` — so of any number of requests presenting tokens of one generation, on any
//! node, exactly one moves the session on; the same transaction marks every token of the
//! spent generation spent and records the new pair in the next.
//!
//! A token of the generation *just* spent, presented within `grace` seconds of that spending
//! (`sessions.rotated_at`), is an honest retry (a lost response, a second tab, the losers of
//! a race): it gets a *sibling* — a new pair recorded in the current generation — and the
//! session lives on. Siblings are not independently live: the first of them to be used
//! spends the generation, and with it all the others. The sibling is recorded by a
//! conditional `UPDATE` of the same session row (`WHERE generation = <the token's> + 1`), so
//! it can never land in a generation that a concurrent refresh has spent meanwhile.
//! Anything else that was spent — an older generation, or the previous one after the window
//! — is reuse: the session is revoked, as before.
//!
//! Under races: SQLite has one writer, so the transactions simply run one after another.
//! On PostgreSQL (READ COMMITTED) concurrent `UPDATE`s of one session row wait for its row
//! lock and then re-check their `WHERE` against the committed row: the losers of a spend
//! find the generation moved on and match nothing, and their next statement (the grace
//! `UPDATE`) sees the winner's commit. The grace `UPDATE` holds the same row lock until its
//! sibling is inserted, so a spend of that generation waits for the sibling, and spends it.
//! Nothing here extends a session past its fixed `ends_at`.
//!
//! Concurrent refreshes share one transaction (`rotation_batch.rs`): the statements below,
//! made set-based, run once for every request that was waiting. This file keeps the one-
//! request form, which a batch of one uses, and every request of a batch that failed as a
//! whole (a deadlock with another node, say) is retried with, one by one.

use super::{INSERT_PAIR, REVOKE_REUSED, SPENT_TOKEN_SESSION, Spent};
use crate::{
    auth::model::{LiveSession, Rotation, RotationRule, TokenPair},
    error::Error,
    store::{Pools, Store},
};

/// One request to spend a refresh token, as [`Store::rotate_refresh`] was asked.
pub struct RotationRequest {
    pub jti: String,
    /// The session `jti` was recorded in, as [`Store::refresh_session`] found it. It only
    /// groups the requests of a batch: every statement still finds the session through
    /// the token's own row.
    pub session_id: i64,
    pub user_id: i64,
    pub now: i64,
    pub pair: TokenPair,
    pub grace: i64,
}

impl Store {
    /// Spends refresh token `jti` of `user_id` and records `pair` in the next generation of
    /// its session; or, for a retry within the grace window, records `pair` as a sibling
    /// in the current generation; or revokes the session if the token was spent otherwise.
    /// `session` is what [`Store::refresh_session`] found for `jti`.
    pub async fn rotate_refresh(
        &self,
        jti: &str,
        session: LiveSession,
        user_id: i64,
        now: i64,
        pair: &TokenPair,
        rule: RotationRule,
    ) -> Result<Rotation, Error> {
        self.refuse_if_down()?;
        self.rotations
            .submit(RotationRequest {
                jti: jti.to_owned(),
                session_id: session.session_id,
                user_id,
                now,
                pair: pair.clone(),
                grace: rule.grace,
            })
            .await
    }
}

/// [`Store::rotate_refresh`] for one request, in a transaction of its own.
pub(super) async fn rotate_one(
    pools: &Pools,
    request: &RotationRequest,
) -> Result<Rotation, Error> {
    let RotationRequest {
        jti,
        session_id: _,
        user_id,
        now,
        pair,
        grace,
    } = request;
    let (now, user_id, grace) = (*now, *user_id, *grace);
    // The one conditional write that decides who spends the token's generation.
    const SPEND: &str = "UPDATE sessions
             SET generation = generation + 1, rotated_at = $1, last_used_at = $1,
                 expires_at = $4
             WHERE revoked_at IS NULL AND ends_at > $1 AND user_id = $3
               AND id = (SELECT session_id FROM tokens
                         WHERE jti = $2 AND kind = 'refresh' AND spent_at IS NULL
                           AND expires_at > $1)
               AND generation = (SELECT generation FROM tokens WHERE jti = $2)
               AND EXISTS (SELECT 1 FROM users u WHERE u.id = sessions.user_id AND u.is_active)
             RETURNING id, generation";
    const SPEND_TOKENS: &str = "UPDATE tokens SET spent_at = $1
             WHERE session_id = $2 AND kind = 'refresh' AND generation = $3
               AND spent_at IS NULL";
    // A retry of the generation just spent, inside the window: a sibling, no spending.
    const RETRY: &str = "UPDATE sessions
             SET last_used_at = $1,
                 expires_at = CASE WHEN expires_at < $4 THEN $4 ELSE expires_at END
             WHERE revoked_at IS NULL AND ends_at > $1 AND user_id = $3
               AND $5 > 0 AND rotated_at > $1 - $5
               AND id = (SELECT session_id FROM tokens
                         WHERE jti = $2 AND kind = 'refresh' AND expires_at > $1)
               AND generation = (SELECT generation + 1 FROM tokens WHERE jti = $2)
               AND EXISTS (SELECT 1 FROM users u WHERE u.id = sessions.user_id AND u.is_active)
             RETURNING id, generation";
    let rotation = writer_of!(pools, db => {
        let mut tx = db.begin().await?;
        let spent: Option<(i64, i64)> = sqlx::query_as(SPEND)
            .bind(now)
            .bind(jti)
            .bind(user_id)
            .bind(pair.refresh.expires_at)
            .fetch_optional(&mut *tx)
            .await?;
        let rotation = if let Some((session_id, generation)) = spent {
            sqlx::query(SPEND_TOKENS)
                .bind(now)
                .bind(session_id)
                .bind(generation - 1)
                .execute(&mut *tx)
                .await?;
            record_pair!(tx, session_id, generation, pair);
            Rotation::Rotated
        } else {
            let retried: Option<(i64, i64)> = sqlx::query_as(RETRY)
                .bind(now)
                .bind(jti)
                .bind(user_id)
                .bind(pair.refresh.expires_at)
                .bind(grace)
                .fetch_optional(&mut *tx)
                .await?;
            match retried {
                Some((session_id, generation)) => {
                    record_pair!(tx, session_id, generation, pair);
                    Rotation::Retried
                }
                None => Rotation::from(revoke_if_spent!(tx, jti, now)),
            }
        };
        tx.commit().await?;
        rotation
    });
    Ok(rotation)
}
