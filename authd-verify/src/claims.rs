//! What a verified access token says: the claims authd puts in every token (simplejwt's
//! names), as the layer leaves them in a request's extensions.

use serde::{Deserialize, Serialize};

/// The claims of a verified access token. [`crate::AuthdLayer`] inserts one into the
/// extensions of every request it lets through: `Extension<Claims>` in axum,
/// `request.extensions().get::<Claims>()` in a tonic handler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The authd user's id.
    pub user_id: i64,
    /// The token's unique id.
    pub jti: String,
    /// When it expires (seconds since the Unix epoch).
    pub exp: i64,
    /// When it was issued (seconds since the Unix epoch).
    pub iat: i64,
    /// Always `access` here: refresh tokens are refused.
    pub token_type: String,
    /// Who issued it (authd's `--jwt-issuer`).
    pub iss: String,
    /// Whom it is for (authd's `--jwt-audience`).
    pub aud: String,
    /// Not before: authd never sets it, but it is honoured when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// The checks every mode makes on the claims, besides the signature.
#[derive(Debug, Clone)]
pub(crate) struct Expected {
    pub issuer: String,
    pub audience: String,
    /// Seconds of clock difference tolerated on `exp`, `nbf` and `iat`.
    pub leeway: i64,
}

impl Expected {
    /// Whether `claims` are those of a live access token for us at `now`.
    pub(crate) fn admits(&self, claims: &Claims, now: i64) -> bool {
        let ahead = now.saturating_add(self.leeway);
        claims.token_type == "access"
            && claims.iss == self.issuer
            && claims.aud == self.audience
            && claims.exp.saturating_add(self.leeway) > now
            && claims.iat <= ahead
            && claims.nbf.is_none_or(|nbf| nbf <= ahead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(token_type: &str, exp: i64) -> Claims {
        Claims {
            user_id: 7,
            jti: "j".into(),
            exp,
            iat: 900,
            token_type: token_type.into(),
            iss: "authd".into(),
            aud: "authd".into(),
            nbf: None,
        }
    }

    fn expected() -> Expected {
        Expected {
            issuer: "authd".into(),
            audience: "authd".into(),
            leeway: 30,
        }
    }

    #[test]
    fn an_access_token_is_admitted_until_its_expiry_plus_the_leeway() {
        assert!(expected().admits(&claims("access", 1000), 1000));
        assert!(expected().admits(&claims("access", 1000), 1029));
        assert!(!expected().admits(&claims("access", 1000), 1030));
    }

    #[test]
    fn refresh_tokens_other_audiences_and_future_tokens_are_refused() {
        assert!(!expected().admits(&claims("refresh", 2000), 1000));
        let mut other = claims("access", 2000);
        other.aud = "billing".into();
        assert!(!expected().admits(&other, 1000));
        let mut early = claims("access", 2000);
        early.nbf = Some(1031);
        assert!(!expected().admits(&early, 1000));
        let mut future = claims("access", 2000);
        future.iat = 1031;
        assert!(!expected().admits(&future, 1000));
    }
}
