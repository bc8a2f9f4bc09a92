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
    Auth, Context, events,
    fields::{Input, login_email},
    model::{TokenPair, User},
    sessions::login_fields,
};
use crate::error::{Error, Field};

impl Auth {
    #[instrument(skip_all, fields(request_id = %ctx.request_id, client = ?ctx.client, user_id))]
    pub async fn login_by_email(
        &self,
        ctx: &Context,
        email: Input<'_>,
        password: Input<'_>,
    ) -> Result<(User, TokenPair), Error> {
        let result = async {
            self.limit_client(ctx)?;
            let (email_key, password) = login_fields((Field::Email, login_email, email), password)?;
            // As for a username: a login the hashing line cannot take costs no database read.
            let place = self.hasher.reserve()?;
            let account_key = self
                .store
                .username_key_for_email(&email_key)
                .await?
                .unwrap_or_else(|| format!("email:{email_key}"));
            let matched = self
                .check_password(ctx, place, &account_key, password)
                .await?;
            self.start_session_for(ctx, matched).await
        }
        .await;
        events::login_attempt(&result);
        result
    }
}
