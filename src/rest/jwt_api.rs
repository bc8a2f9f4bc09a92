//! The JWT API: register and login, plus the refresh, verify, me and logout endpoints the
//! Django project lacked, in simplejwt's conventions, all under `/auth/`.
//!
//! Handlers only decode, call the core and encode; every rule is in `auth`.

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{
    caller::{RequestContext, authorization, credentials_dialect},
    payload::Payload,
    reply::{Dialect, Reply, carrying_credentials},
    token_api::{ACCEPTED, UserBody},
};
use crate::utc::utc_timestamp;
use crate::{
    auth::{Auth, EmailRule, Registration, TokenType},
    error::Error,
};

/// `{"message": ..., "data": ...}`, the JWT API's success envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    pub message: &'static str,
    pub data: T,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredBody {
    pub username: String,
    pub email: String,
}

/// The session's refresh-token times and both tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginBody {
    pub created: String,
    pub expires: String,
    pub refresh: String,
    pub access: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPairBody {
    pub access: String,
    pub refresh: String,
}

/// `POST /auth/register/` (and `/auth/registration/`).
#[utoipa::path(post, path = "/auth/register/", tag = "JWT API",
    request_body = super::openapi::RegisterRequest,
    responses(
        (status = 201, description = "Registered", body = Envelope<RegisteredBody>),
        (status = 400, description = "`Registration failed` with every failing field",
            body = super::openapi::WrappedErrorsBody),
        (status = 429, description = "`Request was throttled. Expected available in N seconds.`: too many attempts from this address or at this account",
            body = super::openapi::DetailBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn register(
    State(auth): State<Arc<Auth>>,
    RequestContext(ctx): RequestContext,
    payload: Payload,
) -> Reply {
    let dialect = Dialect::Wrapped("Registration failed");
    let fields = payload.fields_for(dialect)?;
    let form = Registration {
        username: fields.input("username"),
        email: fields.input("email"),
        password: fields.input("password"),
        email_rule: EmailRule::Required,
    };
    let user = auth
        .register(&ctx, form)
        .await
        .map_err(|e| dialect.reply(e))?;
    let data = RegisteredBody {
        username: user.username,
        email: user.email.unwrap_or_default(),
    };
    let body = Envelope {
        message: "Registration successful",
        data,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `POST /auth/login/`.
#[utoipa::path(post, path = "/auth/login/", tag = "JWT API",
    request_body = super::openapi::CredentialsRequest,
    responses(
        (status = 200, description = "A new session", body = Envelope<LoginBody>),
        (status = 400, description = "`Invalid data`", body = super::openapi::WrappedErrorsBody),
        (status = 401, description = "`Invalid login credentials`", body = super::openapi::WrappedErrorsBody),
        (status = 429, description = "`Request was throttled. Expected available in N seconds.`: too many attempts from this address or at this account",
            body = super::openapi::DetailBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn login(
    State(auth): State<Arc<Auth>>,
    RequestContext(ctx): RequestContext,
    payload: Payload,
) -> Reply {
    let dialect = Dialect::Wrapped("Invalid data");
    let fields = payload.fields_for(dialect)?;
    let (_, pair) = auth
        .login(&ctx, fields.input("username"), fields.input("password"))
        .await
        .map_err(|e| dialect.reply(e))?;
    let data = LoginBody {
        created: utc_timestamp(pair.refresh.issued_at),
        expires: utc_timestamp(pair.refresh.expires_at),
        refresh: pair.refresh.token,
        access: pair.access.token,
    };
    Ok(carrying_credentials(Json(Envelope {
        message: "Login successful",
        data,
    })))
}

/// `POST /auth/token/refresh/`: rotate the refresh token.
#[utoipa::path(post, path = "/auth/token/refresh/", tag = "JWT API",
    request_body = super::openapi::RefreshRequest,
    responses(
        (status = 200, description = "The new pair; the old refresh token is spent", body = TokenPairBody),
        (status = 400, description = "Missing field", body = super::openapi::FieldErrorsBody),
        (status = 401, description = "`token_not_valid`", body = super::openapi::DetailBody),
        (status = 429, description = "`Request was throttled. Expected available in N seconds.`: too many attempts from this address or at this account",
            body = super::openapi::DetailBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn refresh(
    State(auth): State<Arc<Auth>>,
    RequestContext(ctx): RequestContext,
    payload: Payload,
) -> Reply {
    let dialect = Dialect::JwtTokenView;
    let fields = payload.fields_for(dialect)?;
    let pair = auth
        .refresh(&ctx, fields.input("refresh"))
        .await
        .map_err(|e| dialect.reply(e))?;
    let body = TokenPairBody {
        access: pair.access.token,
        refresh: pair.refresh.token,
    };
    Ok(carrying_credentials(Json(body)))
}

/// `GET /auth/me/`.
#[utoipa::path(get, path = "/auth/me/", tag = "JWT API",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token's owner", body = UserBody),
        (status = 401, description = "simplejwt's errors (`WWW-Authenticate: Bearer realm=\"api\"`)",
            body = super::openapi::DetailBody),
    ))]
pub async fn me(
    State(auth): State<Arc<Auth>>,
    RequestContext(ctx): RequestContext,
    headers: HeaderMap,
) -> Reply {
    // A DRF key is read here too, and a bad one answered as DRF's token authentication.
    let dialect = credentials_dialect(&headers, Dialect::JwtAuthentication);
    let authorization = authorization(&headers).map_err(|e| dialect.reply(e))?;
    let user = auth
        .me(&ctx, authorization.as_deref(), ACCEPTED)
        .await
        .map_err(|e| dialect.reply(e))?;
    Ok(Json(UserBody::from(user)).into_response())
}

/// `POST /auth/logout/`: end the session of a refresh token.
#[utoipa::path(post, path = "/auth/logout/", tag = "JWT API",
    request_body = super::openapi::RefreshRequest,
    responses(
        (status = 200, description = "`{}`: the session is over"),
        (status = 400, description = "Missing field", body = super::openapi::FieldErrorsBody),
        (status = 401, description = "`token_not_valid`", body = super::openapi::DetailBody),
    ))]
pub async fn logout(
    State(auth): State<Arc<Auth>>,
    RequestContext(ctx): RequestContext,
    payload: Payload,
) -> Reply {
    let dialect = Dialect::JwtTokenView;
    let fields = payload.fields_for(dialect)?;
    auth.logout(&ctx, fields.input("refresh"))
        .await
        .map_err(|e| dialect.reply(e))?;
    Ok(Json(json!({})).into_response())
}

/// `POST /auth/token/verify/`: simplejwt's `TokenVerifyView`, revocation-aware.
#[utoipa::path(post, path = "/auth/token/verify/", tag = "JWT API",
    request_body = super::openapi::VerifyRequest,
    responses(
        (status = 200, description = "`{}`: a live access or refresh token"),
        (status = 400, description = "Missing field", body = super::openapi::FieldErrorsBody),
        (status = 401, description = "`token_not_valid`: forged, expired, of an ended session, or not a JWT",
            body = super::openapi::DetailBody),
    ))]
pub async fn verify(
    State(auth): State<Arc<Auth>>,
    RequestContext(ctx): RequestContext,
    payload: Payload,
) -> Reply {
    let dialect = Dialect::JwtTokenView;
    let fields = payload.fields_for(dialect)?;
    let live = auth
        .validate_token(&ctx, fields.input("token"))
        .await
        .map_err(|e| dialect.reply(e))?;
    // simplejwt verifies JWTs; a DRF key is not one.
    match live.map(|live| live.token_type) {
        Some(TokenType::Access | TokenType::Refresh) => Ok(Json(json!({})).into_response()),
        Some(TokenType::ApiKey) | None => Err(dialect.reply(Error::InvalidToken)),
    }
}
