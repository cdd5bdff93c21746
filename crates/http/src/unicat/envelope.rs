//! The Unicat envelopes and the status/code/message table of the spec
//! (section 2). Every Unicat answer is built here.

use crate::cause::Cause;
use accountd_app::unicat::Invalid;
use accountd_app::Failure;
use actix_web::http::header::{HeaderValue, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
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

/// The error envelope.
pub(crate) fn error(
    status: StatusCode,
    code: u16,
    message: &str,
    info: Map<String, Value>,
) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "success": false,
        "result": {"code": code, "message": message, "info": info},
        "data": {},
    }))
}

fn with_retry_after(mut r: HttpResponse, seconds: i64) -> HttpResponse {
    if let Ok(v) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        r.headers_mut().insert(RETRY_AFTER, v);
    }
    r
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

/// 422 code 422: the entity does not exist, or the operation failed.
pub(crate) fn unprocessable() -> HttpResponse {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        422,
        "Unprocessable Entity",
        Map::new(),
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
    let retry_after = retry_after.max(1);
    with_retry_after(
        error(
            StatusCode::TOO_MANY_REQUESTS,
            429,
            "Too many requests",
            info(&[("retry_after", json!(retry_after))]),
        ),
        retry_after,
    )
}

/// The one mapping of a [`Failure`]: 503 with `Retry-After` and
/// `info.retry_after` when trying again may help (a full hash queue says
/// when; an unavailable database is logged and retried after
/// [`UNAVAILABLE_RETRY_SECONDS`]); otherwise 500 with an opaque message,
/// the cause chain logged once.
pub(crate) fn failure(f: &Failure) -> HttpResponse {
    match f {
        Failure::Overloaded {
            retry_after_seconds,
        } => service_unavailable(*retry_after_seconds),
        Failure::Unavailable(e) => {
            tracing::warn!(error = %Cause(e.as_ref()), "service unavailable");
            service_unavailable(UNAVAILABLE_RETRY_SECONDS)
        }
        Failure::Unexpected(e) => {
            tracing::error!(error = %Cause(e.as_ref()), "unexpected error");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                500,
                "Internal server error",
                Map::new(),
            )
        }
    }
}

/// `Retry-After` of a 503 for an unavailable database.
pub(crate) const UNAVAILABLE_RETRY_SECONDS: i64 = 5;

fn service_unavailable(retry_after: i64) -> HttpResponse {
    let retry_after = retry_after.max(1);
    with_retry_after(
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            503,
            "Service unavailable",
            info(&[("retry_after", json!(retry_after))]),
        ),
        retry_after,
    )
}
