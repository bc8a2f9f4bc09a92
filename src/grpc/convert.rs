//! Core values to protobuf messages, and the one mapping of [`Error`] to `tonic::Status`.

use prost_types::Timestamp;
use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

use crate::{
    auth::Session,
    error::Error,
    pb::{TokenPair, User},
    store::UserRecord,
};

fn timestamp(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

pub fn user(record: UserRecord) -> User {
    User {
        id: record.id,
        username: record.username,
        email: record.email.unwrap_or_default(),
        created_at: timestamp(record.created_at),
    }
}

pub fn token_pair(session: Session) -> TokenPair {
    TokenPair {
        access_token: session.access.token,
        refresh_token: session.refresh.token,
        token_type: "Bearer".into(),
        access_expires_at: timestamp(session.access.expires_at),
        refresh_expires_at: timestamp(session.refresh.expires_at),
    }
}

/// The gRPC status for `error`: its code from [`Error::grpc_code`], a message that says
/// what failed, and a `BadRequest` detail with one violation per failing field message.
pub fn status(error: Error) -> Status {
    error.log_if_server_fault();
    let code = error.grpc_code();
    match error.field_errors() {
        Some(fields) => {
            let mut details = ErrorDetails::new();
            for (field, messages) in fields.iter() {
                for message in messages {
                    details.add_bad_request_violation(field, message);
                }
            }
            Status::with_error_details(code, error.to_string(), details)
        }
        None => Status::new(code, error.to_string()),
    }
}
