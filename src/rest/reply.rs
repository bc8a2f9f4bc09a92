//! The one mapping of every REST failure to a JSON response, in each API's dialect.
//!
//! The two Django projects worded the same failure differently: the DRF token API's views
//! answer field errors bare and bad credentials with 400; the JWT API wraps errors in
//! `{"message", "errors"}` and answers bad credentials with 401; DRF's token authentication
//! and simplejwt each have their own 401 bodies and `WWW-Authenticate` challenge.
//!
//! Every failure of a REST request is a [`Failure`]: a core [`Error`], or one of the
//! HTTP-level failures DRF answered before a view ran (413, 400 for a body that never
//! arrived whole, 415, a JSON parse error, 404, 405). Each dialect words core errors in one
//! `match` that names every variant, so a new variant does not compile until each dialect
//! has chosen its status and its words. The status comes from [`Error::http_status`] except
//! where a dialect documents otherwise.

use axum::{
    Json,
    http::{
        HeaderValue, Method, StatusCode,
        header::{CACHE_CONTROL, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE},
    },
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use crate::error::{Error, Field, FieldErrors, MalformedHeader};

/// What a handler returns: its response, or the failure already worded.
pub type Reply = Result<Response, Response>;

/// A success that carries a token or an API key, marked `Cache-Control: no-store` and
/// `Pragma: no-cache` (RFC 6749 §5.1) so no cache on the way keeps the credential.
pub fn carrying_credentials(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Everything that can make a REST request fail.
#[derive(Debug)]
pub enum Failure {
    /// The core refused the request or failed serving it.
    Core(Error),
    /// The body was larger than the gateway reads.
    BodyTooLarge,
    /// The body did not arrive whole: it trickled or stalled past the deadline, the client
    /// went away, or its framing was broken.
    BodyIncomplete,
    /// A body in a media type that is neither JSON nor a form (the type as sent).
    UnsupportedMediaType(String),
    /// A body declared JSON that does not parse (the parser's explanation).
    MalformedJson(String),
    /// A body declared `multipart/form-data` that does not parse (the parser's explanation).
    MalformedMultipart(String),
    /// No endpoint at this path.
    NotFound,
    /// The path has an endpoint, but not for this method.
    MethodNotAllowed(Method),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Core(error)
    }
}

/// How an endpoint words its failures.
#[derive(Debug, Clone, Copy)]
pub enum Dialect {
    /// DRF's defaults: the DRF token API's views, and everything outside a view (404, 405).
    Drf,
    /// The JWT API's `{"message": <text>, "errors": {...}}` for field errors.
    Wrapped(&'static str),
    /// DRF token authentication on `GET /api/me/`.
    TokenAuthentication,
    /// simplejwt authentication on `GET /auth/me/`.
    JwtAuthentication,
    /// simplejwt token views (`/auth/token/refresh/`, `/auth/logout/`). They answer as DRF
    /// views do; their 401s carry the Bearer challenge as simplejwt's do (and as RFC 9110
    /// requires of every 401).
    JwtTokenView,
}

impl Dialect {
    pub fn reply(self, failure: impl Into<Failure>) -> Response {
        match failure.into() {
            Failure::Core(error) => {
                error.log_if_server_fault();
                match self {
                    Dialect::Drf | Dialect::JwtTokenView => drf_view(error),
                    Dialect::Wrapped(message) => wrapped(message, error),
                    Dialect::TokenAuthentication => token_authentication(error),
                    Dialect::JwtAuthentication => jwt_authentication(error),
                }
            }
            // DRF answers these before any view runs, alike for every endpoint.
            Failure::BodyTooLarge => {
                detail(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large.")
            }
            Failure::BodyIncomplete => detail(StatusCode::BAD_REQUEST, "Request body incomplete."),
            Failure::UnsupportedMediaType(content_type) => detail(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &format!("Unsupported media type \"{content_type}\" in request."),
            ),
            Failure::MalformedJson(explanation) => detail(
                StatusCode::BAD_REQUEST,
                &format!("JSON parse error - {explanation}"),
            ),
            Failure::MalformedMultipart(explanation) => detail(
                StatusCode::BAD_REQUEST,
                &format!("Multipart form parse error - {explanation}"),
            ),
            Failure::NotFound => not_found(),
            Failure::MethodNotAllowed(method) => detail(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("Method \"{method}\" not allowed."),
            ),
        }
    }
}

/// A DRF view (and simplejwt's token views).
fn drf_view(error: Error) -> Response {
    let status = error.http_status();
    match error {
        Error::InvalidInput(errors) | Error::AlreadyExists(errors) => {
            (status, Json(field_errors(&errors))).into_response()
        }
        Error::InvalidCredentials => bad_credentials(),
        Error::MissingCredentials => not_provided(status),
        Error::MalformedCredentials(_) | Error::InvalidToken => challenge(
            token_not_valid(status, "Token is invalid or expired"),
            BEARER_CHALLENGE,
        ),
        Error::WrongTokenType => challenge(
            token_not_valid(status, "Token has wrong type"),
            BEARER_CHALLENGE,
        ),
        Error::NotFound => not_found(),
        Error::Throttled { retry_after } => throttled(status, retry_after),
        Error::Overloaded { retry_after } => overloaded(status, retry_after),
        Error::Unavailable(_) => unavailable(status),
        Error::Internal(_) => server_fault(status),
    }
}

/// The JWT API's registration and login views.
fn wrapped(message: &'static str, error: Error) -> Response {
    let status = error.http_status();
    match error {
        Error::InvalidInput(errors) | Error::AlreadyExists(errors) => {
            let body = json!({ "message": message, "errors": field_errors(&errors) });
            (status, Json(body)).into_response()
        }
        Error::InvalidCredentials => (
            status,
            Json(json!({ "message": "Invalid login credentials" })),
        )
            .into_response(),
        Error::MissingCredentials => not_provided(status),
        Error::MalformedCredentials(_) | Error::InvalidToken => challenge(
            token_not_valid(status, "Token is invalid or expired"),
            BEARER_CHALLENGE,
        ),
        Error::WrongTokenType => challenge(
            token_not_valid(status, "Token has wrong type"),
            BEARER_CHALLENGE,
        ),
        Error::NotFound => not_found(),
        Error::Throttled { retry_after } => throttled(status, retry_after),
        Error::Overloaded { retry_after } => overloaded(status, retry_after),
        Error::Unavailable(_) => unavailable(status),
        Error::Internal(_) => server_fault(status),
    }
}

/// DRF's `TokenAuthentication`, challenging with `Token`.
fn token_authentication(error: Error) -> Response {
    let status = error.http_status();
    let text = match error {
        Error::InvalidInput(errors) | Error::AlreadyExists(errors) => {
            return (status, Json(field_errors(&errors))).into_response();
        }
        Error::InvalidCredentials => return bad_credentials(),
        Error::NotFound => return not_found(),
        Error::Throttled { retry_after } => return throttled(status, retry_after),
        Error::Overloaded { retry_after } => return overloaded(status, retry_after),
        Error::Unavailable(_) => return unavailable(status),
        Error::Internal(_) => return server_fault(status),
        Error::MissingCredentials => NOT_PROVIDED,
        Error::MalformedCredentials(MalformedHeader::NoCredentials) => {
            "Invalid token header. No credentials provided."
        }
        Error::MalformedCredentials(MalformedHeader::ContainsSpaces) => {
            "Invalid token header. Token string should not contain spaces."
        }
        Error::MalformedCredentials(MalformedHeader::InvalidCharacters) => {
            "Invalid token header. Token string should not contain invalid characters."
        }
        Error::InvalidToken | Error::WrongTokenType => "Invalid token.",
    };
    challenge(detail(status, text), "Token")
}

/// simplejwt's `JWTAuthentication`, challenging with `Bearer`.
fn jwt_authentication(error: Error) -> Response {
    let status = error.http_status();
    let body = match error {
        Error::InvalidInput(errors) | Error::AlreadyExists(errors) => {
            return (status, Json(field_errors(&errors))).into_response();
        }
        Error::InvalidCredentials => return bad_credentials(),
        Error::NotFound => return not_found(),
        Error::Throttled { retry_after } => return throttled(status, retry_after),
        Error::Overloaded { retry_after } => return overloaded(status, retry_after),
        Error::Unavailable(_) => return unavailable(status),
        Error::Internal(_) => return server_fault(status),
        Error::MissingCredentials => json!({ "detail": NOT_PROVIDED }),
        Error::MalformedCredentials(_) => json!({
            "detail": "Authorization header must contain two space-delimited values",
            "code": "bad_authorization_header",
        }),
        Error::InvalidToken => not_valid_for_any_type("Token is invalid or expired"),
        Error::WrongTokenType => not_valid_for_any_type("Token has wrong type"),
    };
    challenge((status, Json(body)).into_response(), BEARER_CHALLENGE)
}

/// simplejwt's answer when no token class accepts the token, saying why `AccessToken` did not.
fn not_valid_for_any_type(message: &str) -> Value {
    json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{
            "token_class": "AccessToken",
            "token_type": "access",
            "message": message,
        }],
    })
}

const BEARER_CHALLENGE: &str = "Bearer realm=\"api\"";
const NOT_PROVIDED: &str = "Authentication credentials were not provided.";

/// `{"detail": text}` with `status`.
fn detail(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "detail": text }))).into_response()
}

/// DRF's `NotFound`, for a path without an endpoint and for what a caller may not see.
fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not found.")
}

fn not_provided(status: StatusCode) -> Response {
    detail(status, NOT_PROVIDED)
}

fn unavailable(status: StatusCode) -> Response {
    detail(status, "Service temporarily unavailable, try again later.")
}

/// DRF's throttling answer (`Throttled`), with `Retry-After`.
fn throttled(status: StatusCode, retry_after: u64) -> Response {
    let unit = if retry_after == 1 {
        "second"
    } else {
        "seconds"
    };
    let text = format!("Request was throttled. Expected available in {retry_after} {unit}.");
    with_retry_after(detail(status, &text), retry_after)
}

/// Too busy to take the request now; `Retry-After` says when to try again.
fn overloaded(status: StatusCode, retry_after: u64) -> Response {
    with_retry_after(unavailable(status), retry_after)
}

fn with_retry_after(mut response: Response, retry_after: u64) -> Response {
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

fn server_fault(status: StatusCode) -> Response {
    detail(status, "A server error occurred.")
}

/// DRF's `ObtainAuthToken` answer to bad credentials: a 400, not a 401.
fn bad_credentials() -> Response {
    let errors = FieldErrors::single(
        Field::Request,
        "Unable to log in with provided credentials.",
    );
    (StatusCode::BAD_REQUEST, Json(field_errors(&errors))).into_response()
}

/// simplejwt's token views: `InvalidToken` carrying the `TokenError`'s words.
fn token_not_valid(status: StatusCode, detail: &str) -> Response {
    let body = json!({ "detail": detail, "code": "token_not_valid" });
    (status, Json(body)).into_response()
}

fn challenge(mut response: Response, scheme: &'static str) -> Response {
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
    response
}

/// A field as both Django APIs name it in requests and error bodies.
fn field_name(field: Field) -> &'static str {
    match field {
        Field::Username => "username",
        Field::Email => "email",
        Field::Password => "password",
        Field::RefreshToken => "refresh",
        // dj-rest-auth's password change form (Django's `PasswordChangeForm`).
        Field::CurrentPassword => "old_password",
        Field::NewPassword => "new_password1",
        Field::NewPasswordConfirmation => "new_password2",
        // In the path of `DELETE /auth/sessions/<id>/`; named for completeness.
        Field::SessionId => "id",
        Field::Token => "token",
        Field::Request => "non_field_errors",
    }
}

/// DRF's field-error object: each field to its list of messages.
fn field_errors(errors: &FieldErrors) -> Value {
    let map: Map<String, Value> = errors
        .iter()
        .map(|(field, messages)| (field_name(field).to_string(), json!(messages)))
        .collect();
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn throttled_requests_get_drfs_words_and_retry_after_in_every_dialect() {
        for dialect in [
            Dialect::Drf,
            Dialect::Wrapped("Invalid data"),
            Dialect::TokenAuthentication,
            Dialect::JwtAuthentication,
            Dialect::JwtTokenView,
        ] {
            for (wait, words) in [(1, "1 second."), (30, "30 seconds.")] {
                let response = dialect.reply(Error::Throttled { retry_after: wait });
                assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
                assert_eq!(response.headers()[RETRY_AFTER], wait.to_string().as_str());
                let body = axum::body::to_bytes(response.into_body(), 1024)
                    .await
                    .unwrap();
                let body: Value = serde_json::from_slice(&body).unwrap();
                let expected = format!("Request was throttled. Expected available in {words}");
                assert_eq!(body, json!({ "detail": expected }));
            }
            let busy = dialect.reply(Error::Overloaded { retry_after: 2 });
            assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(busy.headers()[RETRY_AFTER], "2");
        }
    }

    #[test]
    fn field_errors_use_the_django_names() {
        let mut errors = FieldErrors::new();
        errors.add(Field::RefreshToken, "x");
        errors.add(Field::Request, "y");
        assert_eq!(
            field_errors(&errors),
            json!({ "refresh": ["x"], "non_field_errors": ["y"] })
        );
    }
}
