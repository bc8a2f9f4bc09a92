//! Sessions: login starts one, refresh rotates its tokens, logout (or a reused refresh
//! token) ends it, and "who am I" answers only while it is live.
//!
//! Login with an unknown or inactive username still runs a full argon2 verify (against a
//! dummy hash) and fails with the same error as a wrong password, so neither the answer nor
//! its timing tells a caller which usernames exist.

use tracing::instrument;

use super::{
    Auth,
    credentials::{Credentials, parse_authorization},
    fields::{Input, Password, login_username, required_text},
    tokens::{IssuedToken, TokenKind},
};
use crate::{
    error::{Error, FieldErrors},
    store::{Rotation, UserRecord},
};

/// A session's current token pair, as handed to the client.
pub struct Session {
    pub access: IssuedToken,
    pub refresh: IssuedToken,
}

/// What `revoke_all` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revoked {
    pub sessions: u64,
    pub api_keys: u64,
}

impl Auth {
    #[instrument(skip_all, fields(user_id))]
    pub async fn login(
        &self,
        username: Input<'_>,
        password: Input<'_>,
    ) -> Result<(UserRecord, Session), Error> {
        let user = self.authenticate(username, password).await?;
        let session = self.issue_pair(user.id)?;
        self.store
            .start_session(user.id, &session.access, &session.refresh)
            .await?;
        tracing::info!("session started");
        Ok((user, session))
    }

    /// Checks a username and password: the user, or `InvalidCredentials` after the same
    /// argon2 work whether the user exists or not.
    pub(super) async fn authenticate(
        &self,
        username: Input<'_>,
        password: Input<'_>,
    ) -> Result<UserRecord, Error> {
        let mut errors = FieldErrors::new();
        let username_key = login_username(username)
            .map_err(|messages| errors.extend("username", messages))
            .ok();
        let password = Password::parse_for_login(password)
            .map_err(|messages| errors.extend("password", messages))
            .ok();
        errors.into_result()?;
        let (Some(username_key), Some(password)) = (username_key, password) else {
            return Err(Error::Internal("validated fields missing".into()));
        };

        let stored = self.store.credentials(&username_key).await?;
        let live_hash = stored
            .as_ref()
            .filter(|credentials| credentials.is_active)
            .map(|credentials| credentials.password_hash.as_str());
        if !self.hasher.verify(password.expose(), live_hash).await? {
            tracing::info!("login refused");
            return Err(Error::InvalidCredentials);
        }
        let user = stored
            .map(|credentials| credentials.user)
            .ok_or(Error::InvalidCredentials)?;
        tracing::Span::current().record("user_id", user.id);
        Ok(user)
    }

    /// Spends `refresh_token` (sent in the transport's field named `field`) for a new pair.
    #[instrument(skip_all, fields(user_id))]
    pub async fn refresh(&self, field: &'static str, token: Input<'_>) -> Result<Session, Error> {
        let token = required_text(field, token)?;
        let now = self.now();
        let claims = self.signer.verify(token, TokenKind::Refresh, now)?;
        tracing::Span::current().record("user_id", claims.user_id);
        let session = self.issue_pair(claims.user_id)?;
        let rotation = self
            .store
            .rotate_refresh(
                &claims.jti,
                claims.user_id,
                now,
                &session.access,
                &session.refresh,
            )
            .await?;
        match rotation {
            Rotation::Rotated => Ok(session),
            Rotation::Reused | Rotation::Rejected => Err(Error::InvalidToken),
        }
    }

    /// Ends the session of `refresh_token`; its tokens stop working at once.
    #[instrument(skip_all, fields(user_id))]
    pub async fn logout(&self, field: &'static str, token: Input<'_>) -> Result<(), Error> {
        let token = required_text(field, token)?;
        let now = self.now();
        let claims = self.signer.verify(token, TokenKind::Refresh, now)?;
        tracing::Span::current().record("user_id", claims.user_id);
        if self.store.end_session(&claims.jti, now).await? {
            tracing::info!("session ended");
            Ok(())
        } else {
            Err(Error::InvalidToken)
        }
    }

    /// The user behind an `Authorization` value (`Bearer <access JWT>` or
    /// `Token <API key>`), if its token and session (or key) are live.
    #[instrument(skip_all, fields(user_id))]
    pub async fn me(&self, authorization: Option<&str>) -> Result<UserRecord, Error> {
        let now = self.now();
        let user = match parse_authorization(authorization)? {
            Credentials::Bearer(token) => {
                let claims = self.signer.verify(token, TokenKind::Access, now)?;
                self.store.session_user(&claims.jti, now).await?
            }
            Credentials::ApiKey(key) => self.api_key_user(key, now).await?,
        };
        let user = user.ok_or(Error::InvalidToken)?;
        tracing::Span::current().record("user_id", user.id);
        Ok(user)
    }

    /// Ends every session and API key of the caller behind `authorization`.
    #[instrument(skip_all, fields(user_id))]
    pub async fn revoke_all(&self, authorization: Option<&str>) -> Result<Revoked, Error> {
        let user = self.me(authorization).await?;
        tracing::Span::current().record("user_id", user.id);
        let (sessions, api_keys) = self.store.revoke_all(user.id, self.now()).await?;
        tracing::info!(sessions, api_keys, "revoked everything");
        Ok(Revoked { sessions, api_keys })
    }

    fn issue_pair(&self, user_id: i64) -> Result<Session, Error> {
        let now = self.now();
        Ok(Session {
            access: self.signer.issue(TokenKind::Access, user_id, now)?,
            refresh: self.signer.issue(TokenKind::Refresh, user_id, now)?,
        })
    }
}
