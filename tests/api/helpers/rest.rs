//! Calling a `TestApp` over REST, the Django-compatible gateway on the same port: a reqwest
//! client (HTTP/1.1, redirects off so a 301 is seen as a 301), a reply read whole, and the
//! requests most tests make on the DRF token API (`/api/...`) and the JWT API (`/auth/...`).

use super::{TestApp, values::PASSWORD};

impl TestApp {
    /// The REST URL of `path` (starting with `/`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

/// An HTTP client that shows redirects instead of following them.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

/// A REST response read whole.
#[derive(Debug)]
pub struct RestReply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The body as JSON; `Null` when it is empty or not JSON (`text` keeps it as sent).
    pub json: serde_json::Value,
    pub text: String,
}

impl RestReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header"))
    }

    /// Asserts the status, the exact JSON body, its content type and the security headers.
    #[track_caller]
    pub fn assert(&self, status: u16, body: serde_json::Value) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.json, body, "{self:?}");
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(content_type.starts_with("application/json"), "{self:?}");
        assert_security_headers(self);
    }

    /// The JSON string at `pointer` (e.g. `/data/access`).
    pub fn str(&self, pointer: &str) -> String {
        let value = self.json.pointer(pointer).and_then(|v| v.as_str());
        value
            .unwrap_or_else(|| panic!("no string at {pointer}: {self:?}"))
            .to_string()
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> RestReply {
    let response = request.send().await.expect("HTTP request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("HTTP body");
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    RestReply {
        status,
        headers,
        json,
        text,
    }
}

pub async fn post_json(app: &TestApp, path: &str, body: &serde_json::Value) -> RestReply {
    send(http().post(app.url(path)).json(body)).await
}

/// POSTs `body` as is, with `content_type` if given.
pub async fn post_raw(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> RestReply {
    let mut request = http().post(app.url(path)).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    send(request).await
}

pub async fn post_form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> RestReply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    post_raw(app, path, Some("application/x-www-form-urlencoded"), body).await
}

/// GET `path` with `Authorization: <authorization>` if given.
pub async fn get_with_auth(app: &TestApp, path: &str, authorization: Option<&str>) -> RestReply {
    let mut request = http().get(app.url(path));
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    send(request).await
}

/// The headers Django's security middleware put on every response.
#[track_caller]
pub fn assert_security_headers(reply: &RestReply) {
    assert_eq!(
        reply.header("x-content-type-options"),
        Some("nosniff"),
        "{reply:?}"
    );
    assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{reply:?}");
    assert_eq!(
        reply.header("referrer-policy"),
        Some("same-origin"),
        "{reply:?}"
    );
}

/// `POST /api/create/` for `username` with `<username>@example.com` and the standard
/// password; the created user's body.
pub async fn api_create(app: &TestApp, username: &str) -> serde_json::Value {
    let body = serde_json::json!({
        "username": username, "email": format!("{username}@example.com"), "password": PASSWORD,
    });
    let reply = post_json(app, "/api/create/", &body).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    reply.json
}

/// `POST /api/token/`: the new key.
pub async fn api_token(app: &TestApp, username: &str, password: &str) -> String {
    let body = serde_json::json!({ "username": username, "password": password });
    let reply = post_json(app, "/api/token/", &body).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.str("/token")
}

/// `POST /auth/login/`: the reply's `data` (`created`, `expires`, `refresh`, `access`).
pub async fn auth_login(app: &TestApp, username: &str, password: &str) -> serde_json::Value {
    let body = serde_json::json!({ "username": username, "password": password });
    let reply = post_json(app, "/auth/login/", &body).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json["data"].clone()
}
