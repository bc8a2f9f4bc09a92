//! Sessions: login starts one, refresh rotates its tokens, logout (or a reused refresh
//! token) ends it, and "who am I" answers only while it is live.
//!
//! Login with an unknown or inactive username still runs a full argon2 verify (against a
//! dummy hash) and fails with the same error as a wrong password, so neither the answer nor
//! its timing tells a caller which usernames exist. Before any of that, the client's
//! per-address budget is spent and the attempt is claimed against the username's failures
//! (`throttle`), so a throttled attempt never reaches argon2.
//!
//! A refresh token whose session is already over is refused on a read: the first replay of
//! a spent token revoked its session, and every later one finds nothing left to change, so
//! it costs no write and, in a flood, only a sampled log line.

use tracing::instrument;

use super::{
    AcceptedSchemes, Auth, Context,
    credentials::{Credentials, parse_authorization},
    django_hashes, events,
    fields::{Input, Password, login_username, required_text},
    hashing::Reservation,
    model::{
        Credential, EndedSessionToken, Ending, Identity, LiveSession, PasswordRecord,
        RefreshSession, Revoked, Rotation, SessionOrigin, TokenKind, TokenPair, User,
    },
    random::random_hex,
    served_user::serving,
};
use crate::error::{Error, Field, FieldErrors};

/// A password check that matched. The failures it counted against its username key
/// stay counted until the caller settles it: a login in the transaction that starts its
/// session (`start_session_for`), any other caller with [`Auth::settle_match`].
#[must_use = "a match keeps its attempt counted as a failure until it is settled"]
pub(super) struct Matched {
    pub(super) user: User,
    /// The username key the attempt was counted against.
    login_key: String,
}

impl Auth {
    /// Forgets the failures counted against `matched`'s username key: its user, for a
    /// caller that starts no session.
    pub(super) async fn settle_match(&self, matched: Matched) -> Result<User, Error> {
        self.store.record_login_success(&matched.login_key).await?;
        Ok(matched.user)
    }

    #[instrument(skip_all, fields(request_id = %ctx.request_id, client = ?ctx.client, user_id))]
    pub async fn login(
        &self,
        ctx: &Context,
        username: Input<'_>,
        password: Input<'_>,
    ) -> Result<(User, TokenPair), Error> {
        let result = async {
            self.limit_client(ctx)?;
            let matched = self.authenticate(ctx, username, password).await?;
            self.start_session_for(ctx, matched).await
        }
        .await;
        events::login_attempt(&result);
        result
    }

    /// A new session for the user whose password just matched; the session's transaction
    /// also forgets the failures counted against the login.
    pub(super) async fn start_session_for(
        &self,
        ctx: &Context,
        matched: Matched,
    ) -> Result<(User, TokenPair), Error> {
        let Matched { user, login_key } = matched;
        let ends_at = ctx.now.saturating_add(self.session_max_age);
        let pair = self.issue_pair(ctx, user.id, ends_at).await?;
        let origin = SessionOrigin {
            public_id: &random_hex::<16>()?,
            user_agent: ctx.user_agent.as_deref(),
            ip: ctx.client.map(|ip| ip.to_string()),
        };
        self.store
            .start_session(user.id, &pair, ends_at, &origin, &login_key)
            .await?;
        tracing::info!(event = "session.started", "session started");
        Ok((user, pair))
    }

    /// Checks a username and password: the user, or `InvalidCredentials` after the same
    /// argon2 work whether the user exists or not, or `Throttled` (with no argon2 work)
    /// while the username must wait after failed attempts.
    pub(super) async fn authenticate(
        &self,
        ctx: &Context,
        username: Input<'_>,
        password: Input<'_>,
    ) -> Result<Matched, Error> {
        let (username_key, password) =
            login_fields((Field::Username, login_username, username), password)?;

        // The place in the hashing line comes first: a login the line cannot take is refused
        // before it costs a database read or counts as an attempt.
        let place = self.hasher.reserve()?;
        self.check_password(ctx, place, &username_key, password)
            .await
    }

    /// Checks `password` against the account keyed `username_key` (none: a dummy hash, the
    /// same work), counting the attempt against that key's throttle. A failure is settled
    /// here; a match is left for the caller to settle ([`Matched`]).
    pub(super) async fn check_password(
        &self,
        ctx: &Context,
        place: Reservation,
        username_key: &str,
        password: Password,
    ) -> Result<Matched, Error> {
        let failures = self.claim_password_check(ctx, username_key).await?;
        let stored = self.store.password_record(username_key).await?;
        let live_hash = stored
            .as_ref()
            .filter(|record| record.is_active)
            .map(|record| record.password_hash.as_str());
        let matched = self
            .hasher
            .verify(place, password.expose(), live_hash, ctx.deadline)
            .await?;
        if !matched {
            self.settle_failed_check(ctx, username_key, failures)
                .await?;
            tracing::info!(event = "login.failed", "login refused");
            return Err(Error::InvalidCredentials);
        }
        let record = stored.ok_or(Error::InvalidCredentials)?;
        serving(record.user.id);
        if django_hashes::is_django_hash(&record.password_hash) {
            self.upgrade_imported_hash(ctx, &record, &password).await;
        }
        Ok(Matched {
            user: record.user,
            login_key: username_key.to_owned(),
        })
    }

    /// Replaces a hash imported from Django, which `password` has just matched, with
    /// authd's own argon2id, so the next login costs what every other does. Best effort:
    /// when the hashing line is full or the write fails, the login still succeeds and the
    /// next one tries again.
    async fn upgrade_imported_hash(
        &self,
        ctx: &Context,
        record: &PasswordRecord,
        password: &Password,
    ) {
        let upgraded = async {
            let place = self.hasher.reserve()?;
            let hash = self
                .hasher
                .hash(place, password.expose(), ctx.deadline)
                .await?;
            self.store
                .upgrade_password_hash(record.user.id, &record.password_hash, &hash)
                .await
        };
        match upgraded.await {
            Ok(true) => tracing::info!(
                event = "password.upgraded",
                "imported Django hash replaced by argon2id"
            ),
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(error = %error.with_cause(), "could not upgrade an imported password hash")
            }
        }
    }

    /// Spends `refresh_token` for a new pair.
    #[instrument(skip_all, fields(request_id = %ctx.request_id, user_id))]
    pub async fn refresh(
        &self,
        ctx: &Context,
        refresh_token: Input<'_>,
    ) -> Result<TokenPair, Error> {
        self.limit_client(ctx)?;
        let token = required_text(Field::RefreshToken, refresh_token)?;
        let claims = self.verify_token(ctx, token, TokenKind::Refresh).await?;
        serving(claims.user_id);
        let session = self.live_session(ctx, &claims.jti).await?;
        let pair = self
            .issue_pair(ctx, claims.user_id, session.ends_at)
            .await?;
        let rotation = self
            .store
            .rotate_refresh(
                &claims.jti,
                session,
                claims.user_id,
                ctx.now,
                &pair,
                self.rotation,
            )
            .await?;
        match rotation {
            Rotation::Rotated => {
                tracing::info!(event = "session.refreshed", "session refreshed");
                Ok(pair)
            }
            Rotation::Retried => {
                tracing::info!(
                    event = "session.refresh_retried",
                    "refresh retried within the grace window; session kept"
                );
                Ok(pair)
            }
            Rotation::Reused { session_id } => Err(self.reused(session_id)),
            Rotation::Replayed => Err(self.replayed(ctx)),
            Rotation::Rejected => Err(Error::InvalidToken),
        }
    }

    /// Ends the session of `refresh_token`; its tokens stop working at once.
    #[instrument(skip_all, fields(request_id = %ctx.request_id, user_id))]
    pub async fn logout(&self, ctx: &Context, refresh_token: Input<'_>) -> Result<(), Error> {
        let token = required_text(Field::RefreshToken, refresh_token)?;
        let claims = self.verify_token(ctx, token, TokenKind::Refresh).await?;
        serving(claims.user_id);
        self.live_session(ctx, &claims.jti).await?;
        match self.store.end_session(&claims.jti, ctx.now).await? {
            Ending::Ended => {
                tracing::info!(event = "session.ended", "session ended");
                Ok(())
            }
            Ending::Reused { session_id } => Err(self.reused(session_id)),
            Ending::Replayed => Err(self.replayed(ctx)),
            Ending::Rejected => Err(Error::InvalidToken),
        }
    }

    /// The live session of refresh token `jti`, and when it ends for good. A token never
    /// recorded, or whose session is already over, is refused on this read: whatever it is
    /// presented for, nothing is left to change.
    async fn live_session(&self, ctx: &Context, jti: &str) -> Result<LiveSession, Error> {
        match self.store.refresh_session(jti).await? {
            Some(RefreshSession::Live(session)) => Ok(session),
            Some(RefreshSession::Over(EndedSessionToken::Spent)) => Err(self.replayed(ctx)),
            Some(RefreshSession::Over(EndedSessionToken::Unspent)) | None => {
                Err(Error::InvalidToken)
            }
        }
    }

    /// A spent refresh token presented again while its session was live: likely theft, and
    /// the session is now revoked. Logged every time; it happens once per session.
    fn reused(&self, session_id: i64) -> Error {
        events::refresh_reuse();
        tracing::warn!(
            event = "refresh.reuse_detected",
            session_id,
            "spent refresh token presented again; session revoked"
        );
        Error::InvalidToken
    }

    /// A spent refresh token presented again after its session ended: nothing changes, and
    /// a flood of them is one line a minute.
    fn replayed(&self, ctx: &Context) -> Error {
        if let Some(replays) = self.lines.replays.sample(ctx.now) {
            tracing::info!(
                event = "refresh.replayed",
                replays,
                client = ?ctx.client,
                "spent refresh tokens of ended sessions presented again"
            );
        }
        Error::InvalidToken
    }

    /// The user behind an `Authorization` value in one of the `accepted` schemes
    /// (`Bearer <access JWT>`, `Token <API key>`), if its token and session (or key) are live.
    ///
    /// Its span is at DEBUG: "who am I" writes no audit line of its own, and at the rate
    /// other services call it the span alone cost a tenth of the request. The request's
    /// line still names the user (`served_user::serving`).
    #[instrument(level = "debug", skip_all, fields(request_id = %ctx.request_id, user_id))]
    pub async fn me(
        &self,
        ctx: &Context,
        authorization: Option<&str>,
        accepted: AcceptedSchemes,
    ) -> Result<User, Error> {
        Ok(self.identify(ctx, authorization, accepted).await?.user)
    }

    /// The user behind an `Authorization` value, as [`Auth::me`], and the credential it
    /// was: what the calls that act on the caller's own sessions need.
    pub(super) async fn identify(
        &self,
        ctx: &Context,
        authorization: Option<&str>,
        accepted: AcceptedSchemes,
    ) -> Result<Identity, Error> {
        let identity = match parse_authorization(authorization, accepted)? {
            Credentials::Bearer(token) => {
                let claims = self.verify_token(ctx, token, TokenKind::Access).await?;
                self.store
                    .session_user(&claims.jti, ctx.now)
                    .await?
                    .map(|found| Identity {
                        user: found.user,
                        credential: Credential::Session {
                            session_id: found.session_id,
                        },
                    })
            }
            Credentials::ApiKey(key) => {
                let key_hash = super::api_keys::key_hash(key);
                self.store
                    .api_key_user(&key_hash, ctx.now)
                    .await?
                    .map(|found| Identity {
                        user: found.user,
                        credential: Credential::ApiKey { key_hash },
                    })
            }
        };
        let identity = identity.ok_or(Error::InvalidToken)?;
        serving(identity.user.id);
        Ok(identity)
    }

    /// Ends every session and API key of the caller behind `authorization`.
    #[instrument(skip_all, fields(request_id = %ctx.request_id, user_id))]
    pub async fn revoke_all(
        &self,
        ctx: &Context,
        authorization: Option<&str>,
        accepted: AcceptedSchemes,
    ) -> Result<Revoked, Error> {
        let user = self.me(ctx, authorization, accepted).await?;
        serving(user.id);
        let revoked = self.store.revoke_all(user.id, ctx.now).await?;
        tracing::info!(
            event = "session.revoked",
            sessions = revoked.sessions,
            api_keys = revoked.api_keys,
            "revoked everything"
        );
        Ok(revoked)
    }

    /// A new pair for `user_id` in a session that ends for good at `ends_at`: neither token
    /// claims to live past it.
    pub(super) async fn issue_pair(
        &self,
        ctx: &Context,
        user_id: i64,
        ends_at: i64,
    ) -> Result<TokenPair, Error> {
        let signer = self.signer(ctx).await?;
        Ok(TokenPair {
            access: signer.issue(TokenKind::Access, user_id, ctx.now, ends_at)?,
            refresh: signer.issue(TokenKind::Refresh, user_id, ctx.now, ends_at)?,
        })
    }
}

/// How a login form names the account: its field, how that field's text becomes the key
/// the account is found by, and the text sent.
pub(super) type LoginName<'a> = (
    Field,
    fn(Input<'_>) -> Result<String, Vec<String>>,
    Input<'a>,
);

/// The account key and the password of a login form, with every failing field reported.
pub(super) fn login_fields(
    (field, key, name): LoginName<'_>,
    password: Input<'_>,
) -> Result<(String, Password), Error> {
    let mut errors = FieldErrors::new();
    let key = key(name)
        .map_err(|messages| errors.extend(field, messages))
        .ok();
    let password = Password::parse_for_login(password)
        .map_err(|messages| errors.extend(Field::Password, messages))
        .ok();
    errors.into_result()?;
    match (key, password) {
        (Some(key), Some(password)) => Ok((key, password)),
        _ => Err(Error::Internal("validated fields missing".into())),
    }
}
