//! The gRPC adapter: `auth.v1.AuthService` over the core.
//!
//! Each method decodes its request into core inputs, calls one [`Auth`] method and encodes
//! the answer. No rule about users, passwords or tokens may live here. Errors become a
//! `tonic::Status` in exactly one place ([`status`]), with field violations as
//! `google.rpc.BadRequest` details.

mod convert;
mod redact;

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::{
    auth::{Auth, Registration, fields::Input},
    pb::{
        GetMeRequest, GetMeResponse, LoginRequest, LoginResponse, LogoutRequest, LogoutResponse,
        RefreshRequest, RefreshResponse, RegisterRequest, RegisterResponse, RevokeAllRequest,
        RevokeAllResponse, auth_service_server::AuthService,
    },
};
use convert::{status, token_pair, user};

/// Largest request a client may send; every valid request is far below it.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

pub struct GrpcAuth {
    auth: Arc<Auth>,
}

impl GrpcAuth {
    pub fn new(auth: Arc<Auth>) -> Self {
        Self { auth }
    }
}

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
        let request = request.into_inner();
        let form = Registration {
            username: input(&request.username),
            email: input(&request.email),
            password: input(&request.password),
            email_required: true,
        };
        let created = self.auth.register(form).await.map_err(status)?;
        Ok(Response::new(RegisterResponse {
            user: Some(user(created)),
        }))
    }

    async fn login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<LoginResponse>, Status> {
        let request = request.into_inner();
        let (who, session) = self
            .auth
            .login(input(&request.username), input(&request.password))
            .await
            .map_err(status)?;
        Ok(Response::new(LoginResponse {
            tokens: Some(token_pair(session)),
            user: Some(user(who)),
        }))
    }

    async fn refresh(
        &self,
        request: Request<RefreshRequest>,
    ) -> Result<Response<RefreshResponse>, Status> {
        let token = request.into_inner().refresh_token;
        let session = self
            .auth
            .refresh("refresh_token", input(&token))
            .await
            .map_err(status)?;
        Ok(Response::new(RefreshResponse {
            tokens: Some(token_pair(session)),
        }))
    }

    async fn get_me(
        &self,
        request: Request<GetMeRequest>,
    ) -> Result<Response<GetMeResponse>, Status> {
        let me = self
            .auth
            .me(authorization(&request))
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
        let token = request.into_inner().refresh_token;
        self.auth
            .logout("refresh_token", input(&token))
            .await
            .map_err(status)?;
        Ok(Response::new(LogoutResponse {}))
    }

    async fn revoke_all(
        &self,
        request: Request<RevokeAllRequest>,
    ) -> Result<Response<RevokeAllResponse>, Status> {
        let revoked = self
            .auth
            .revoke_all(authorization(&request))
            .await
            .map_err(status)?;
        Ok(Response::new(RevokeAllResponse {
            sessions_ended: revoked.sessions as i64,
            api_keys_revoked: revoked.api_keys as i64,
        }))
    }
}

/// The `authorization` metadata; a non-ASCII value cannot hold a token and counts as absent.
fn authorization<T>(request: &Request<T>) -> Option<&str> {
    request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
}
