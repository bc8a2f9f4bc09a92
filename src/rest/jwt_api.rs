//! Seed 2, the JWT API: register and login, plus the refresh, me and logout endpoints seed 2
//! lacked, in simplejwt's conventions, all under `/auth/`.
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

use super::{
    payload::Payload,
    reply::{Dialect, Reply, utc_timestamp},
    token_api::{UserBody, authorization},
};
use crate::auth::{Auth, Registration};

/// `{"message": ..., "data": ...}`, seed 2's success envelope.
#[derive(Debug, Serialize)]
pub struct Envelope<T> {
    pub message: &'static str,
    pub data: T,
}

#[derive(Debug, Serialize)]
pub struct RegisteredBody {
    pub username: String,
    pub email: String,
}

/// The session's refresh-token times and both tokens.
#[derive(Debug, Serialize)]
pub struct LoginBody {
    pub created: String,
    pub expires: String,
    pub refresh: String,
    pub access: String,
}

#[derive(Debug, Serialize)]
pub struct TokenPairBody {
    pub access: String,
    pub refresh: String,
}

/// `POST /auth/register/` (and `/auth/registration/`).
pub async fn register(State(auth): State<Arc<Auth>>, payload: Payload) -> Reply {
    let dialect = Dialect::Wrapped("Registration failed");
    let fields = payload.fields_for(dialect)?;
    let form = Registration {
        username: fields.input("username"),
        email: fields.input("email"),
        password: fields.input("password"),
        email_required: true,
    };
    let user = auth.register(form).await.map_err(|e| dialect.reply(e))?;
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
pub async fn login(State(auth): State<Arc<Auth>>, payload: Payload) -> Reply {
    let dialect = Dialect::Wrapped("Invalid data");
    let fields = payload.fields_for(dialect)?;
    let (_, session) = auth
        .login(fields.input("username"), fields.input("password"))
        .await
        .map_err(|e| dialect.reply(e))?;
    let data = LoginBody {
        created: utc_timestamp(session.refresh.issued_at),
        expires: utc_timestamp(session.refresh.expires_at),
        refresh: session.refresh.token,
        access: session.access.token,
    };
    Ok(Json(Envelope {
        message: "Login successful",
        data,
    })
    .into_response())
}

/// `POST /auth/token/refresh/`: rotate the refresh token.
pub async fn refresh(State(auth): State<Arc<Auth>>, payload: Payload) -> Reply {
    let dialect = Dialect::JwtTokenView;
    let fields = payload.fields_for(dialect)?;
    let session = auth
        .refresh("refresh", fields.input("refresh"))
        .await
        .map_err(|e| dialect.reply(e))?;
    let body = TokenPairBody {
        access: session.access.token,
        refresh: session.refresh.token,
    };
    Ok(Json(body).into_response())
}

/// `GET /auth/me/`.
pub async fn me(State(auth): State<Arc<Auth>>, headers: HeaderMap) -> Reply {
    let user = auth
        .me(authorization(&headers))
        .await
        .map_err(|e| Dialect::JwtAuthentication.reply(e))?;
    Ok(Json(UserBody::from(user)).into_response())
}

/// `POST /auth/logout/`: end the session of a refresh token.
pub async fn logout(State(auth): State<Arc<Auth>>, payload: Payload) -> Reply {
    let dialect = Dialect::JwtTokenView;
    let fields = payload.fields_for(dialect)?;
    auth.logout("refresh", fields.input("refresh"))
        .await
        .map_err(|e| dialect.reply(e))?;
    Ok(Json(json!({})).into_response())
}
