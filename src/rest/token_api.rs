//! The DRF token API: `POST /api/create/`, `POST /api/token/`, `GET /api/me/`.
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
use utoipa::ToSchema;

use super::{
    caller::{RequestContext, authorization},
    payload::Payload,
    reply::{Dialect, Reply, carrying_credentials},
};
use crate::auth::{AcceptedSchemes, Auth, EmailRule, Registration, model::User};

/// Both `me` endpoints read an access token or an API key, as gRPC's GetMe does.
pub const ACCEPTED: AcceptedSchemes = AcceptedSchemes::BearerOrApiKey;

/// A user as both Django APIs show one (`email` is `""` when none was given).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    pub id: i64,
    pub username: String,
    pub email: String,
}

impl From<User> for UserBody {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            username: user.username,
            email: user.email.unwrap_or_default(),
        }
    }
}

/// `{"token": "<40 lowercase hex>"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenBody {
    pub token: String,
}

/// `POST /api/create/`: register; the email may be left out.
#[utoipa::path(post, path = "/api/create/", tag = "token API",
    request_body = super::openapi::CreateUserRequest,
    responses(
        (status = 201, description = "Registered", body = UserBody),
        (status = 400, description = "Every failing field", body = super::openapi::FieldErrorsBody),
        (status = 429, description = "`Request was throttled. Expected available in N seconds.`: too many attempts from this address or at this account",
            body = super::openapi::DetailBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn create(
    State(auth): State<Arc<Auth>>,
    RequestContext(ctx): RequestContext,
    payload: Payload,
) -> Reply {
    let dialect = Dialect::Drf;
    let fields = payload.fields_for(dialect)?;
    let form = Registration {
        username: fields.input("username"),
        email: fields.input("email"),
        password: fields.input("password"),
        email_rule: EmailRule::Optional,
    };
    let user = auth
        .register(&ctx, form)
        .await
        .map_err(|e| dialect.reply(e))?;
    Ok((StatusCode::CREATED, Json(UserBody::from(user))).into_response())
}

/// `POST /api/token/`: a new API key for a username and password.
#[utoipa::path(post, path = "/api/token/", tag = "token API",
    request_body = super::openapi::CredentialsRequest,
    responses(
        (status = 200, description = "A new key", body = TokenBody),
        (status = 400, description = "Missing fields, or `non_field_errors` for bad credentials",
            body = super::openapi::FieldErrorsBody),
        (status = 429, description = "`Request was throttled. Expected available in N seconds.`: too many attempts from this address or at this account",
            body = super::openapi::DetailBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn token(
    State(auth): State<Arc<Auth>>,
    RequestContext(ctx): RequestContext,
    payload: Payload,
) -> Reply {
    let dialect = Dialect::Drf;
    let fields = payload.fields_for(dialect)?;
    let token = auth
        .create_api_key(&ctx, fields.input("username"), fields.input("password"))
        .await
        .map_err(|e| dialect.reply(e))?;
    Ok(carrying_credentials(Json(TokenBody { token })))
}

/// `GET /api/me/`: the owner of a `Token` key or a `Bearer` access token.
#[utoipa::path(get, path = "/api/me/", tag = "token API",
    security(("token" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The key's owner", body = UserBody),
        (status = 401, description = "No, malformed or unknown credentials (`WWW-Authenticate: Token`)",
            body = super::openapi::DetailBody),
    ))]
pub async fn me(
    State(auth): State<Arc<Auth>>,
    RequestContext(ctx): RequestContext,
    headers: HeaderMap,
) -> Reply {
    let dialect = Dialect::TokenAuthentication;
    let authorization = authorization(&headers).map_err(|e| dialect.reply(e))?;
    let user = auth
        .me(&ctx, authorization.as_deref(), ACCEPTED)
        .await
        .map_err(|e| dialect.reply(e))?;
    Ok(Json(UserBody::from(user)).into_response())
}
