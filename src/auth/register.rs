//! Registration: validate every field at once, reject duplicates, hash, insert.
//!
//! Duplicates are checked twice on purpose. A read before hashing reports a taken username
//! and a taken email together (as Django does) without spending 20 ms of argon2 on a
//! request that cannot succeed; the unique indexes decide the race when two requests for
//! one name arrive together, and the loser gets the same ALREADY_EXISTS answer.

use tracing::instrument;

use super::{
    Auth,
    fields::{Email, Input, Password, Username},
};
use crate::{
    error::{Error, FieldErrors},
    store::{Inserted, NewUser, UniqueField, UserRecord},
};

pub const DUPLICATE_USERNAME: &str = "A user with that username already exists.";
pub const DUPLICATE_EMAIL: &str = "A user with that email already exists.";

/// A registration request as received, before validation.
#[derive(Debug, Clone, Copy)]
pub struct Registration<'a> {
    pub username: Input<'a>,
    pub email: Input<'a>,
    pub password: Input<'a>,
    /// gRPC and seed 2 require an email; seed 1's `/api/create/` does not.
    pub email_required: bool,
}

impl Auth {
    #[instrument(skip_all, fields(user_id))]
    pub async fn register(&self, form: Registration<'_>) -> Result<UserRecord, Error> {
        let mut errors = FieldErrors::new();
        let username = Username::parse(form.username)
            .map_err(|messages| errors.extend("username", messages))
            .ok();
        let email = if form.email_required {
            Email::parse(form.email).map(Some)
        } else {
            Email::parse_optional(form.email)
        }
        .map_err(|messages| errors.extend("email", messages))
        .ok()
        .flatten();
        let password = Password::parse(form.password)
            .map_err(|messages| errors.extend("password", messages))
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
            errors.extend("password", violations.into_iter().map(String::from));
        }

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
        let (Some(username), Some(username_key), Some(password)) =
            (username, username_key, password)
        else {
            return Err(Error::Internal("validated fields missing".into()));
        };

        let password_hash = self.hasher.hash(password.expose()).await?;
        let new_user = NewUser {
            username: username.as_str(),
            username_key: &username_key,
            email: email.as_ref().map(Email::as_str),
            email_key: email_key.as_deref(),
            password_hash: &password_hash,
            created_at: self.now(),
        };
        match self.store.insert_user(&new_user).await? {
            Inserted::User(user) => {
                tracing::Span::current().record("user_id", user.id);
                tracing::info!("user registered");
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
            UniqueField::Username => errors.add("username", DUPLICATE_USERNAME),
            UniqueField::Email => errors.add("email", DUPLICATE_EMAIL),
        }
    }
    errors
}
