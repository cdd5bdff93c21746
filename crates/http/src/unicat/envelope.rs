//! The Unicat envelopes and the status/code/message table of the spec
//! (section 2). Every Unicat answer is built here.

use crate::failure::{triage, FailureAnswer};
use crate::openapi::{Empty, False};
use crate::retry::with_retry_after;
use accountd_app::unicat::Invalid;
use accountd_app::Failure;
use actix_web::http::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use actix_web::{http::StatusCode, HttpResponse};
use serde_json::{json, Map, Value};

/// `WWW-Authenticate` of every 401 (the SDK drops its token on it).
pub(crate) const REALM: &str = "Bearer realm=\"JWT access to Unicat.\"";

#[derive(serde::Serialize)]
struct Success<R, D> {
    success: bool,
    result: R,
    data: D,
}

/// 200 `{"success": true, "result": …, "data": …}`, with a fresh token in
/// `Authorization` (raw, no `Bearer `) when given.
pub(crate) fn success<R: serde::Serialize, D: serde::Serialize>(
    result: R,
    data: D,
    token: Option<&str>,
) -> HttpResponse {
    let mut r = HttpResponse::Ok().json(Success {
        success: true,
        result,
        data,
    });
    if let Some(v) = token.and_then(|t| HeaderValue::from_str(t).ok()) {
        r.headers_mut().insert(AUTHORIZATION, v);
    }
    r
}

/// The error envelope: `{"success": false, "result": {"code", "message",
/// "info"}, "data": {}}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UnicatRefusal)]
pub(crate) struct Refusal<'a> {
    success: False,
    result: RefusalResult<'a>,
    data: Empty,
}

/// The `result` of the error envelope.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UnicatRefusalResult)]
pub(crate) struct RefusalResult<'a> {
    /// The spec's code: the HTTP status, or 1001 (validation) or 1004
    /// (invite invalid) with 422.
    code: u16,
    message: &'a str,
    #[schema(value_type = super::openapi::RefusalInfo)]
    info: Map<String, Value>,
}

/// The error envelope.
pub(crate) fn error(
    status: StatusCode,
    code: u16,
    message: &str,
    info: Map<String, Value>,
) -> HttpResponse {
    HttpResponse::build(status).json(Refusal {
        success: False,
        result: RefusalResult {
            code,
            message,
            info,
        },
        data: Empty,
    })
}

fn info(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// 400: the first offending parameter.
pub(crate) fn bad_request(parameter: &str, reason: &str) -> HttpResponse {
    error(
        StatusCode::BAD_REQUEST,
        400,
        "Bad request",
        info(&[("parameter", json!(parameter)), ("reason", json!(reason))]),
    )
}

/// 401 with `WWW-Authenticate`.
pub(crate) fn permission_denied() -> HttpResponse {
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        401,
        "Permission denied",
        Map::new(),
    );
    r.headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(REALM));
    r
}

/// 403 for a failed login (wrong username or password alike).
pub(crate) fn unknown_user() -> HttpResponse {
    error(StatusCode::FORBIDDEN, 403, "Unknown user", Map::new())
}

/// 404 for unknown routes.
/// 403 `Forbidden`: `info` is `{"reason": …}` when the route names one,
/// else `{}`.
pub(crate) fn forbidden(reason: Option<&str>) -> HttpResponse {
    let i = reason.map_or_else(Map::new, |r| info(&[("reason", json!(r))]));
    error(StatusCode::FORBIDDEN, 403, "Forbidden", i)
}

/// 422 code 422 with `info = {"reason": …, <extra>…}`.
pub(crate) fn unprocessable_because(reason: &str, extra: &Map<String, Value>) -> HttpResponse {
    let mut i = info(&[("reason", json!(reason))]);
    i.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        422,
        "Unprocessable Entity",
        i,
    )
}

pub(crate) fn not_found() -> HttpResponse {
    error(StatusCode::NOT_FOUND, 404, "Not found", Map::new())
}

/// 413 over the body cap.
pub(crate) fn payload_too_large() -> HttpResponse {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        413,
        "Payload too large",
        Map::new(),
    )
}

/// 408 when the body did not arrive in time; the connection is closed
/// (the rest of the body may still be on its way).
pub(crate) fn request_timeout() -> HttpResponse {
    let mut r = error(
        StatusCode::REQUEST_TIMEOUT,
        408,
        "Request timeout",
        Map::new(),
    );
    r.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    r
}

/// 431 when the request's head is over the limits of `crate::head`.
pub(crate) fn header_fields_too_large() -> HttpResponse {
    let mut r = error(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        431,
        "Request header fields too large",
        Map::new(),
    );
    r.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    r
}

/// 422 code 422: the entity does not exist, or the operation failed.
pub(crate) fn unprocessable() -> HttpResponse {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        422,
        "Unprocessable Entity",
        Map::new(),
    )
}

/// 422 code 1004 `Invite invalid` with `info = {"reason": …}`
/// (`invite_declined`, `invite_expired`).
pub(crate) fn invite_invalid(reason: &str) -> HttpResponse {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        1004,
        "Invite invalid",
        info(&[("reason", json!(reason))]),
    )
}

/// 422 code 1001 with `field`, `reason`, `detail` and the reason's extras.
pub(crate) fn validation(invalid: &Invalid) -> HttpResponse {
    let mut i = info(&[
        ("field", json!(invalid.field)),
        ("reason", json!(invalid.reason.as_str())),
        ("detail", json!(invalid.detail)),
    ]);
    if let Some(s) = &invalid.suggestions {
        i.insert("suggestions".to_owned(), json!(s));
    }
    if let Some(n) = invalid.attempts_left {
        i.insert("attempts_left".to_owned(), json!(n));
    }
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        1001,
        "Validation error",
        i,
    )
}

/// 429 with `Retry-After` and `info.retry_after`.
pub(crate) fn too_many_requests(retry_after: i64) -> HttpResponse {
    retry_later(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests",
        retry_after,
    )
}

/// The one mapping of a [`Failure`] (see `crate::failure`): 503 (or 429
/// for a contended key) with `Retry-After` and `info.retry_after`, or the
/// opaque 500.
pub(crate) fn failure(f: &Failure) -> HttpResponse {
    match triage(f) {
        FailureAnswer::ServiceUnavailable {
            retry_after_seconds,
        } => retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable",
            retry_after_seconds,
        ),
        FailureAnswer::TooManyRequests {
            retry_after_seconds,
        } => too_many_requests(retry_after_seconds),
        FailureAnswer::Internal => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            500,
            "Internal server error",
            Map::new(),
        ),
    }
}

/// A 429 or 503: `Retry-After` and `info.retry_after` (at least 1).
fn retry_later(status: StatusCode, message: &str, retry_after: i64) -> HttpResponse {
    let retry_after = retry_after.max(1);
    with_retry_after(
        error(
            status,
            status.as_u16(),
            message,
            info(&[("retry_after", json!(retry_after))]),
        ),
        retry_after,
    )
}
