//! The pages' part of the OpenAPI document: the four operations ([`Api`]),
//! their form bodies, and their answers (HTML, same headers everywhere).
#![allow(dead_code)]

use std::collections::BTreeMap;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, RefOr};
use utoipa::{IntoResponses, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(paths(
    super::revert_email::show,
    super::revert_email::submit,
    super::invite_decline::show,
    super::invite_decline::submit,
))]
pub(crate) struct Api;

/// The revert form.
#[derive(ToSchema)]
pub(crate) struct RevertForm {
    token: String,
}

/// The decline form (the query's values stand in for missing ones).
#[derive(ToSchema, Default)]
#[serde(default)]
pub(crate) struct DeclineForm {
    #[schema(format = Uuid)]
    invitee: String,
    #[schema(format = Uuid)]
    project: String,
    token: String,
}

fn html(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "text/html",
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            )
            .build(),
    )
}

/// Every answer of a page: an HTML page, whose heading says what happened.
pub(crate) struct Page;

impl IntoResponses for Page {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        [
            ("200", "The page."),
            (
                "400",
                "The link is incomplete (a value missing, empty or not a gid).",
            ),
            (
                "408",
                "The form did not arrive within `ACCOUNTD_BODY_TIMEOUT_SECONDS`.",
            ),
            ("413", "The form is over `ACCOUNTD_MAX_BODY_BYTES`."),
            (
                "422",
                "The link is no longer valid, or the change cannot be made.",
            ),
            ("500", "A bug; nothing is told."),
            ("503", "The storage does not answer; with `Retry-After`."),
        ]
        .into_iter()
        .map(|(status, description)| (status.to_owned(), html(description)))
        .collect()
    }
}
