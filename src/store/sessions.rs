//! Sessions and their tokens: start, look up, end, revoke all; rotation (spending a
//! refresh token, with its grace window for retries) is in [`rotation`].

use super::{
    Store,
    rows::{KeyedSessionUserRow, RefreshSessionRow, SessionUserRow},
};
use crate::{
    auth::model::{
        EndedSessionToken, Ending, LiveSession, RefreshSession, Revoked, Rotation, SessionOrigin,
        SessionUser, TokenPair,
    },
    error::Error,
};

/// A pair's two tokens in one statement: the access token's seven columns, then the
/// refresh token's.
const INSERT_PAIR: &str = "INSERT INTO tokens (jti, session_id, kind, created_at, expires_at,
                                               generation, kid)
                           VALUES ($1, $2, $3, $4, $5, $6, $7), ($8, $9, $10, $11, $12, $13, $14)";
/// A condition on token `t`: the key that signed it has not been retired.
macro_rules! signed_by_unretired_key {
    () => {
        "NOT EXISTS (SELECT 1 FROM signing_keys k WHERE k.kid = t.kid AND k.retired_at IS NOT NULL)"
    };
}

/// What every access-token read selects, and from where: the token's `jti` and the
/// [`SessionUserRow`] behind it.
macro_rules! access_token_rows {
    () => {
        "SELECT t.jti AS key, u.id, u.username, u.email, u.created_at,
                s.id AS session_id, s.public_id
         FROM tokens t
         JOIN sessions s ON s.id = t.session_id
         JOIN users u ON u.id = s.user_id"
    };
}

/// The condition every access-token read applies: recorded as an access token, unexpired
/// at `$2`, its session live, its user active and its signing key not retired.
macro_rules! live_access_token {
    () => {
        concat!(
            " AND t.kind = 'access' AND t.expires_at > $2
               AND s.revoked_at IS NULL AND s.ends_at > $2 AND u.is_active AND ",
            signed_by_unretired_key!()
        )
    };
}

/// [`Store::refresh_session`]'s read: a refresh token's session, if a key not retired
/// signed it.
pub(super) const REFRESH_SESSION: &str = concat!(
    "SELECT t.session_id, t.spent_at IS NOT NULL AS spent,
            s.revoked_at IS NOT NULL AS session_over, s.ends_at
     FROM tokens t JOIN sessions s ON s.id = t.session_id
     WHERE t.jti = $1 AND t.kind = 'refresh' AND ",
    signed_by_unretired_key!()
);

const SPENT_TOKEN_SESSION: &str = "SELECT session_id FROM tokens
                                   WHERE jti = $1 AND kind = 'refresh' AND spent_at IS NOT NULL";
const REVOKE_REUSED: &str = "UPDATE sessions SET revoked_at = $1, revoked_reason = 'refresh_reuse'
                             WHERE id = $2 AND revoked_at IS NULL";

/// Records a token pair in generation `$generation` of session `$session`, inside
/// transaction `$tx`.
macro_rules! record_pair {
    ($tx:ident, $session:expr, $generation:expr, $pair:expr) => {
        let mut insert = sqlx::query(INSERT_PAIR);
        for token in [&$pair.access, &$pair.refresh] {
            insert = insert
                .bind(&token.jti)
                .bind($session)
                .bind(token.kind.as_str())
                .bind(token.issued_at)
                .bind(token.expires_at)
                .bind($generation)
                .bind(&token.kid);
        }
        insert.execute(&mut *$tx).await?;
    };
}

/// What reuse detection found for a refresh token that could not be spent.
enum Spent {
    /// Not spent: unknown, expired, or its session over before it was used.
    No,
    /// Spent before, so this is reuse: its session `.0` is revoked now.
    RevokedNow(i64),
    /// Spent before, and its session was already over: nothing was written.
    AlreadyOver,
}

impl From<Spent> for Rotation {
    /// What a refresh that could neither spend nor retry its token comes to.
    fn from(spent: Spent) -> Self {
        match spent {
            Spent::No => Rotation::Rejected,
            Spent::RevokedNow(session_id) => Rotation::Reused { session_id },
            Spent::AlreadyOver => Rotation::Replayed,
        }
    }
}

/// Reuse detection, inside transaction `$tx`: if refresh token `$jti` was already spent,
/// revoke its whole session unless that is already over. Evaluates to a [`Spent`].
macro_rules! revoke_if_spent {
    ($tx:ident, $jti:expr, $now:expr) => {{
        let spent: Option<i64> = sqlx::query_scalar(SPENT_TOKEN_SESSION)
            .bind($jti)
            .fetch_optional(&mut *$tx)
            .await?;
        match spent {
            None => Spent::No,
            Some(session_id) => {
                let revoked = sqlx::query(REVOKE_REUSED)
                    .bind($now)
                    .bind(session_id)
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected();
                if revoked == 1 {
                    Spent::RevokedNow(session_id)
                } else {
                    Spent::AlreadyOver
                }
            }
        }
    }};
}

mod by_user;
mod rotation;
mod rotation_batch;

pub(super) use rotation::RotationRequest;
pub(super) use rotation_batch::rotate_all;

impl Store {
    /// Records a new session, over for good at `ends_at`, and its first token pair; in the
    /// same transaction, the login that started it forgets the failures counted against
    /// `login_key` (as [`Store::record_login_success`] does on its own).
    pub async fn start_session(
        &self,
        user_id: i64,
        pair: &TokenPair,
        ends_at: i64,
        origin: &SessionOrigin<'_>,
        login_key: &str,
    ) -> Result<(), Error> {
        const SQL: &str = "INSERT INTO sessions (user_id, created_at, expires_at, last_used_at,
                                                 ends_at, public_id, user_agent, ip)
                           VALUES ($1, $2, $3, $2, $4, $5, $6, $7) RETURNING id";
        on_writer!(self, db => {
            let mut tx = db.begin().await?;
            sqlx::query(super::login_attempts::FORGET_FAILURES)
                .bind(login_key)
                .execute(&mut *tx)
                .await?;
            let session_id: i64 = sqlx::query_scalar(SQL)
                .bind(user_id)
                .bind(pair.refresh.issued_at)
                .bind(pair.refresh.expires_at)
                .bind(ends_at)
                .bind(origin.public_id)
                .bind(origin.user_agent)
                .bind(origin.ip.as_deref())
                .fetch_one(&mut *tx)
                .await?;
            record_pair!(tx, session_id, 0_i64, pair);
            tx.commit().await?;
        });
        Ok(())
    }

    /// The user behind access token `jti` and its session, if the token is recorded,
    /// unexpired and its session still live, as of a statement that starts after this
    /// call (reads of concurrent requests share one; see `store::coalesced`).
    pub async fn session_user(&self, jti: &str, now: i64) -> Result<Option<SessionUser>, Error> {
        const INLINE: &str = concat!(
            access_token_rows!(),
            " WHERE t.jti = $1",
            live_access_token!()
        );
        self.live_row(
            INLINE,
            SessionUserRow::from_inline,
            &self.access_reads,
            jti,
            now,
        )
        .await
    }

    /// Refresh token `jti`'s user and session, if the token is recorded, unspent,
    /// unexpired and its session still live: what introspection reports.
    pub async fn refresh_token_user(
        &self,
        jti: &str,
        now: i64,
    ) -> Result<Option<SessionUser>, Error> {
        const SQL: &str = concat!(
            "SELECT u.id, u.username, u.email, u.created_at, s.id AS session_id, s.public_id
             FROM tokens t
             JOIN sessions s ON s.id = t.session_id
             JOIN users u ON u.id = s.user_id
             WHERE t.jti = $1 AND t.kind = 'refresh' AND t.expires_at > $2
               AND t.spent_at IS NULL
               AND s.revoked_at IS NULL AND s.ends_at > $2 AND u.is_active AND ",
            signed_by_unretired_key!()
        );
        let row: Option<SessionUserRow> = on_reader!(self, db => {
            sqlx::query_as(SQL).bind(jti).bind(now).fetch_optional(db).await?
        });
        Ok(row.map(SessionUser::from))
    }

    /// Revokes the live session that refresh token `jti` belongs to; a spent token revokes
    /// its session as reuse instead.
    pub async fn end_session(&self, jti: &str, now: i64) -> Result<Ending, Error> {
        const SQL: &str = "UPDATE sessions SET revoked_at = $1, revoked_reason = 'logout'
             WHERE revoked_at IS NULL AND id = (
                 SELECT session_id FROM tokens
                 WHERE jti = $2 AND kind = 'refresh' AND spent_at IS NULL AND expires_at > $1)";
        let ending = on_writer!(self, db => {
            let mut tx = db.begin().await?;
            let ended = sqlx::query(SQL).bind(now).bind(jti).execute(&mut *tx).await?.rows_affected() == 1;
            let ending = if ended {
                Ending::Ended
            } else {
                match revoke_if_spent!(tx, jti, now) {
                    Spent::No => Ending::Rejected,
                    Spent::RevokedNow(session_id) => Ending::Reused { session_id },
                    Spent::AlreadyOver => Ending::Replayed,
                }
            };
            tx.commit().await?;
            ending
        });
        Ok(ending)
    }

    /// What refresh token `jti`'s session is, read without taking the writer: `None` for a
    /// token never recorded, or signed by a retired key. A token whose session is already
    /// over can change nothing, so it is refused before any write is attempted; a live one
    /// learns when its session ends for good, which caps the expiry of the tokens it is
    /// exchanged for, and which session it is, which groups the refreshes of one batch
    /// (`rotation_batch.rs`).
    pub async fn refresh_session(&self, jti: &str) -> Result<Option<RefreshSession>, Error> {
        self.refuse_if_down()?;
        let inline = self.inline_read(REFRESH_SESSION, (jti,), RefreshSessionRow::from_inline);
        let row = match inline {
            Some(row) => row,
            None => on_reader!(self,
                sqlite: db => sqlx::query_as(REFRESH_SESSION).bind(jti).fetch_optional(db).await?,
                postgres: db => {
                    let owned = jti.to_owned();
                    let held = self.held_reads.read(db, move |connection| {
                        Box::pin(async move {
                            sqlx::query_as(REFRESH_SESSION).bind(owned).fetch_optional(connection).await
                        })
                    });
                    match held.await {
                        Some(row) => row,
                        None => sqlx::query_as(REFRESH_SESSION).bind(jti).fetch_optional(db).await?,
                    }
                }
            ),
        };
        Ok(row.map(|row| match (row.session_over, row.spent) {
            (false, _) => RefreshSession::Live(LiveSession {
                session_id: row.session_id,
                ends_at: row.ends_at,
            }),
            (true, true) => RefreshSession::Over(EndedSessionToken::Spent),
            (true, false) => RefreshSession::Over(EndedSessionToken::Unspent),
        }))
    }

    /// Revokes every live session and API key of `user_id`; returns how many of each.
    pub async fn revoke_all(&self, user_id: i64, now: i64) -> Result<Revoked, Error> {
        const SESSIONS: &str = "UPDATE sessions SET revoked_at = $1, revoked_reason = 'revoke_all'
                                WHERE user_id = $2 AND revoked_at IS NULL";
        const KEYS: &str = "UPDATE api_keys SET revoked_at = $1
                            WHERE user_id = $2 AND revoked_at IS NULL";
        let counts = on_writer!(self, db => {
            let mut tx = db.begin().await?;
            let sessions = sqlx::query(SESSIONS).bind(now).bind(user_id).execute(&mut *tx).await?;
            let keys = sqlx::query(KEYS).bind(now).bind(user_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Revoked { sessions: sessions.rows_affected(), api_keys: keys.rows_affected() }
        });
        Ok(counts)
    }
}

/// [`Store::session_user`] for many access tokens at one `now`, in one statement: the rows
/// of the live ones, by `jti`.
pub(super) async fn live_access_tokens(
    pools: &super::Pools,
    batch: super::coalesced::Batch,
) -> Result<Vec<(String, SessionUser)>, Error> {
    const SQLITE: &str = concat!(
        access_token_rows!(),
        " WHERE t.jti IN (SELECT value FROM json_each($1))",
        live_access_token!()
    );
    const POSTGRES: &str = concat!(
        access_token_rows!(),
        " WHERE t.jti = ANY($1)",
        live_access_token!()
    );
    let rows: Vec<KeyedSessionUserRow> =
        super::coalesced::fetch_batch(pools, SQLITE, POSTGRES, batch).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.key, SessionUser::from(row.found)))
        .collect())
}
