//! Calling a `TestApp` over gRPC as a tonic client does: a real channel over TCP, the
//! common RPCs with their request types filled in, and the assertions on a failed call's
//! status and its field violations.

use authd::pb::{
    GetMeRequest, LoginRequest, LoginResponse, RegisterRequest, User,
    auth_service_client::AuthServiceClient,
};
use tonic::{Code, Request, Status, transport::Channel};
use tonic_types::StatusExt;

use super::{TestApp, values::PASSWORD};

impl TestApp {
    pub async fn client(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::connect(format!("http://{}", self.address))
            .await
            .expect("connect to authd")
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .expect("uri")
            .connect()
            .await
            .expect("connect to authd")
    }

    pub async fn register(
        &self,
        username: &str,
        email: &str,
        password: &str,
    ) -> Result<User, Status> {
        let request = RegisterRequest {
            username: username.into(),
            email: email.into(),
            password: password.into(),
        };
        let response = self.client().await.register(request).await?;
        Ok(response
            .into_inner()
            .user
            .expect("user in RegisterResponse"))
    }

    pub async fn login(&self, username: &str, password: &str) -> Result<LoginResponse, Status> {
        let request = LoginRequest {
            username: username.into(),
            password: password.into(),
            email: String::new(),
        };
        Ok(self.client().await.login(request).await?.into_inner())
    }

    /// Registers `username` with the standard password and logs in.
    pub async fn signed_in(&self, username: &str) -> LoginResponse {
        self.register(username, &format!("{username}@example.com"), PASSWORD)
            .await
            .expect("register");
        self.login(username, PASSWORD).await.expect("login")
    }

    /// GetMe with `authorization: <value>`.
    pub async fn get_me_with(&self, authorization: &str) -> Result<User, Status> {
        let mut request = Request::new(GetMeRequest {});
        request.metadata_mut().insert(
            "authorization",
            authorization.parse().expect("ascii metadata"),
        );
        let response = self.client().await.get_me(request).await?;
        Ok(response.into_inner().user.expect("user in GetMeResponse"))
    }

    pub async fn get_me(&self, access_token: &str) -> Result<User, Status> {
        self.get_me_with(&format!("Bearer {access_token}")).await
    }
}

/// The field violations of a status as `(field, message)` pairs, in order.
pub fn violations(status: &Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|bad| {
            bad.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

pub fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(field, message)| (field.to_string(), message.to_string()))
        .collect()
}

/// Asserts the call failed as UNAUTHENTICATED.
pub fn assert_unauthenticated<T: std::fmt::Debug>(result: Result<T, Status>) {
    match result {
        Err(status) => assert_eq!(status.code(), Code::Unauthenticated, "{status:?}"),
        Ok(value) => panic!("expected UNAUTHENTICATED, got {value:?}"),
    }
}
