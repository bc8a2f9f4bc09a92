//! The request's [`Context`], built once per REST request from what HTTP knows: the TCP
//! peer (tonic's server records it on every request, REST included), `X-Forwarded-For`
//! (which the core reads only from trusted proxies), `User-Agent` and `X-Request-Id`.

use std::{borrow::Cow, convert::Infallible, sync::Arc};

use axum::{
    extract::FromRequestParts,
    http::{
        HeaderMap, HeaderValue,
        header::{AUTHORIZATION, USER_AGENT},
        request::Parts,
    },
};
use tonic::transport::server::TcpConnectInfo;

use super::reply::Dialect;
use crate::{
    auth::{Auth, Caller, Context, credentials::names_token_scheme},
    error::{Error, MalformedHeader},
};

/// The [`Context`] of a REST request, as a handler argument.
pub struct RequestContext(pub Context);

impl FromRequestParts<Arc<Auth>> for RequestContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, auth: &Arc<Auth>) -> Result<Self, Infallible> {
        let text = |name| {
            parts
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
        };
        let caller = Caller {
            peer: parts
                .extensions
                .get::<TcpConnectInfo>()
                .and_then(TcpConnectInfo::remote_addr),
            forwarded_for: parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .map(HeaderValue::as_bytes)
                .collect(),
            user_agent: text(USER_AGENT.as_str()),
            request_id: text("x-request-id"),
            // HTTP has no standard request deadline; the core's own limits apply.
            timeout: None,
        };
        Ok(Self(auth.context(caller)))
    }
}

/// The `Authorization` header, as DRF reads it: printable ASCII as it is; other bytes
/// decoded as UTF-8, and a DRF `Token` whose key is not UTF-8 refused in DRF's words
/// ("should not contain invalid characters"). A `Bearer` value that is not UTF-8 is read
/// lossily: it cannot be a token, and is refused as one.
pub fn authorization(headers: &HeaderMap) -> Result<Option<Cow<'_, str>>, Error> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    if let Ok(text) = value.to_str() {
        return Ok(Some(Cow::Borrowed(text)));
    }
    let bytes = value.as_bytes();
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Some(Cow::Owned(text.to_string()))),
        Err(_) if names_token_scheme(bytes) => Err(Error::MalformedCredentials(
            MalformedHeader::InvalidCharacters,
        )),
        Err(_) => Ok(Some(String::from_utf8_lossy(bytes))),
    }
}

/// The dialect a request's authentication failures read in: DRF `TokenAuthentication`'s for
/// a `Token` value (an endpoint that reads API keys answers a bad one as DRF does), else the
/// endpoint's own.
pub fn credentials_dialect(headers: &HeaderMap, endpoint: Dialect) -> Dialect {
    let names_token = headers
        .get(AUTHORIZATION)
        .is_some_and(|value| names_token_scheme(value.as_bytes()));
    if names_token {
        Dialect::TokenAuthentication
    } else {
        endpoint
    }
}
