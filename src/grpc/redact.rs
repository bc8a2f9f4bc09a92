//! `Debug` for the generated messages that carry a password or a token.
//!
//! build.rs turns off the derived `Debug` for these messages; the versions here print every
//! field except the secrets, so a stray `{:?}` in a log line can never leak one.

use std::fmt;

use crate::pb::{
    LoginRequest, LoginResponse, LogoutRequest, RefreshRequest, RefreshResponse, RegisterRequest,
    TokenPair,
};

const REDACTED: &str = "<redacted>";

impl fmt::Debug for RegisterRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisterRequest")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password", &REDACTED)
            .finish()
    }
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &REDACTED)
            .field("email", &self.email)
            .finish()
    }
}

impl fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshRequest")
            .field("refresh_token", &REDACTED)
            .finish()
    }
}

impl fmt::Debug for LogoutRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogoutRequest")
            .field("refresh_token", &REDACTED)
            .finish()
    }
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &REDACTED)
            .field("refresh_token", &REDACTED)
            .field("token_type", &self.token_type)
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish()
    }
}

impl fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginResponse")
            .field("tokens", &self.tokens)
            .field("user", &self.user)
            .finish()
    }
}

impl fmt::Debug for RefreshResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshResponse")
            .field("tokens", &self.tokens)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let login = LoginRequest {
            username: "alice".into(),
            password: "hunter2-x".into(),
            email: String::new(),
        };
        let pair = TokenPair {
            access_token: "eyJ.access".into(),
            refresh_token: "eyJ.refresh".into(),
            ..Default::default()
        };
        let printed = format!(
            "{login:?} {:?}",
            LoginResponse {
                tokens: Some(pair),
                user: None
            }
        );
        assert!(printed.contains("alice"));
        for secret in ["hunter2-x", "eyJ.access", "eyJ.refresh"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}
