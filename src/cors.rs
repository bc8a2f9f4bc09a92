//! What browsers need beyond grpc-web itself: CORS for the origins an operator allows.
//!
//! None by default: a page served by authd itself is same-origin and needs none, and an
//! auth service should not answer arbitrary sites' scripts. `*` allows any origin (for
//! development); otherwise only the listed origins. Responses expose the gRPC status
//! headers, so a browser client can read why a call failed (including the field violations
//! in `grpc-status-details-bin`), and the request id, so it can quote the log's name for it.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::Error;

/// Request headers grpc-web and REST clients send.
const ALLOWED_HEADERS: [&str; 7] = [
    "authorization",
    "x-request-id",
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "connect-protocol-version",
];

/// Response headers a browser script may read.
const EXPOSED_HEADERS: [&str; 4] = [
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "x-request-id",
];

/// The CORS layer for `origins` (`AUTHD_CORS_ORIGINS`), or none when the list is empty.
pub fn layer(origins: &[String]) -> Result<Option<CorsLayer>, Error> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let allow_origin = if origins == ["*"] {
        AllowOrigin::any()
    } else {
        let parsed = origins
            .iter()
            .map(|origin| {
                if *origin == "*" || origin.ends_with('/') || !origin.contains("://") {
                    return Err(Error::Internal(format!(
                        "CORS origin {origin:?}: use scheme://host[:port] without a path, or * alone"
                    )));
                }
                HeaderValue::from_str(origin)
                    .map_err(|_| Error::Internal(format!("CORS origin {origin:?} is not a valid header value")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(parsed)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers(ALLOWED_HEADERS.map(HeaderName::from_static))
            .expose_headers(EXPOSED_HEADERS.map(HeaderName::from_static))
            .max_age(Duration::from_secs(86_400)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_origins_means_no_cors() {
        assert!(matches!(layer(&[]), Ok(None)));
        assert!(matches!(layer(&[" ".into()]), Ok(None)));
    }

    #[test]
    fn any_or_listed_origins() {
        assert!(matches!(layer(&["*".into()]), Ok(Some(_))));
        let listed = [
            "https://app.example.com".to_string(),
            "http://localhost:5173".to_string(),
        ];
        assert!(matches!(layer(&listed), Ok(Some(_))));
    }

    #[test]
    fn malformed_origins_are_refused_at_start() {
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://a.example\n.com",
        ] {
            assert!(layer(&[bad.to_string()]).is_err(), "{bad:?}");
        }
        assert!(layer(&["*".into(), "https://a.example.com".into()]).is_err());
    }
}
