//! Accounts as an operator manages them from the shell (`authd users …`): list, disable,
//! enable, set a password. Creating one is [`Auth::register`] itself, so a user made from
//! the shell passes exactly the rules, and gets exactly the messages, of one registered over
//! the API.
//!
//! Users are named by username and found by its key, as login finds them. Disabling a user
//! and setting a password end every session and API key at once (one transaction in the
//! store); a new password must pass the same policy as at registration, judged against the
//! stored username and email. Each change is an audit line; none logs a password or hash.

use tracing::instrument;

use super::{
    Auth, Context,
    fields::{Input, login_username},
    model::{Account, PasswordRecord, Revoked, SessionInfo, User},
    served_user::serving,
};
use crate::error::{Error, Field, FieldErrors};

/// Users read per query while listing, so a large table is never one huge result.
const LIST_BATCH: i64 = 500;

impl Auth {
    /// Every user, in id order, with whether each may log in.
    pub async fn accounts(&self) -> Result<Vec<Account>, Error> {
        let mut accounts = Vec::new();
        loop {
            let after = accounts
                .last()
                .map_or(0, |account: &Account| account.user.id);
            let batch = self.store.accounts_after(after, LIST_BATCH).await?;
            let done = batch.len() < usize::try_from(LIST_BATCH).unwrap_or(usize::MAX);
            accounts.extend(batch);
            if done {
                return Ok(accounts);
            }
        }
    }

    /// Stops `username` from logging in and ends all their sessions and API keys; `None`
    /// when there is no such user.
    #[instrument(skip_all, fields(request_id = %ctx.request_id, user_id))]
    pub async fn disable_user(
        &self,
        ctx: &Context,
        username: &str,
    ) -> Result<Option<(User, Revoked)>, Error> {
        let Some(record) = self.account_named(username).await? else {
            return Ok(None);
        };
        serving(record.user.id);
        let revoked = self
            .store
            .set_active(record.user.id, false, ctx.now)
            .await?;
        let Some(revoked) = revoked else {
            return Ok(None);
        };
        tracing::info!(
            event = "user.disabled",
            sessions = revoked.sessions,
            api_keys = revoked.api_keys,
            "user disabled"
        );
        Ok(Some((record.user, revoked)))
    }

    /// Lets `username` log in again (their ended sessions stay ended); `None` when there is
    /// no such user.
    #[instrument(skip_all, fields(request_id = %ctx.request_id, user_id))]
    pub async fn enable_user(&self, ctx: &Context, username: &str) -> Result<Option<User>, Error> {
        let Some(record) = self.account_named(username).await? else {
            return Ok(None);
        };
        serving(record.user.id);
        if self
            .store
            .set_active(record.user.id, true, ctx.now)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        tracing::info!(event = "user.enabled", "user enabled");
        Ok(Some(record.user))
    }

    /// Gives `username` a new password, held to the registration policy, and ends all
    /// their sessions and API keys; `None` when there is no such user.
    #[instrument(skip_all, fields(request_id = %ctx.request_id, user_id))]
    pub async fn set_password(
        &self,
        ctx: &Context,
        username: &str,
        password: Input<'_>,
    ) -> Result<Option<(User, Revoked)>, Error> {
        let Some(record) = self.account_named(username).await? else {
            return Ok(None);
        };
        let user = record.user;
        serving(user.id);
        let mut errors = FieldErrors::new();
        let password = self.new_password_for(&user, password, Field::Password, &mut errors);
        errors.into_result()?;
        let Some(password) = password else {
            return Err(Error::Internal("validated password missing".into()));
        };
        let place = self.hasher.reserve()?;
        let hash = self
            .hasher
            .hash(place, password.expose(), ctx.deadline)
            .await?;
        let Some(revoked) = self
            .store
            .set_password_hash(user.id, &hash, ctx.now)
            .await?
        else {
            return Ok(None);
        };
        tracing::info!(
            event = "password.set",
            sessions = revoked.sessions,
            api_keys = revoked.api_keys,
            "password set by an operator"
        );
        Ok(Some((user, revoked)))
    }

    /// The live sessions of `username`, newest first; `None` when there is no such user.
    pub async fn sessions_of(
        &self,
        ctx: &Context,
        username: &str,
    ) -> Result<Option<(User, Vec<SessionInfo>)>, Error> {
        let Some(record) = self.account_named(username).await? else {
            return Ok(None);
        };
        let sessions = self
            .store
            .live_sessions(record.user.id, ctx.now, None)
            .await?;
        Ok(Some((record.user, sessions)))
    }

    /// Ends every live session of `username` at once (their API keys stay); how many.
    /// `None` when there is no such user.
    #[instrument(skip_all, fields(request_id = %ctx.request_id, user_id))]
    pub async fn end_sessions_of(
        &self,
        ctx: &Context,
        username: &str,
    ) -> Result<Option<(User, u64)>, Error> {
        let Some(record) = self.account_named(username).await? else {
            return Ok(None);
        };
        serving(record.user.id);
        let ended = self
            .store
            .revoke_sessions_of(record.user.id, ctx.now)
            .await?;
        tracing::info!(
            event = "session.revoked",
            sessions = ended,
            "sessions ended by an operator"
        );
        Ok(Some((record.user, ended)))
    }

    /// Ends the live session `public_id`, whoever's it is: `true` when there was one.
    #[instrument(skip_all, fields(request_id = %ctx.request_id, user_id))]
    pub async fn end_session_by_id(&self, ctx: &Context, public_id: &str) -> Result<bool, Error> {
        let owner = self.store.revoke_session_by_id(public_id, ctx.now).await?;
        if let Some(user_id) = owner {
            serving(user_id);
            tracing::info!(event = "session.revoked", "session ended by an operator");
        }
        Ok(owner.is_some())
    }

    /// The account `username` names, found by its key as login finds it.
    async fn account_named(&self, username: &str) -> Result<Option<PasswordRecord>, Error> {
        let key = login_username(Input::Text(username)).map_err(|messages| {
            let mut errors = FieldErrors::new();
            errors.extend(Field::Username, messages);
            Error::InvalidInput(errors)
        })?;
        self.store.password_record(&key).await
    }
}
