//! The failures every endpoint of the gateway can answer, added to the OpenAPI document.
//!
//! They come from the gateway around the handlers, not from the handlers (`rest::mod`'s
//! 405, `payload`'s 413, 415, JSON parse errors and incomplete bodies, and the 503 of a
//! database outage or a full hashing line), so they are described here once for every
//! operation rather than beside each handler. A client or a contract checker (schemathesis)
//! then finds every status authd can send, with the body it sends.

use utoipa::{
    Modify,
    openapi::{
        ContentBuilder, HeaderBuilder, ObjectBuilder, OneOfBuilder, OpenApi, Ref, RefOr,
        ResponseBuilder, Type, path::Operation,
    },
};

/// Adds 405, 503 and, to operations that read a body, 413 and 415, and lets each 400 be
/// a JSON parse error too.
pub struct GatewayFailures;

impl Modify for GatewayFailures {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let allow = [
                ("GET, HEAD", item.get.is_some()),
                ("POST", item.post.is_some()),
            ]
            .into_iter()
            .filter_map(|(methods, present)| present.then_some(methods))
            .collect::<Vec<_>>()
            .join(", ");
            if let Some(get) = item.get.as_mut() {
                add_everywhere(get, &allow);
            }
            if let Some(post) = item.post.as_mut() {
                add_everywhere(post, &allow);
                add_for_bodies(post);
            }
        }
    }
}

fn detail_body() -> RefOr<utoipa::openapi::Schema> {
    RefOr::Ref(Ref::from_schema_name("DetailBody"))
}

fn json_detail(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new().schema(Some(detail_body())).build(),
    )
}

fn integer_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
        .description(Some(description))
        .build()
}

fn text_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(description))
        .build()
}

fn add_everywhere(operation: &mut Operation, allow: &str) {
    let responses = &mut operation.responses.responses;
    let not_allowed = json_detail("`Method \"…\" not allowed.`")
        .header(
            "Allow",
            text_header(&format!("The methods this path takes: {allow}")),
        )
        .build();
    responses.insert("405".into(), RefOr::T(not_allowed));
    let unavailable = json_detail(
        "`Service temporarily unavailable, try again later.`: the database cannot be \
         reached, or the password-hashing line is full",
    )
    .header(
        "Retry-After",
        integer_header("Seconds to wait, when the line is full"),
    )
    .build();
    responses.insert("503".into(), RefOr::T(unavailable));
}

fn add_for_bodies(operation: &mut Operation) {
    let responses = &mut operation.responses.responses;
    responses.insert(
        "413".into(),
        RefOr::T(
            json_detail(
                "`Request body too large.` (over `--max-message-bytes`, 64 KiB by default), \
                 answered before the body is read when `Content-Length` says so",
            )
            .build(),
        ),
    );
    responses.insert(
        "415".into(),
        RefOr::T(
            json_detail("`Unsupported media type \"…\" in request.`: neither JSON nor a form")
                .build(),
        ),
    );
    let parse_error = "or `{\"detail\": \"JSON parse error - …\"}` for a body that is not JSON, \
                       or `{\"detail\": \"Request body incomplete.\"}` for one that did not \
                       arrive whole within `--body-timeout`";
    match responses.get_mut("400") {
        Some(RefOr::T(bad_request)) => {
            bad_request.description = format!("{}, {parse_error}", bad_request.description);
            for content in bad_request.content.values_mut() {
                if let RefOr::T(content) = content
                    && let Some(declared) = content.schema.take()
                {
                    let either = OneOfBuilder::new()
                        .item(declared)
                        .item(detail_body())
                        .build();
                    content.schema = Some(RefOr::T(either.into()));
                }
            }
        }
        Some(RefOr::Ref(_)) | None => {
            let description = "`{\"detail\": \"JSON parse error - …\"}`: a body that is not JSON; \
                               `{\"detail\": \"Request body incomplete.\"}`: one that did not \
                               arrive whole within `--body-timeout`";
            responses.insert("400".into(), RefOr::T(json_detail(description).build()));
        }
    }
}
