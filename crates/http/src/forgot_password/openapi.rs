//! The forgotPassword family's part of the OpenAPI document: its three
//! operations ([`Api`]), the schemas of their request bodies (read and
//! validated by `validation.rs`) and of the 422 map, and its refusals as
//! reusable responses. The `{"msg", "error_code"|"success_code"}` body is
//! the real [`Body`](super::Body).
//!
//! The types below are descriptions only, never built: a test in
//! `crate::openapi` and the schemathesis run of `.ci/run` keep them true
//! to what the handlers answer.
#![allow(dead_code)]

use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, Ref};
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(
        super::send_email::handle,
        super::check_code::handle,
        super::reset_password::handle,
    ),
    components(
        schemas(super::Body, Invalid),
        responses(
            Refused,
            UnknownUsername,
            RequestTimeout,
            PayloadTooLarge,
            HeaderFieldsTooLarge,
            Unprocessable,
            TooManyRequests,
            Internal,
            Unavailable
        )
    )
)]
pub(crate) struct Api;

/// The 422 body: every failing field with its one message, in rule order
/// (`code`, `username`, `new_password`).
#[derive(ToSchema, Default)]
#[serde(deny_unknown_fields, default)]
#[schema(as = ForgotPasswordInvalid)]
pub(crate) struct Invalid {
    #[schema(min_items = 1, max_items = 1)]
    code: Vec<String>,
    #[schema(min_items = 1, max_items = 1)]
    username: Vec<String>,
    #[schema(min_items = 1, max_items = 1)]
    new_password: Vec<String>,
}

/// `code`: six digits, as text (surrounding blanks are trimmed) or a
/// number.
#[derive(ToSchema)]
#[serde(untagged)]
pub(crate) enum Code {
    Text(String),
    Number(u32),
}

/// `sendEmail`.
#[derive(ToSchema)]
pub(crate) struct SendEmailBody {
    #[schema(max_length = 190)]
    username: String,
}

/// `checkCode`.
#[derive(ToSchema)]
pub(crate) struct CheckCodeBody {
    code: Code,
    #[schema(max_length = 190)]
    username: String,
}

/// `resetPassword`.
#[derive(ToSchema)]
pub(crate) struct ResetPasswordBody {
    code: Code,
    #[schema(max_length = 190)]
    username: String,
    #[schema(format = Password, min_length = 6)]
    new_password: String,
}

fn body(description: &str, schema: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(schema)))
            .build(),
    )
}

fn retry_after(r: ResponseBuilder) -> Response {
    crate::openapi::retry_after(r, "Seconds to wait.")
}

crate::openapi::refusals!("ForgotPassword", {
    /// 400.
    Refused => body(
        "Refused: `no_email_addresses`, `code_incorrect`, `rate_limit_exceeded` (too many \
         wrong codes), or no `error_code` when no reset was requested.",
        "ForgotPasswordBody",
    ).build();
    /// 404.
    UnknownUsername => body("`unknown_username`.", "ForgotPasswordBody").build();
    /// 413.
    PayloadTooLarge => body("`payload_too_large`.", "ForgotPasswordBody").build();
    /// 408.
    RequestTimeout => body(
        "`request_timeout`: the body did not arrive within `ACCOUNTD_BODY_TIMEOUT_SECONDS`; \
         the connection is closed.",
        "ForgotPasswordBody",
    ).build();
    /// 431.
    HeaderFieldsTooLarge => body(
        "`headers_too_large`: the target and headers are over 32 KiB, or \
         there are more than 64 headers; the connection is closed.",
        "ForgotPasswordBody",
    ).build();
    /// 422.
    Unprocessable => body(
        "Every failing field with its message; or `new_password` refused by the password \
         policy.",
        "ForgotPasswordInvalid",
    ).build();
    /// 429.
    TooManyRequests => retry_after(body("`too_many_requests`.", "ForgotPasswordBody"));
    /// 500.
    Internal => body("`internal_error`: a bug; nothing is told.", "ForgotPasswordBody").build();
    /// 503.
    Unavailable => retry_after(body(
        "`service_unavailable`: the storage does not answer or the hashing queue is full.",
        "ForgotPasswordBody",
    ));
});
