//! The request's [`Context`], built once per REST request from what HTTP knows: the TCP
//! peer (tonic's server records it on every request, REST included), `X-Forwarded-For`
//! (which the core reads only from trusted proxies), `User-Agent` and `X-Request-Id`.

use std::{convert::Infallible, sync::Arc};

use axum::{
    extract::FromRequestParts,
    http::{
        HeaderMap, HeaderValue,
        header::{AUTHORIZATION, USER_AGENT},
        request::Parts,
    },
};
use tonic::transport::server::TcpConnectInfo;

use crate::auth::{Auth, Caller, Context};

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

/// The `Authorization` header; one that is not valid text counts as absent.
pub fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
}
