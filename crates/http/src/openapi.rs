//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every route, built
//! by utoipa from the `#[utoipa::path]` attribute on each real handler and
//! the `ToSchema` types of the bodies (each family's `openapi.rs` lists its
//! operations and holds the schemas of the bodies its handlers build with
//! `json!`). The tests below validate it against the official OpenAPI 3.1
//! JSON Schema and compare its operations with actix's own route table.
//!
//! Here also: the few schema types both families share ([`True`],
//! [`False`], [`Null`], [`Empty`]), which the envelopes serialize.

use actix_web::http::header;
use actix_web::{web, HttpResponse, ResponseError};
use serde::ser::{SerializeMap, Serializer};
use std::sync::OnceLock;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::{RefOr, Server};
use utoipa::{OpenApi, PartialSchema, ToSchema};

/// Where the document is served.
pub(crate) const PATH: &str = "/api/openapi.json";

/// Reusable refusal responses of a family: `refusals!("Prefix", { /// doc
/// Name => response; ... })` declares a unit type per refusal whose
/// `ToResponse` names it `PrefixName` in the document's components.
macro_rules! refusals {
    ($prefix:literal, { $($(#[$doc:meta])* $name:ident => $make:expr;)+ }) => {$(
        $(#[$doc])*
        pub(crate) struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, utoipa::openapi::RefOr<utoipa::openapi::Response>) {
                (concat!($prefix, stringify!($name)), utoipa::openapi::RefOr::T($make))
            }
        }
    )+};
}
pub(crate) use refusals;

/// `r` with the `Retry-After` header of a 429 or 503 (whole seconds, at
/// least 1), described as `description`.
pub(crate) fn retry_after(
    r: utoipa::openapi::response::ResponseBuilder,
    description: &str,
) -> utoipa::openapi::Response {
    r.header(
        "Retry-After",
        utoipa::openapi::header::HeaderBuilder::new()
            .schema(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1)),
            )
            .description(Some(description))
            .build(),
    )
    .build()
}

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(serve));
}

/// The whole document: both families, the pages, `/health/*`, `/metrics`
/// and this route.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Operational::openapi();
    doc.merge(crate::unicat::openapi::Api::openapi());
    doc.merge(crate::forgot_password::openapi::Api::openapi());
    doc.merge(crate::pages::openapi::Api::openapi());
    name_operations(&mut doc);
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.servers = Some(vec![Server::new("/")]);
    doc
}

/// Gives every operation a unique `operationId`: the route's metric name
/// (`crate::metrics::route_label`, e.g. `unicat.p.members.get`), with the
/// method after it where a path has several (`unicat.ping.get`). (utoipa
/// would name them after the handler functions, most of which are
/// `handle`.) Every operation may also answer 431 (see below).
fn name_operations(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let label = crate::metrics::route_label(Some(path));
        let mut ops: Vec<(&str, &mut utoipa::openapi::path::Operation)> = [
            ("get", item.get.as_mut()),
            ("put", item.put.as_mut()),
            ("post", item.post.as_mut()),
            ("delete", item.delete.as_mut()),
            ("options", item.options.as_mut()),
            ("head", item.head.as_mut()),
            ("patch", item.patch.as_mut()),
            ("trace", item.trace.as_mut()),
        ]
        .into_iter()
        .filter_map(|(method, op)| op.map(|op| (method, op)))
        .collect();
        let several = ops.len() > 1;
        // `head_limits` wraps every route: any of them may answer 431, in
        // the envelope of the family its path belongs to.
        let too_large = if path.starts_with("/api/auth/forgotPassword/") {
            "ForgotPasswordHeaderFieldsTooLarge"
        } else {
            "UnicatHeaderFieldsTooLarge"
        };
        for (method, op) in &mut ops {
            op.operation_id = Some(if several {
                format!("{label}.{method}")
            } else {
                label.clone()
            });
            op.responses
                .responses
                .entry("431".to_owned())
                .or_insert_with(|| {
                    utoipa::openapi::RefOr::Ref(utoipa::openapi::Ref::from_response_name(too_large))
                });
        }
    }
}

/// The document as served, serialized once.
fn serialized() -> &'static Result<String, String> {
    static DOC: OnceLock<Result<String, String>> = OnceLock::new();
    DOC.get_or_init(|| document().to_json().map_err(|e| e.to_string()))
}

/// The OpenAPI document (public: it describes the API, nothing about
/// its data).
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this server.",
            content_type = "application/json", body = Object),
        (status = 500, response = crate::unicat::openapi::Internal),
    )
)]
pub(crate) async fn serve() -> HttpResponse {
    match serialized() {
        Ok(json) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .body(json.clone()),
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document does not serialize");
            crate::unicat::UnicatError::Failure(accountd_app::Failure::Unexpected(
                std::io::Error::other("the OpenAPI document does not serialize").into(),
            ))
            .error_response()
        }
    }
}

/// The operational routes: `/health/*`, `/.well-known/jwks.json`, `/metrics` (registered by the
/// binary, on the admin listener when `ACCOUNTD_ADMIN_BIND` is set) and
/// this document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "accountd",
        description = "The account service: the Unicat API (`/api/...`, the `{success, result, data}` \
envelope), the forgotPassword API (`/api/auth/forgotPassword/*`), the server-rendered pages \
(email-change revert, invitation decline) and the operational routes.\n\n\
Request bodies are JSON objects or `application/x-www-form-urlencoded` forms (whose values \
are strings); an empty body is `{}`. A body over `ACCOUNTD_MAX_BODY_BYTES` is refused with \
413; no route answers 415 (a body that is neither is a 400 in the Unicat family, and \
counts as empty in the forgotPassword family). Unknown paths, and known paths with another \
method, answer 404 in the Unicat error envelope. Every answer carries `X-Request-Id`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(serve, crate::health::live, crate::health::ready, metrics, crate::jwks::jwks),
    tags(
        (name = "unicat", description = "The Unicat API."),
        (name = "forgot-password", description = "The forgotPassword API."),
        (name = "pages", description = "Server-rendered HTML pages."),
        (name = "operations", description = "Health, metrics, the token keys and this document."),
    ),
    components(schemas(crate::health::HealthStatus, crate::jwks::KeySet, crate::jwks::OkpKey)),
)]
struct Operational;

/// Prometheus metrics in the text exposition format. Registered by the
/// binary (`crates/accountd/src/metrics.rs`); served here only when
/// `ACCOUNTD_ADMIN_BIND` is not set (else on the admin listener, and this
/// path answers 404).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "The metrics.", content_type = "text/plain", body = String),
        (status = 404, response = crate::unicat::openapi::NotFound),
    )
)]
#[allow(dead_code)]
fn metrics() {}

/// The JSON `true`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct True;

/// The JSON `false`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct False;

/// The JSON `null`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Null;

/// The empty object `{}`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Empty;

impl serde::Serialize for True {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(true)
    }
}

impl serde::Serialize for False {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(false)
    }
}

impl serde::Serialize for Null {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl serde::Serialize for Empty {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_map(Some(0))?.end()
    }
}

impl PartialSchema for True {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Boolean)
            .enum_values(Some([true]))
            .into()
    }
}

impl PartialSchema for False {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Boolean)
            .enum_values(Some([false]))
            .into()
    }
}

impl PartialSchema for Null {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Null).into()
    }
}

impl PartialSchema for Empty {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl ToSchema for True {}
impl ToSchema for False {}
impl ToSchema for Null {}
impl ToSchema for Empty {}

#[cfg(test)]
pub(crate) mod tests;
