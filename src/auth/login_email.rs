//! Login by email address (gRPC's `LoginRequest.email`, when `username` is empty): the same
//! throttle, the same argon2 work and the same error as login by username.
//!
//! The address is resolved to its account's username key first, and the attempt is counted
//! against that key: alternating username and email gets no more guesses at one account
//! than either alone. An address no account holds is counted under its own key (`email:`
//! and the address key, which no username key can equal, as `:` is not a username
//! character) and checked against the dummy hash, so an unknown address costs and answers
//! exactly like a wrong password. What a shared count can still tell: someone who already
//! made an account wait by its username sees an address of that account wait too, which
//! links an address to a username they had guessed; it never tells an address alone exists.

use tracing::instrument;

use super::{
    Auth, Context,
    fields::{Input, Password, login_email},
    model::{TokenPair, User},
};
use crate::error::{Error, Field, FieldErrors};

impl Auth {
    #[instrument(skip_all, fields(request_id = %ctx.request_id, client = ?ctx.client, user_id))]
    pub async fn login_by_email(
        &self,
        ctx: &Context,
        email: Input<'_>,
        password: Input<'_>,
    ) -> Result<(User, TokenPair), Error> {
        self.limit_client(ctx)?;
        let mut errors = FieldErrors::new();
        let email_key = login_email(email)
            .map_err(|messages| errors.extend(Field::Email, messages))
            .ok();
        let password = Password::parse_for_login(password)
            .map_err(|messages| errors.extend(Field::Password, messages))
            .ok();
        errors.into_result()?;
        let (Some(email_key), Some(password)) = (email_key, password) else {
            return Err(Error::Internal("validated fields missing".into()));
        };
        // As for a username: a login the hashing line cannot take costs no database read.
        let place = self.hasher.reserve()?;
        let account_key = self
            .store
            .username_key_for_email(&email_key)
            .await?
            .unwrap_or_else(|| format!("email:{email_key}"));
        let user = self
            .check_password(ctx, place, &account_key, password)
            .await?;
        let pair = self.issue_pair(ctx, user.id)?;
        self.store.start_session(user.id, &pair).await?;
        tracing::info!("session started");
        Ok((user, pair))
    }
}
