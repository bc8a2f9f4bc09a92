//! The gRPC adapter: `auth.v1.AuthService` over the core.
//!
//! Each method decodes its request into core inputs, calls one [`Auth`] method and encodes
//! the answer. No rule about users, passwords or tokens may live here. Errors become a
//! `tonic::Status` in exactly one place (`convert::status`), with field violations as
//! `google.rpc.BadRequest` details. [`Deadline`] is the time limit every gRPC service on
//! the port shares.

mod convert;
mod deadline;
mod redact;

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::{
    auth::{
        AcceptedSchemes, Auth, Confirmation, EmailRule, PasswordChange, Registration, fields::Input,
    },
    pb::{
        ChangePasswordRequest, ChangePasswordResponse, GetMeRequest, GetMeResponse,
        ListSessionsRequest, ListSessionsResponse, LoginRequest, LoginResponse, LogoutRequest,
        LogoutResponse, RefreshRequest, RefreshResponse, RegisterRequest, RegisterResponse,
        RevokeAllRequest, RevokeAllResponse, RevokeSessionRequest, RevokeSessionResponse,
        ValidateTokenRequest, ValidateTokenResponse, auth_service_server::AuthService,
    },
};
use convert::{
    authorization, caller, carrying_tokens, live_token, session_info, status, token_pair, user,
};
pub use deadline::Deadline;

pub struct GrpcAuth {
    auth: Arc<Auth>,
}

impl GrpcAuth {
    pub fn new(auth: Arc<Auth>) -> Self {
        Self { auth }
    }
}

/// The calls about the caller read an access token or an API key, as the REST `me`
/// endpoints do.
const ACCEPTED: AcceptedSchemes = AcceptedSchemes::BearerOrApiKey;

/// proto3 cannot tell an unset string from an empty one: both mean "not sent".
fn input(value: &str) -> Input<'_> {
    if value.is_empty() {
        Input::Missing
    } else {
        Input::Text(value)
    }
}

#[tonic::async_trait]
impl AuthService for GrpcAuth {
    async fn register(
        &self,
        request: Request<RegisterRequest>,
    ) -> Result<Response<RegisterResponse>, Status> {
        let ctx = self.auth.context(caller(&request));
        let request = request.into_inner();
        let form = Registration {
            username: input(&request.username),
            email: input(&request.email),
            password: input(&request.password),
            email_rule: EmailRule::Required,
        };
        let created = self.auth.register(&ctx, form).await.map_err(status)?;
        Ok(Response::new(RegisterResponse {
            user: Some(user(created)),
        }))
    }

    async fn login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<LoginResponse>, Status> {
        let ctx = self.auth.context(caller(&request));
        let request = request.into_inner();
        // `email` names the account only when `username` is left empty.
        let password = input(&request.password);
        let (who, pair) = if request.username.is_empty() && !request.email.is_empty() {
            let email = input(&request.email);
            self.auth.login_by_email(&ctx, email, password).await
        } else {
            let username = input(&request.username);
            self.auth.login(&ctx, username, password).await
        }
        .map_err(status)?;
        Ok(carrying_tokens(LoginResponse {
            tokens: Some(token_pair(pair)),
            user: Some(user(who)),
        }))
    }

    async fn refresh(
        &self,
        request: Request<RefreshRequest>,
    ) -> Result<Response<RefreshResponse>, Status> {
        let ctx = self.auth.context(caller(&request));
        let token = request.into_inner().refresh_token;
        let pair = self
            .auth
            .refresh(&ctx, input(&token))
            .await
            .map_err(status)?;
        Ok(carrying_tokens(RefreshResponse {
            tokens: Some(token_pair(pair)),
        }))
    }

    async fn get_me(
        &self,
        request: Request<GetMeRequest>,
    ) -> Result<Response<GetMeResponse>, Status> {
        let ctx = self.auth.context(caller(&request));
        let me = self
            .auth
            .me(&ctx, authorization(&request), ACCEPTED)
            .await
            .map_err(status)?;
        Ok(Response::new(GetMeResponse {
            user: Some(user(me)),
        }))
    }

    async fn logout(
        &self,
        request: Request<LogoutRequest>,
    ) -> Result<Response<LogoutResponse>, Status> {
        let ctx = self.auth.context(caller(&request));
        let token = request.into_inner().refresh_token;
        self.auth
            .logout(&ctx, input(&token))
            .await
            .map_err(status)?;
        Ok(Response::new(LogoutResponse {}))
    }

    async fn revoke_all(
        &self,
        request: Request<RevokeAllRequest>,
    ) -> Result<Response<RevokeAllResponse>, Status> {
        let ctx = self.auth.context(caller(&request));
        let revoked = self
            .auth
            .revoke_all(&ctx, authorization(&request), ACCEPTED)
            .await
            .map_err(status)?;
        Ok(Response::new(RevokeAllResponse {
            sessions_ended: revoked.sessions as i64,
            api_keys_revoked: revoked.api_keys as i64,
        }))
    }

    async fn list_sessions(
        &self,
        request: Request<ListSessionsRequest>,
    ) -> Result<Response<ListSessionsResponse>, Status> {
        let ctx = self.auth.context(caller(&request));
        let sessions = self
            .auth
            .list_sessions(&ctx, authorization(&request), ACCEPTED)
            .await
            .map_err(status)?;
        Ok(Response::new(ListSessionsResponse {
            sessions: sessions.into_iter().map(session_info).collect(),
        }))
    }

    async fn revoke_session(
        &self,
        request: Request<RevokeSessionRequest>,
    ) -> Result<Response<RevokeSessionResponse>, Status> {
        let ctx = self.auth.context(caller(&request));
        self.auth
            .revoke_session(
                &ctx,
                authorization(&request),
                ACCEPTED,
                input(&request.get_ref().session_id),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(RevokeSessionResponse {}))
    }

    async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Result<Response<ChangePasswordResponse>, Status> {
        let ctx = self.auth.context(caller(&request));
        let form = PasswordChange {
            current: input(&request.get_ref().current_password),
            new: input(&request.get_ref().new_password),
            confirmation: Confirmation::Once,
        };
        let revoked = self
            .auth
            .change_password(&ctx, authorization(&request), ACCEPTED, form)
            .await
            .map_err(status)?;
        Ok(Response::new(ChangePasswordResponse {
            sessions_ended: revoked.sessions as i64,
            api_keys_revoked: revoked.api_keys as i64,
        }))
    }

    async fn validate_token(
        &self,
        request: Request<ValidateTokenRequest>,
    ) -> Result<Response<ValidateTokenResponse>, Status> {
        let ctx = self.auth.context(caller(&request));
        let live = self
            .auth
            .validate_token(&ctx, input(&request.get_ref().token))
            .await
            .map_err(status)?;
        Ok(Response::new(live.map(live_token).unwrap_or_default()))
    }
}
