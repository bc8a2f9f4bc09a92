//! What a signed-in user does with their account, in the Django ecosystem's shapes, under
//! `/auth/`: list and end their sessions (`GET /auth/sessions/`, `DELETE
//! /auth/sessions/<id>/`), and change their password as dj-rest-auth's
//! `POST /auth/password/change/` does it (`old_password`, `new_password1`, `new_password2`,
//! with Django's `PasswordChangeForm` messages).
//!
//! The caller authenticates as for `GET /auth/me/`, and failures of authentication read as
//! simplejwt's. Handlers only decode, call the core and encode; every rule is in `auth`.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{
    caller::{RequestContext, authorization, credentials_dialect},
    payload::Payload,
    reply::{Dialect, Failure, Reply},
    token_api::ACCEPTED,
};
use crate::auth::{Auth, Confirmation, PasswordChange, fields::Input, model::SessionInfo};
use crate::utc::utc_timestamp;

/// How these endpoints word their failures: simplejwt's for authentication, DRF's bare
/// field errors (as dj-rest-auth's views answer) and `{"detail": "Not found."}` otherwise.
const DIALECT: Dialect = Dialect::JwtAuthentication;

/// One live session of the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionBody {
    /// The session's public id: what `DELETE /auth/sessions/<id>/` takes.
    pub id: String,
    /// When its login happened (ISO 8601, UTC).
    pub created_at: String,
    /// When it ends unless refreshed first.
    pub expires_at: String,
    /// Its login or latest refresh.
    pub last_used_at: String,
    /// Whether the access token of this request belongs to it.
    pub current: bool,
    /// The `User-Agent` its login sent, if any.
    pub user_agent: Option<String>,
    /// The client address its login came from, if known.
    pub ip: Option<String>,
}

impl From<SessionInfo> for SessionBody {
    fn from(session: SessionInfo) -> Self {
        Self {
            id: session.id,
            created_at: utc_timestamp(session.created_at),
            expires_at: utc_timestamp(session.expires_at),
            last_used_at: utc_timestamp(session.last_used_at),
            current: session.current,
            user_agent: session.user_agent,
            ip: session.ip,
        }
    }
}

/// `GET /auth/sessions/`: the caller's live sessions, newest first.
#[utoipa::path(get, path = "/auth/sessions/", tag = "JWT API",
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, description = "The caller's live sessions", body = Vec<SessionBody>),
        (status = 401, description = "simplejwt's errors (`WWW-Authenticate: Bearer realm=\"api\"`)",
            body = super::openapi::DetailBody),
    ))]
pub async fn list_sessions(
    State(auth): State<Arc<Auth>>,
    RequestContext(ctx): RequestContext,
    headers: HeaderMap,
) -> Reply {
    let dialect = credentials_dialect(&headers, DIALECT);
    let authorization = authorization(&headers).map_err(|e| dialect.reply(e))?;
    let sessions = auth
        .list_sessions(&ctx, authorization.as_deref(), ACCEPTED)
        .await
        .map_err(|e| dialect.reply(e))?;
    let body: Vec<SessionBody> = sessions.into_iter().map(SessionBody::from).collect();
    Ok(Json(body).into_response())
}

/// `DELETE /auth/sessions/<id>/`: end one of the caller's sessions.
#[utoipa::path(delete, path = "/auth/sessions/{id}/", tag = "JWT API",
    security(("bearer" = []), ("token" = [])),
    params(("id" = String, Path, description = "A session id from `GET /auth/sessions/`")),
    responses(
        (status = 204, description = "The session is over"),
        (status = 401, description = "simplejwt's errors (`WWW-Authenticate: Bearer realm=\"api\"`)",
            body = super::openapi::DetailBody),
        (status = 404, description = "`Not found.`: not one of the caller's live sessions",
            body = super::openapi::DetailBody),
    ))]
pub async fn revoke_session(
    State(auth): State<Arc<Auth>>,
    RequestContext(ctx): RequestContext,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Reply {
    // A path segment that does not decode names no session.
    let Ok(Path(id)) = id else {
        return Err(DIALECT.reply(Failure::NotFound));
    };
    let dialect = credentials_dialect(&headers, DIALECT);
    let authorization = authorization(&headers).map_err(|e| dialect.reply(e))?;
    auth.revoke_session(&ctx, authorization.as_deref(), ACCEPTED, Input::Text(&id))
        .await
        .map_err(|e| dialect.reply(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /auth/password/change/`: dj-rest-auth's password change.
#[utoipa::path(post, path = "/auth/password/change/", tag = "JWT API",
    security(("bearer" = []), ("token" = [])),
    request_body = super::openapi::PasswordChangeRequest,
    responses(
        (status = 200, description = "`New password has been saved.`; every other session and API key has ended",
            body = super::openapi::DetailBody),
        (status = 400, description = "Field errors: a wrong `old_password`, entries that differ or a weak new password (on `new_password2`)",
            body = super::openapi::FieldErrorsBody),
        (status = 401, description = "simplejwt's errors (`WWW-Authenticate: Bearer realm=\"api\"`)",
            body = super::openapi::DetailBody),
        (status = 429, description = "`Request was throttled. Expected available in N seconds.`: too many attempts from this address or at this account",
            body = super::openapi::DetailBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn change_password(
    State(auth): State<Arc<Auth>>,
    RequestContext(ctx): RequestContext,
    headers: HeaderMap,
    payload: Payload,
) -> Reply {
    let fields = payload.fields_for(DIALECT)?;
    let form = PasswordChange {
        current: fields.input("old_password"),
        new: fields.input("new_password1"),
        confirmation: Confirmation::Repeated(fields.input("new_password2")),
    };
    let dialect = credentials_dialect(&headers, DIALECT);
    let authorization = authorization(&headers).map_err(|e| dialect.reply(e))?;
    auth.change_password(&ctx, authorization.as_deref(), ACCEPTED, form)
        .await
        .map_err(|e| dialect.reply(e))?;
    Ok(Json(json!({ "detail": "New password has been saved." })).into_response())
}
