//! Registration: validate every field at once, reject duplicates, hash, insert.
//!
//! Duplicates are checked twice on purpose. A read before hashing reports a taken username
//! and a taken email together (as Django does) without spending 20 ms of argon2 on a
//! request that cannot succeed; the unique indexes decide the race when two requests for
//! one name arrive together, and the loser gets the same ALREADY_EXISTS answer. The
//! per-client limit comes first of all: it is what keeps "already exists" from answering a
//! thousand probes a second.

use tracing::instrument;

use super::{
    Auth, Context,
    fields::{Email, Input, Password, Username},
    model::{Inserted, NewUser, UniqueField, User},
    served_user::serving,
};
use crate::error::{Error, Field, FieldErrors};

pub const DUPLICATE_USERNAME: &str = "A user with that username already exists.";
pub const DUPLICATE_EMAIL: &str = "A user with that email already exists.";

/// Whether a registration must carry an email: a policy each endpoint picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailRule {
    /// gRPC `Register` and the JWT API's `/auth/register/`.
    Required,
    /// Missing or blank means none, as the DRF token API's `/api/create/` has it.
    Optional,
}

/// A registration request as received, before validation.
#[derive(Debug, Clone, Copy)]
pub struct Registration<'a> {
    pub username: Input<'a>,
    pub email: Input<'a>,
    pub password: Input<'a>,
    pub email_rule: EmailRule,
}

impl Auth {
    #[instrument(skip_all, fields(request_id = %ctx.request_id, client = ?ctx.client, user_id))]
    pub async fn register(&self, ctx: &Context, form: Registration<'_>) -> Result<User, Error> {
        self.limit_client(ctx)?;
        let mut errors = FieldErrors::new();
        let username = Username::parse(form.username)
            .map_err(|messages| errors.extend(Field::Username, messages))
            .ok();
        let email = match form.email_rule {
            EmailRule::Required => Email::parse(form.email).map(Some),
            EmailRule::Optional => Email::parse_optional(form.email),
        }
        .map_err(|messages| errors.extend(Field::Email, messages))
        .ok()
        .flatten();
        let password = Password::parse(form.password)
            .map_err(|messages| errors.extend(Field::Password, messages))
            .ok();

        // Similarity is judged against what was sent even when it failed its own rules.
        let raw_username = match form.username {
            Input::Text(text) => Some(text.trim()),
            _ => None,
        };
        if let Some(password) = &password {
            let email_text = email.as_ref().map(Email::as_str);
            let violations = self
                .policy
                .violations(password.expose(), raw_username, email_text);
            errors.extend(Field::Password, violations.into_iter().map(String::from));
        }

        // A request that will hash takes its place in the hashing line before its database
        // read, so one the line cannot take costs nothing.
        let place = errors
            .is_empty()
            .then(|| self.hasher.reserve())
            .transpose()?;
        let username_key = username.as_ref().map(Username::key);
        let email_key = email.as_ref().map(Email::key);
        let taken = if username_key.is_some() || email_key.is_some() {
            self.store
                .taken(username_key.as_deref(), email_key.as_deref())
                .await?
        } else {
            Vec::new()
        };
        if errors.is_empty() && !taken.is_empty() {
            return Err(Error::AlreadyExists(duplicates(&taken)));
        }
        for (field, messages) in duplicates(&taken).iter() {
            errors.extend(field, messages.iter().cloned());
        }
        errors.into_result()?;
        let (Some(username), Some(username_key), Some(password), Some(place)) =
            (username, username_key, password, place)
        else {
            return Err(Error::Internal("validated fields missing".into()));
        };

        let password_hash = self
            .hasher
            .hash(place, password.expose(), ctx.deadline)
            .await?;
        let new_user = NewUser {
            username: username.as_str(),
            username_key: &username_key,
            email: email.as_ref().map(Email::as_str),
            email_key: email_key.as_deref(),
            password_hash: &password_hash,
            created_at: ctx.now,
        };
        match self.store.insert_user(&new_user).await? {
            Inserted::User(user) => {
                serving(user.id);
                tracing::info!(event = "user.registered", "user registered");
                Ok(user)
            }
            Inserted::Duplicate(field) => Err(Error::AlreadyExists(duplicates(&[field]))),
        }
    }
}

fn duplicates(taken: &[UniqueField]) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for field in taken {
        match field {
            UniqueField::Username => errors.add(Field::Username, DUPLICATE_USERNAME),
            UniqueField::Email => errors.add(Field::Email, DUPLICATE_EMAIL),
        }
    }
    errors
}
