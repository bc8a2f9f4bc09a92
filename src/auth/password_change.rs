//! Changing one's password: prove the current one, pass the policy with the new one, and
//! end everything the old one let in except the credential the change was made with.
//!
//! The current password is checked exactly as a login checks it: through the account's
//! throttle (so a stolen access token cannot be used to guess the password) and the hashing
//! line. A wrong one is a field error, not an authentication failure: the caller *is*
//! authenticated, and Django's form says so on `old_password`. New-password errors are
//! reported before the current password is checked, so a form with a bad new password
//! costs no argon2 work and no attempt.
//!
//! Django's `PasswordChangeForm` asks for the new password twice and reports the mismatch
//! and the four validators on the repeat (`new_password2`); gRPC sends it once. That is the
//! adapter's choice of [`Confirmation`].

use tracing::instrument;

use super::{
    AcceptedSchemes, Auth, Context,
    fields::{Input, Password, username_key},
    model::{Revoked, User},
};
use crate::error::{Error, Field, FieldErrors};

pub const WRONG_CURRENT_PASSWORD: &str =
    "Your old password was entered incorrectly. Please enter it again.";
pub const PASSWORDS_DIFFER: &str = "The two password fields didn\u{2019}t match.";

/// Whether the new password is asked for twice.
#[derive(Debug, Clone, Copy)]
pub enum Confirmation<'a> {
    /// Once (gRPC): the policy's messages go on the new password.
    Once,
    /// Twice, as Django's form: the repeat must match, and carries the policy's messages.
    Repeated(Input<'a>),
}

/// A password change as received, before validation.
#[derive(Debug, Clone, Copy)]
pub struct PasswordChange<'a> {
    pub current: Input<'a>,
    pub new: Input<'a>,
    pub confirmation: Confirmation<'a>,
}

impl Auth {
    /// `password` as a new password of `user`: present, short enough, and passing the
    /// registration policy judged against the stored username and email. Every failure is
    /// added to `errors` under `field`. What ChangePassword and an operator's
    /// `users set-password` share.
    pub(super) fn new_password_for(
        &self,
        user: &User,
        password: Input<'_>,
        field: Field,
        errors: &mut FieldErrors,
    ) -> Option<Password> {
        let password = Password::parse(password)
            .map_err(|messages| errors.extend(field, messages))
            .ok()?;
        let violations = self.policy.violations(
            password.expose(),
            Some(&user.username),
            user.email.as_deref(),
        );
        let weak = !violations.is_empty();
        errors.extend(field, violations.into_iter().map(String::from));
        (!weak).then_some(password)
    }

    /// Replaces the caller's password and ends their other sessions and API keys.
    #[instrument(skip_all, fields(request_id = %ctx.request_id, client = ?ctx.client, user_id))]
    pub async fn change_password(
        &self,
        ctx: &Context,
        authorization: Option<&str>,
        accepted: AcceptedSchemes,
        form: PasswordChange<'_>,
    ) -> Result<Revoked, Error> {
        self.limit_client(ctx)?;
        let identity = self.identify(ctx, authorization, accepted).await?;
        let user = &identity.user;
        let (current, new) = self.password_change_fields(user, form)?;

        // Two hashes (the check, then the new hash): both places are taken before any work.
        let check_place = self.hasher.reserve()?;
        let hash_place = self.hasher.reserve()?;
        let checked = self
            .check_password(ctx, check_place, &username_key(&user.username), current)
            .await;
        match checked {
            Ok(matched) if matched.user.id == user.id => {
                self.settle_match(matched).await?;
            }
            // The account the username names now is another one (renamed and re-taken).
            Ok(matched) => {
                self.settle_match(matched).await?;
                return Err(Error::InvalidToken);
            }
            Err(Error::InvalidCredentials) => {
                let errors = FieldErrors::single(Field::CurrentPassword, WRONG_CURRENT_PASSWORD);
                return Err(Error::InvalidInput(errors));
            }
            Err(other) => return Err(other),
        }
        let password_hash = self
            .hasher
            .hash(hash_place, new.expose(), ctx.deadline)
            .await?;
        let revoked = self
            .store
            .replace_password(user.id, &password_hash, Some(&identity.credential), ctx.now)
            .await?
            .ok_or(Error::InvalidToken)?;
        tracing::info!(
            event = "password.changed",
            sessions_ended = revoked.sessions,
            api_keys_revoked = revoked.api_keys,
            "password changed"
        );
        Ok(revoked)
    }

    /// The current and the new password, or every failing field at once.
    fn password_change_fields(
        &self,
        user: &User,
        form: PasswordChange<'_>,
    ) -> Result<(Password, Password), Error> {
        let mut errors = FieldErrors::new();
        let current = Password::parse_for_login(form.current)
            .map_err(|messages| errors.extend(Field::CurrentPassword, messages))
            .ok();
        // A missing new password is reported on its own field; its rules on the field the
        // confirmation rule names.
        let new = match form.new {
            Input::Text(text) if !text.is_empty() => Some(text),
            _ => {
                if let Err(messages) = Password::parse_for_login(form.new) {
                    errors.extend(Field::NewPassword, messages);
                }
                None
            }
        };
        // Where the policy's messages go; none when the two entries differ (Django judges
        // a new password only once it is known which one was meant).
        let rules_field = match form.confirmation {
            Confirmation::Once => Some(Field::NewPassword),
            Confirmation::Repeated(repeat) => match (Password::parse_for_login(repeat), new) {
                (Err(messages), _) => {
                    errors.extend(Field::NewPasswordConfirmation, messages);
                    None
                }
                (Ok(repeat), Some(new)) if repeat.expose() != new => {
                    errors.add(Field::NewPasswordConfirmation, PASSWORDS_DIFFER);
                    None
                }
                (Ok(_), _) => Some(Field::NewPasswordConfirmation),
            },
        };
        let new = new.zip(rules_field).and_then(|(text, rules_field)| {
            self.new_password_for(user, Input::Text(text), rules_field, &mut errors)
        });
        errors.into_result()?;
        match (current, new) {
            (Some(current), Some(new)) => Ok((current, new)),
            _ => Err(Error::Internal("validated fields missing".into())),
        }
    }
}
