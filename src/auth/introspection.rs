//! "Is this token live, and whose is it?" for the services that call authd (RFC 7662 in
//! spirit): `ValidateToken` over gRPC, simplejwt's `POST /auth/token/verify/` over REST.
//!
//! Unlike a signature check in the calling service, the answer knows about revocation: a
//! logged-out or revoked session, a spent refresh token, a disabled user, a revoked API key
//! or a retired signing key all answer inactive at once, on every node. An inactive or
//! garbage token is an answer, not an error; only a missing token is a field error. The
//! answer says nothing about *why* a token is inactive, so it cannot be used to learn which
//! part of a forgery was wrong.

use tracing::instrument;

use super::{
    Auth, Context,
    api_keys::key_hash,
    fields::{Input, required_text},
    model::{TokenKind, User},
    served_user::serving,
    tokens::claimed_kind,
};
use crate::error::{Error, Field};

/// What kind of credential a live token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Access,
    Refresh,
    ApiKey,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
            TokenType::ApiKey => "api_key",
        }
    }
}

/// A live token and what it stands for.
#[derive(Debug, Clone)]
pub struct LiveToken {
    pub user: User,
    /// The public id of its session (none for an API key).
    pub session_id: Option<String>,
    pub token_type: TokenType,
    /// When it stops being accepted (none for an API key that never expires).
    pub expires_at: Option<i64>,
}

impl Auth {
    /// The live token `token` is (an access or refresh JWT, or an API key), or `None`.
    #[instrument(skip_all, fields(request_id = %ctx.request_id, user_id))]
    pub async fn validate_token(
        &self,
        ctx: &Context,
        token: Input<'_>,
    ) -> Result<Option<LiveToken>, Error> {
        let token = required_text(Field::Token, token)?;
        let live = match claimed_kind(token) {
            Some(kind) => self.live_jwt(ctx, token, kind).await?,
            None => self.live_api_key(ctx, token).await?,
        };
        if let Some(live) = &live {
            serving(live.user.id);
        }
        Ok(live)
    }

    async fn live_jwt(
        &self,
        ctx: &Context,
        token: &str,
        kind: TokenKind,
    ) -> Result<Option<LiveToken>, Error> {
        let claims = match self.verify_token(ctx, token, kind).await {
            Ok(claims) => claims,
            Err(Error::InvalidToken | Error::WrongTokenType) => return Ok(None),
            Err(other) => return Err(other),
        };
        let found = match kind {
            TokenKind::Access => self.store.session_user(&claims.jti, ctx.now).await?,
            TokenKind::Refresh => self.store.refresh_token_user(&claims.jti, ctx.now).await?,
        };
        Ok(found.map(|found| LiveToken {
            user: found.user,
            session_id: Some(found.public_id),
            token_type: match kind {
                TokenKind::Access => TokenType::Access,
                TokenKind::Refresh => TokenType::Refresh,
            },
            expires_at: Some(claims.exp),
        }))
    }

    async fn live_api_key(&self, ctx: &Context, key: &str) -> Result<Option<LiveToken>, Error> {
        let found = self.store.api_key_user(&key_hash(key), ctx.now).await?;
        Ok(found.map(|found| LiveToken {
            user: found.user,
            session_id: None,
            token_type: TokenType::ApiKey,
            expires_at: found.expires_at,
        }))
    }
}
