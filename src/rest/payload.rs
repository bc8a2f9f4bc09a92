//! Request bodies as DRF parses them: JSON or form, with DRF's answers for everything else.
//!
//! The body is read up to [`MAX_BODY_BYTES`] (413 past it), then parsed by its media type:
//! `application/json` and `application/x-www-form-urlencoded` are accepted, an empty body is
//! `{}` whatever its type, a body with no type is ignored (as DRF does), and any other type
//! is 415. Parse failures are answered here; a parsed body that is not an object becomes a
//! `non_field_errors` entry, which each endpoint words in its own dialect.

use std::collections::HashMap;

use axum::{
    body::{Body, Bytes},
    extract::FromRequest,
    http::{Request, StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::reply::{Dialect, detail};
use crate::{
    auth::fields::Input,
    error::{Error, FieldErrors},
};

/// Largest request body accepted (Django parsed bodies of megabytes; nothing here needs more
/// than a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// One field as the client sent it.
#[derive(Debug, Clone)]
enum Sent {
    Text(String),
    Null,
    NotAString,
}

/// A request body that parsed: an object's fields, or why it was not an object.
pub struct Payload(Result<HashMap<String, Sent>, FieldErrors>);

impl Payload {
    /// The fields, or the `non_field_errors` answer worded in `dialect`.
    pub fn fields_for(&self, dialect: Dialect) -> Result<Fields<'_>, Response> {
        self.0
            .as_ref()
            .map(Fields)
            .map_err(|errors| dialect.reply(Error::InvalidInput(errors.clone())))
    }
}

/// The fields of an object body.
pub struct Fields<'a>(&'a HashMap<String, Sent>);

impl Fields<'_> {
    pub fn input(&self, name: &str) -> Input<'_> {
        match self.0.get(name) {
            None => Input::Missing,
            Some(Sent::Null) => Input::Null,
            Some(Sent::NotAString) => Input::NotAString,
            Some(Sent::Text(text)) => Input::Text(text),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Payload {
    type Rejection = Response;

    async fn from_request(request: Request<Body>, _state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| too_large())?;
        parse(content_type.as_deref(), &bytes).map(Payload)
    }
}

fn too_large() -> Response {
    detail(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large.").into_response()
}

type Parsed = Result<HashMap<String, Sent>, FieldErrors>;

fn parse(content_type: Option<&str>, bytes: &Bytes) -> Result<Parsed, Response> {
    let Some(content_type) = content_type.filter(|_| !bytes.is_empty()) else {
        return Ok(Ok(HashMap::new()));
    };
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "application/json" => parse_json(bytes),
        "application/x-www-form-urlencoded" => Ok(Ok(parse_form(bytes))),
        _ => Err(detail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!("Unsupported media type \"{content_type}\" in request."),
        )
        .into_response()),
    }
}

fn parse_json(bytes: &Bytes) -> Result<Parsed, Response> {
    // serde_json refuses nesting deeper than 128 levels, invalid UTF-8 and lone surrogates;
    // duplicate keys keep the last value, as Python's json does.
    let value: Value = serde_json::from_slice(bytes).map_err(|error| {
        detail(
            StatusCode::BAD_REQUEST,
            &format!("JSON parse error - {error}"),
        )
        .into_response()
    })?;
    let object = match value {
        Value::Object(object) => object,
        other => return Ok(Err(not_an_object(&other))),
    };
    let fields = object
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                Value::String(text) => Sent::Text(text),
                Value::Null => Sent::Null,
                // DRF's CharField takes numbers as their text.
                Value::Number(number) => Sent::Text(number.to_string()),
                Value::Bool(_) | Value::Array(_) | Value::Object(_) => Sent::NotAString,
            };
            (name, value)
        })
        .collect();
    Ok(Ok(fields))
}

/// DRF's answer to a body that parsed but is not an object, named with Python's type names.
fn not_an_object(value: &Value) -> FieldErrors {
    let message = match value {
        Value::Null => "No data provided".to_string(),
        other => {
            let python_type = match other {
                Value::Array(_) => "list",
                Value::String(_) => "str",
                Value::Bool(_) => "bool",
                Value::Number(number) if number.is_f64() => "float",
                _ => "int",
            };
            format!("Invalid data. Expected a dictionary, but got {python_type}.")
        }
    };
    let mut errors = FieldErrors::new();
    errors.add("non_field_errors", message);
    errors
}

/// Form fields; a repeated name keeps its last value, as Django's `QueryDict.get` does.
fn parse_form(bytes: &Bytes) -> HashMap<String, Sent> {
    form_urlencoded::parse(bytes)
        .map(|(name, value)| (name.into_owned(), Sent::Text(value.into_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(content_type: &str, body: &str) -> Option<Parsed> {
        parse(Some(content_type), &Bytes::from(body.to_string())).ok()
    }

    #[test]
    fn json_fields_become_inputs() {
        let Some(Ok(fields)) = parsed(
            "application/json; charset=utf-8",
            r#"{"a":"x","b":null,"c":7,"d":[1],"e":true}"#,
        ) else {
            unreachable!("an object parses");
        };
        let fields = Fields(&fields);
        assert_eq!(fields.input("a"), Input::Text("x"));
        assert_eq!(fields.input("b"), Input::Null);
        assert_eq!(fields.input("c"), Input::Text("7"));
        assert_eq!(fields.input("d"), Input::NotAString);
        assert_eq!(fields.input("e"), Input::NotAString);
        assert_eq!(fields.input("missing"), Input::Missing);
    }

    #[test]
    fn forms_keep_the_last_value() {
        let Some(Ok(fields)) = parsed("application/x-www-form-urlencoded", "a=1&a=two%20x") else {
            unreachable!("a form parses");
        };
        assert_eq!(Fields(&fields).input("a"), Input::Text("two x"));
    }

    #[test]
    fn non_objects_name_their_python_type() {
        for (body, expected) in [
            ("[1]", "Invalid data. Expected a dictionary, but got list."),
            ("\"x\"", "Invalid data. Expected a dictionary, but got str."),
            ("3", "Invalid data. Expected a dictionary, but got int."),
            ("3.5", "Invalid data. Expected a dictionary, but got float."),
            ("true", "Invalid data. Expected a dictionary, but got bool."),
            ("null", "No data provided"),
        ] {
            let Some(Err(errors)) = parsed("application/json", body) else {
                unreachable!("{body} is not an object");
            };
            let mut expected_errors = FieldErrors::new();
            expected_errors.add("non_field_errors", expected);
            assert_eq!(errors, expected_errors, "{body}");
        }
    }

    #[test]
    fn empty_or_untyped_bodies_are_empty_objects() {
        assert!(matches!(parse(Some("text/plain"), &Bytes::new()), Ok(Ok(map)) if map.is_empty()));
        let untyped = parse(None, &Bytes::from_static(b"{\"a\":\"b\"}"));
        assert!(matches!(untyped, Ok(Ok(map)) if map.is_empty()));
    }

    #[test]
    fn other_media_types_and_bad_json_are_refused() {
        assert!(parsed("text/plain", "x").is_none());
        assert!(parsed("application/json", "{").is_none());
        assert!(parsed("application/json", &"[".repeat(200)).is_none());
    }
}
