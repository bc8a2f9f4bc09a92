//! Core values to protobuf messages, request metadata to a [`Caller`], and the one mapping
//! of [`Error`] to `tonic::Status`.

use prost_types::Timestamp;
use tonic::{Request, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{
    auth::{
        Caller, LiveToken,
        model::{SessionInfo, TokenPair, User},
    },
    error::{Error, Field, FieldErrors},
    pb,
};

fn timestamp(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

pub fn user(user: User) -> pb::User {
    pb::User {
        id: user.id,
        username: user.username,
        email: user.email.unwrap_or_default(),
        created_at: timestamp(user.created_at),
    }
}

pub fn token_pair(pair: TokenPair) -> pb::TokenPair {
    pb::TokenPair {
        access_token: pair.access.token,
        refresh_token: pair.refresh.token,
        token_type: "Bearer".into(),
        access_expires_at: timestamp(pair.access.expires_at),
        refresh_expires_at: timestamp(pair.refresh.expires_at),
    }
}

pub fn live_token(live: LiveToken) -> pb::ValidateTokenResponse {
    pb::ValidateTokenResponse {
        active: true,
        user: Some(user(live.user)),
        session_id: live.session_id.unwrap_or_default(),
        token_type: live.token_type.as_str().into(),
        expires_at: live.expires_at.and_then(timestamp),
    }
}

pub fn session_info(session: SessionInfo) -> pb::SessionInfo {
    pb::SessionInfo {
        id: session.id,
        created_at: timestamp(session.created_at),
        expires_at: timestamp(session.expires_at),
        last_used_at: timestamp(session.last_used_at),
        current: session.current,
        user_agent: session.user_agent.unwrap_or_default(),
        ip: session.ip.unwrap_or_default(),
    }
}

/// What gRPC knows of the caller: the TCP peer, every `x-forwarded-for` value as sent, the
/// `user-agent` and `x-request-id` metadata (a value that is not ASCII counts as absent), and
/// the `grpc-timeout` deadline.
pub fn caller<T>(request: &Request<T>) -> Caller<'_> {
    let metadata = request.metadata();
    let text = |name: &str| metadata.get(name).and_then(|value| value.to_str().ok());
    Caller {
        peer: request.remote_addr(),
        forwarded_for: metadata
            .get_all("x-forwarded-for")
            .iter()
            .map(|value| value.as_encoded_bytes())
            .collect(),
        user_agent: text("user-agent"),
        request_id: text("x-request-id"),
        timeout: text("grpc-timeout").and_then(grpc_timeout),
    }
}

/// A `grpc-timeout` value (1 to 8 digits and a unit: `H`, `M`, `S`, `m`, `u`, `n`), or
/// `None` when it is malformed, as the gRPC spec asks servers to treat it.
fn grpc_timeout(value: &str) -> Option<std::time::Duration> {
    use std::time::Duration;
    let unit = value.chars().last()?;
    let digits = &value[..value.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(amount * 3600),
        'M' => Duration::from_secs(amount * 60),
        'S' => Duration::from_secs(amount),
        'm' => Duration::from_millis(amount),
        'u' => Duration::from_micros(amount),
        'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// The `authorization` metadata; a non-ASCII value cannot hold a token and counts as absent.
pub fn authorization<T>(request: &Request<T>) -> Option<&str> {
    request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
}

/// A field as the `.proto` names it.
fn field_name(field: Field) -> &'static str {
    match field {
        Field::Username => "username",
        Field::Email => "email",
        Field::Password => "password",
        Field::RefreshToken => "refresh_token",
        Field::CurrentPassword => "current_password",
        Field::NewPassword => "new_password",
        // ChangePassword takes the new password once; named for completeness.
        Field::NewPasswordConfirmation => "new_password_confirmation",
        Field::SessionId => "session_id",
        Field::Token => "token",
        // Only the REST gateway judges a body as a whole; named for completeness.
        Field::Request => "request",
    }
}

/// The gRPC status for `error`: its code from [`Error::grpc_code`], a message that says
/// what failed, and a `BadRequest` detail with one violation per failing field message.
pub fn status(error: Error) -> Status {
    error.log_if_server_fault();
    let code = error.grpc_code();
    if let Some(wait) = error.retry_after() {
        return retry_later(code, error.to_string(), wait);
    }
    match error.field_errors() {
        Some(fields) => {
            let mut details = ErrorDetails::new();
            for (field, messages) in fields.iter() {
                for message in messages {
                    details.add_bad_request_violation(field_name(field), message);
                }
            }
            let message = format!("{error}: {}", describe(fields));
            Status::with_error_details(code, message, details)
        }
        None => Status::new(code, error.to_string()),
    }
}

/// A status that tells the client when to come back: a `google.rpc.RetryInfo` detail, and
/// `retry-after` metadata (seconds) for clients that read no details.
fn retry_later(code: tonic::Code, message: String, wait: u64) -> Status {
    let details = ErrorDetails::with_retry_info(Some(std::time::Duration::from_secs(wait)));
    let mut status = Status::with_error_details(code, message, details);
    status
        .metadata_mut()
        .insert("retry-after", tonic::metadata::MetadataValue::from(wait));
    status
}

/// `username: This field is required.; password: …`, for the status message.
fn describe(errors: &FieldErrors) -> String {
    let mut text = String::new();
    for (field, messages) in errors.iter() {
        for message in messages {
            if !text.is_empty() {
                text.push_str("; ");
            }
            text.push_str(field_name(field));
            text.push_str(": ");
            text.push_str(message);
        }
    }
    text
}

/// A response that carries tokens, with `cache-control: no-store` and `pragma: no-cache`
/// in its metadata: grpc-web answers are plain HTTP responses that a proxy could cache.
pub fn carrying_tokens<T>(message: T) -> tonic::Response<T> {
    let mut response = tonic::Response::new(message);
    let metadata = response.metadata_mut();
    metadata.insert(
        "cache-control",
        tonic::metadata::MetadataValue::from_static("no-store"),
    );
    metadata.insert(
        "pragma",
        tonic::metadata::MetadataValue::from_static("no-cache"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_follow_the_spec() {
        use std::time::Duration;
        assert_eq!(grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(grpc_timeout("2M"), Some(Duration::from_secs(120)));
        assert_eq!(grpc_timeout("30S"), Some(Duration::from_secs(30)));
        assert_eq!(grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(
            grpc_timeout("99999999u"),
            Some(Duration::from_micros(99_999_999))
        );
        assert_eq!(grpc_timeout("5n"), Some(Duration::from_nanos(5)));
        for bad in ["", "S", "123456789S", "1s", "-1S", "1.5S", "1é", "12"] {
            assert_eq!(grpc_timeout(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn throttled_calls_say_when_to_retry_in_details_and_metadata() {
        let status = status(Error::Throttled { retry_after: 7 });
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(status.metadata().get("retry-after").unwrap(), "7");
        let retry = status.get_details_retry_info().unwrap();
        assert_eq!(retry.retry_delay, Some(std::time::Duration::from_secs(7)));
    }

    #[test]
    fn field_errors_read_as_one_message_in_proto_names() {
        let mut errors = FieldErrors::new();
        errors.add(Field::RefreshToken, "This field is required.");
        errors.add(Field::Username, "a");
        errors.add(Field::RefreshToken, "b");
        assert_eq!(
            describe(&errors),
            "refresh_token: This field is required.; refresh_token: b; username: a"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_grpc_timeout_gets_an_answer(value in "\\PC{0,12}") {
            let _ = grpc_timeout(&value);
        }
    }
}
