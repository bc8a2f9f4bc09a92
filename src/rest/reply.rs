//! The one mapping of [`Error`] to a JSON response, in each API's dialect.
//!
//! The two Django projects worded the same failure differently: seed 1's DRF views answer
//! field errors bare and bad credentials with 400; seed 2 wraps errors in
//! `{"message", "errors"}` and answers bad credentials with 401; DRF's token authentication
//! and simplejwt each have their own 401 bodies and `WWW-Authenticate` challenge. The status
//! comes from [`Error::http_status`] except where a dialect documents otherwise.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header::WWW_AUTHENTICATE},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use crate::{
    auth::credentials::MalformedHeader,
    error::{Error, FieldErrors},
};

/// What a handler returns: its response, or the failure already worded.
pub type Reply = Result<Response, Response>;

/// How an endpoint words its failures.
#[derive(Debug, Clone, Copy)]
pub enum Dialect {
    /// DRF's defaults (seed 1 views, simplejwt's refresh-style field errors).
    Drf,
    /// Seed 2's `{"message": <text>, "errors": {...}}` for field errors.
    Wrapped(&'static str),
    /// DRF token authentication on `GET /api/me/`.
    TokenAuthentication,
    /// simplejwt authentication on `GET /auth/me/`.
    JwtAuthentication,
    /// simplejwt token views (`/auth/token/refresh/`, `/auth/logout/`); their 401s carry the
    /// Bearer challenge as simplejwt's do (and as RFC 9110 requires of every 401).
    JwtTokenView,
}

/// `{"detail": text}` with `status`.
pub fn detail(status: StatusCode, text: &str) -> (StatusCode, Json<Value>) {
    (status, Json(json!({ "detail": text })))
}

/// DRF's field-error object: each field to its list of messages.
pub fn field_errors(errors: &FieldErrors) -> Value {
    let map: Map<String, Value> = errors
        .iter()
        .map(|(field, messages)| (field.to_string(), json!(messages)))
        .collect();
    Value::Object(map)
}

impl Dialect {
    pub fn reply(self, error: Error) -> Response {
        error.log_if_server_fault();
        let status =
            StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match (self, &error) {
            (_, Error::Unavailable(_)) => {
                detail(status, "Service temporarily unavailable, try again later.").into_response()
            }
            (_, Error::Internal(_)) => detail(status, "A server error occurred.").into_response(),
            (
                Dialect::Wrapped(message),
                Error::InvalidInput(errors) | Error::AlreadyExists(errors),
            ) => {
                let body = json!({ "message": message, "errors": field_errors(errors) });
                (status, Json(body)).into_response()
            }
            (_, Error::InvalidInput(errors) | Error::AlreadyExists(errors)) => {
                (status, Json(field_errors(errors))).into_response()
            }
            (Dialect::Wrapped(_), Error::InvalidCredentials) => (
                status,
                Json(json!({ "message": "Invalid login credentials" })),
            )
                .into_response(),
            (_, Error::InvalidCredentials) => {
                let mut errors = FieldErrors::new();
                errors.add(
                    "non_field_errors",
                    "Unable to log in with provided credentials.",
                );
                (StatusCode::BAD_REQUEST, Json(field_errors(&errors))).into_response()
            }
            (Dialect::TokenAuthentication, _) => token_authentication(status, &error),
            (Dialect::JwtAuthentication, _) => jwt_authentication(status, &error),
            (_, Error::MissingCredentials) => {
                detail(status, "Authentication credentials were not provided.").into_response()
            }
            (_, _) => challenge(token_not_valid(status), "Bearer realm=\"api\""),
        }
    }
}

fn challenge(mut response: Response, scheme: &'static str) -> Response {
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
    response
}

fn token_authentication(status: StatusCode, error: &Error) -> Response {
    let text = match error {
        Error::MissingCredentials => "Authentication credentials were not provided.",
        Error::MalformedCredentials(MalformedHeader::NoCredentials) => {
            "Invalid token header. No credentials provided."
        }
        Error::MalformedCredentials(MalformedHeader::ContainsSpaces) => {
            "Invalid token header. Token string should not contain spaces."
        }
        _ => "Invalid token.",
    };
    challenge(detail(status, text).into_response(), "Token")
}

fn jwt_authentication(status: StatusCode, error: &Error) -> Response {
    let body = match error {
        Error::MissingCredentials => {
            json!({ "detail": "Authentication credentials were not provided." })
        }
        Error::MalformedCredentials(_) => json!({
            "detail": "Authorization header must contain two space-delimited values",
            "code": "bad_authorization_header",
        }),
        _ => json!({
            "detail": "Given token not valid for any token type",
            "code": "token_not_valid",
            "messages": [{
                "token_class": "AccessToken",
                "token_type": "access",
                "message": "Token is invalid or expired",
            }],
        }),
    };
    challenge((status, Json(body)).into_response(), "Bearer realm=\"api\"")
}

fn token_not_valid(status: StatusCode) -> Response {
    let body = json!({ "detail": "Token is invalid or expired", "code": "token_not_valid" });
    (status, Json(body)).into_response()
}

/// Unix seconds as `2026-11-22T04:58:31Z` (UTC, whole seconds), as seed 2 printed times.
pub fn utc_timestamp(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_iso_with_z() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_795_323_511), "2026-11-22T04:58:31Z");
        assert_eq!(utc_timestamp(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
