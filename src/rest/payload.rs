//! Request bodies as DRF parses them: JSON or form, with DRF's answers for everything else.
//!
//! The body is read within the [`BodyLimits`] the router carries: a declared
//! `Content-Length` over the size limit is 413 before a byte is read, a body that grows past
//! it is 413 when it does, and a body that does not arrive whole (it trickles or stalls past
//! the deadline, the client went away, its framing is broken) is 400. Then it is parsed by
//! its media type: `application/json` and `application/x-www-form-urlencoded` are accepted,
//! an empty body is `{}` whatever its type, a body with no type is ignored (as DRF does),
//! and any other type is 415. Nothing is answered here: every failure, parse errors
//! included, is kept as a [`Failure`] until the handler asks for the fields, and is then
//! worded in that endpoint's dialect. A parsed body that is not an object is a field error
//! about the request as a whole (`non_field_errors`).

use std::{collections::HashMap, convert::Infallible, time::Duration};

use axum::{
    body::{Body, Bytes},
    extract::FromRequest,
    http::{
        HeaderMap, Request,
        header::{CONTENT_LENGTH, CONTENT_TYPE},
    },
    response::Response,
};
use serde_json::{Value, value::RawValue};
use tokio_stream::StreamExt;

use super::reply::{Dialect, Failure};
use crate::{
    auth::fields::Input,
    error::{Error, Field, FieldErrors},
};

/// How much of a request body is read, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Largest body accepted (Django parsed bodies of megabytes; nothing here needs more
    /// than a few hundred bytes).
    pub max_bytes: usize,
    /// How long the whole body may take to arrive, from when the handler starts reading it
    /// (right after the headers).
    pub timeout: Duration,
}

/// One field as the client sent it.
#[derive(Debug, Clone)]
enum Sent {
    Text(String),
    Null,
    NotAString,
}

/// A request body: an object's fields, or why it is not one.
pub struct Payload(Result<HashMap<String, Sent>, Failure>);

impl Payload {
    /// The fields, or the failure worded in `dialect`.
    pub fn fields_for(self, dialect: Dialect) -> Result<Fields, Response> {
        self.0.map(Fields).map_err(|failure| dialect.reply(failure))
    }
}

/// The fields of an object body.
pub struct Fields(HashMap<String, Sent>);

impl Fields {
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
    type Rejection = Infallible;

    async fn from_request(request: Request<Body>, _state: &S) -> Result<Self, Infallible> {
        let Some(limits) = request.extensions().get::<BodyLimits>().copied() else {
            let missing = Error::Internal("the REST router carries no body limits".into());
            return Ok(Payload(Err(missing.into())));
        };
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        let parsed = match read(request, limits).await {
            Ok(bytes) => match content_type.as_deref().filter(|_| !bytes.is_empty()) {
                Some(content_type) if media_type(content_type) == "multipart/form-data" => {
                    parse_multipart(content_type, bytes).await
                }
                content_type => parse(content_type, &bytes),
            },
            Err(failure) => Err(failure),
        };
        Ok(Payload(parsed))
    }
}

/// The whole body, within `limits`.
async fn read(request: Request<Body>, limits: BodyLimits) -> Result<Bytes, Failure> {
    if declared_length(request.headers()).is_some_and(|length| length > limits.max_bytes) {
        return Err(Failure::BodyTooLarge);
    }
    let mut chunks = request.into_body().into_data_stream();
    let whole = async move {
        let mut bytes = Vec::new();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|_| Failure::BodyIncomplete)?;
            if bytes.len() + chunk.len() > limits.max_bytes {
                return Err(Failure::BodyTooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(bytes))
    };
    tokio::time::timeout(limits.timeout, whole)
        .await
        .unwrap_or(Err(Failure::BodyIncomplete))
}

/// The `Content-Length` the client declared; one that is not a number is left to the
/// HTTP layer, which refuses it before a handler runs.
fn declared_length(headers: &HeaderMap) -> Option<usize> {
    let value = headers.get(CONTENT_LENGTH)?.to_str().ok()?;
    // Past usize::MAX is over any limit.
    Some(
        value
            .trim()
            .parse::<u64>()
            .ok()?
            .try_into()
            .unwrap_or(usize::MAX),
    )
}

type Parsed = Result<HashMap<String, Sent>, Failure>;

fn parse(content_type: Option<&str>, bytes: &Bytes) -> Parsed {
    let Some(content_type) = content_type.filter(|_| !bytes.is_empty()) else {
        return Ok(HashMap::new());
    };
    match media_type(content_type).as_str() {
        "application/json" => parse_json(bytes),
        "application/x-www-form-urlencoded" => Ok(parse_form(bytes)),
        _ => Err(Failure::UnsupportedMediaType(content_type.to_string())),
    }
}

/// The media type of a `Content-Type`, lower-cased, without its parameters.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A `multipart/form-data` body, as DRF's `MultiPartParser` reads it: each text part is a
/// field (a repeated name keeps its last value); a file part is not text, so a field that
/// wants text says "Not a valid string.". A body that does not parse is DRF's
/// "Multipart form parse error - …".
async fn parse_multipart(content_type: &str, bytes: Bytes) -> Parsed {
    let malformed = Failure::MalformedMultipart;
    let boundary = multer::parse_boundary(content_type).map_err(|e| malformed(e.to_string()))?;
    let body = tokio_stream::once(Ok::<_, std::convert::Infallible>(bytes));
    let mut multipart = multer::Multipart::new(body, boundary);
    let mut fields = HashMap::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| malformed(e.to_string()))?
    {
        let Some(name) = field.name().map(str::to_string) else {
            continue;
        };
        let value = if field.file_name().is_some() {
            Sent::NotAString
        } else {
            Sent::Text(field.text().await.map_err(|e| malformed(e.to_string()))?)
        };
        fields.insert(name, value);
    }
    Ok(fields)
}

fn parse_json(bytes: &Bytes) -> Parsed {
    // serde_json refuses nesting deeper than 128 levels, invalid UTF-8 and lone surrogates;
    // duplicate keys keep the last value, as Python's json does.
    let value: Value =
        serde_json::from_slice(bytes).map_err(|error| Failure::MalformedJson(error.to_string()))?;
    let object = match value {
        Value::Object(object) => object,
        other => return Err(Error::InvalidInput(not_an_object(&other)).into()),
    };
    let raw = raw_numbers(bytes, &object);
    let fields = object
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                Value::String(text) => Sent::Text(text),
                Value::Null => Sent::Null,
                // DRF's CharField takes numbers as their text: an integer as its exact
                // digits (Python's int has no size limit), a float as its shortest form.
                Value::Number(number) => Sent::Text(
                    raw.get(name.as_str())
                        .map(|text| text.get())
                        .filter(|text| is_integer_literal(text))
                        .map_or_else(|| number.to_string(), str::to_string),
                ),
                Value::Bool(_) | Value::Array(_) | Value::Object(_) => Sent::NotAString,
            };
            (name, value)
        })
        .collect();
    Ok(fields)
}

/// The text of each top-level member as sent, read again only when one is a number too
/// large for serde_json's `Number` to keep exactly (beyond 64 bits it becomes an `f64`).
fn raw_numbers<'a>(
    bytes: &'a Bytes,
    object: &serde_json::Map<String, Value>,
) -> HashMap<String, &'a RawValue> {
    let inexact = object
        .values()
        .any(|value| matches!(value, Value::Number(number) if number.is_f64()));
    if !inexact {
        return HashMap::new();
    }
    // Duplicate keys keep the last value here too, so this agrees with `object`.
    serde_json::from_slice(bytes).unwrap_or_default()
}

/// `-?[0-9]+`: a JSON number Python's json reads as an int.
fn is_integer_literal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
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
    FieldErrors::single(Field::Request, message)
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

    fn parsed(content_type: &str, body: &str) -> Parsed {
        parse(Some(content_type), &Bytes::from(body.to_string()))
    }

    #[test]
    fn json_fields_become_inputs() {
        let fields = Fields(
            parsed(
                "application/json; charset=utf-8",
                r#"{"a":"x","b":null,"c":7,"d":[1],"e":true}"#,
            )
            .unwrap(),
        );
        assert_eq!(fields.input("a"), Input::Text("x"));
        assert_eq!(fields.input("b"), Input::Null);
        assert_eq!(fields.input("c"), Input::Text("7"));
        assert_eq!(fields.input("d"), Input::NotAString);
        assert_eq!(fields.input("e"), Input::NotAString);
        assert_eq!(fields.input("missing"), Input::Missing);
    }

    #[test]
    fn forms_keep_the_last_value() {
        let fields = Fields(parsed("application/x-www-form-urlencoded", "a=1&a=two%20x").unwrap());
        assert_eq!(fields.input("a"), Input::Text("two x"));
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
            let Err(Failure::Core(Error::InvalidInput(errors))) = parsed("application/json", body)
            else {
                panic!("{body} is not an object");
            };
            assert_eq!(
                errors,
                FieldErrors::single(Field::Request, expected),
                "{body}"
            );
        }
    }

    #[test]
    fn empty_or_untyped_bodies_are_empty_objects() {
        assert!(parse(Some("text/plain"), &Bytes::new()).unwrap().is_empty());
        let untyped = parse(None, &Bytes::from_static(b"{\"a\":\"b\"}"));
        assert!(untyped.unwrap().is_empty());
    }

    #[test]
    fn other_media_types_and_bad_json_are_refused() {
        assert!(matches!(
            parsed("text/plain", "x"),
            Err(Failure::UnsupportedMediaType(sent)) if sent == "text/plain"
        ));
        assert!(matches!(
            parsed("application/json", "{"),
            Err(Failure::MalformedJson(_))
        ));
        assert!(matches!(
            parsed("application/json", &"[".repeat(200)),
            Err(Failure::MalformedJson(_))
        ));
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn any_body_in_any_type_gets_an_answer(
                content_type in prop_oneof![
                    Just("application/json".to_string()),
                    Just("application/x-www-form-urlencoded".to_string()),
                    "\\PC{0,40}",
                ],
                body in prop::collection::vec(any::<u8>(), 0..512),
            ) {
                let _ = parse(Some(&content_type), &Bytes::from(body));
            }

            #[test]
            fn json_objects_of_strings_arrive_field_for_field(
                fields in prop::collection::hash_map("\\PC{1,12}", "\\PC{0,40}", 0..6),
            ) {
                let body = serde_json::to_vec(&fields).unwrap();
                let parsed = Fields(parse(Some("application/json"), &Bytes::from(body)).unwrap());
                for (name, value) in &fields {
                    prop_assert_eq!(parsed.input(name), Input::Text(value));
                }
            }

            #[test]
            fn form_fields_arrive_field_for_field(
                fields in prop::collection::hash_map("\\PC{1,12}", "\\PC{0,40}", 0..6),
            ) {
                let body = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&fields)
                    .finish();
                let form = "application/x-www-form-urlencoded";
                let parsed = Fields(parse(Some(form), &Bytes::from(body)).unwrap());
                for (name, value) in &fields {
                    prop_assert_eq!(parsed.input(name), Input::Text(value));
                }
            }
        }
    }
}
