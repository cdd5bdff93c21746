//! The forgotPassword route family (`/api/auth/forgotPassword/*`), with its
//! envelopes: `{"msg"}`, `{"msg","error_code"}`, `{"msg","success_code"}`,
//! and the flat 422 validation map. Every use-case error is mapped in one
//! exhaustive `match` per use case, below.

mod check_code;
mod reset_password;
mod send_email;
mod validation;

use crate::body::{read_object, BodyError};
use crate::cause::Cause;
use crate::HttpState;
use accountd_app::{CheckCodeError, Failure, ResetPasswordError, SendEmailError};
use accountd_domain::PasswordRejection;
use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::{Map, Value};
use validation::{validate, Field, Valid};

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/auth/forgotPassword")
            .route("/sendEmail", web::post().to(send_email::handle))
            .route("/checkCode", web::post().to(check_code::handle))
            .route("/resetPassword", web::post().to(reset_password::handle)),
    );
}

/// A forgotPassword answer body; absent codes are left out.
#[derive(Debug, Serialize)]
struct Body {
    msg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    success_code: Option<&'static str>,
}

fn respond(
    status: StatusCode,
    msg: &'static str,
    error_code: Option<&'static str>,
) -> HttpResponse {
    HttpResponse::build(status).json(Body {
        msg,
        error_code,
        success_code: None,
    })
}

fn success(msg: &'static str, success_code: Option<&'static str>) -> HttpResponse {
    HttpResponse::Ok().json(Body {
        msg,
        error_code: None,
        success_code,
    })
}

fn with_retry_after(mut r: HttpResponse, seconds: i64) -> HttpResponse {
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&seconds.max(1).to_string()) {
        r.headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, v);
    }
    r
}

fn unknown_username() -> HttpResponse {
    respond(
        StatusCode::NOT_FOUND,
        "Unknown username",
        Some("unknown_username"),
    )
}
fn no_code() -> HttpResponse {
    respond(
        StatusCode::BAD_REQUEST,
        "There was no code for a password reset requested",
        None,
    )
}
fn rate_limit_exceeded() -> HttpResponse {
    respond(
        StatusCode::BAD_REQUEST,
        "Rate limit exceeded",
        Some("rate_limit_exceeded"),
    )
}
fn code_incorrect() -> HttpResponse {
    respond(
        StatusCode::BAD_REQUEST,
        "The code is incorrect",
        Some("code_incorrect"),
    )
}
fn too_many_requests(retry_after: i64) -> HttpResponse {
    with_retry_after(
        respond(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            Some("too_many_requests"),
        ),
        retry_after,
    )
}

/// `Retry-After` of a 503 for an unavailable database.
const UNAVAILABLE_RETRY_SECONDS: i64 = 5;

/// The one mapping of a [`Failure`]: 503 `service_unavailable` with
/// `Retry-After` when trying again may help (a full hash queue says when;
/// an unavailable database is logged and retried after
/// [`UNAVAILABLE_RETRY_SECONDS`]); otherwise 500 `internal_error`, the cause
/// chain logged once.
fn failure(f: &Failure) -> HttpResponse {
    let service_unavailable = |retry_after| {
        with_retry_after(
            respond(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service unavailable",
                Some("service_unavailable"),
            ),
            retry_after,
        )
    };
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
            respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error",
                Some("internal_error"),
            )
        }
    }
}

/// Reads and validates the body: 413 over the cap; a malformed body is an
/// empty one (every field missing); 422 with the failures map.
async fn parse(
    req: &HttpRequest,
    payload: web::Payload,
    state: &HttpState,
    fields: &[Field],
) -> Result<Valid, HttpResponse> {
    let body = match read_object(req, payload, state.settings.max_body_bytes).await {
        Ok(map) => map,
        Err(BodyError::Malformed) => Map::new(),
        Err(BodyError::TooLarge) => {
            return Err(respond(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload too large",
                Some("payload_too_large"),
            ))
        }
    };
    validate(&body, fields).map_err(|failures| {
        HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY).json(Value::Object(failures))
    })
}

/// The 422 for a new password that the policy refuses.
fn password_rejected(r: &PasswordRejection) -> HttpResponse {
    let attr = Field::NewPassword.attribute();
    let message = match r {
        PasswordRejection::TooShort { min } => {
            format!("The {attr} must be at least {min} characters.")
        }
        PasswordRejection::TooLong { max } => {
            format!("The {attr} may not be greater than {max} bytes.")
        }
        PasswordRejection::ContainsUsername => format!("The {attr} must not contain the username."),
        PasswordRejection::ContainsEmail => {
            format!("The {attr} must not contain the email address.")
        }
        PasswordRejection::Weak { suggestions } => {
            let mut m = format!("The {attr} is too easy to guess.");
            for s in suggestions {
                m.push(' ');
                m.push_str(s);
            }
            m
        }
    };
    let mut map = Map::new();
    map.insert(
        Field::NewPassword.key().to_owned(),
        Value::Array(vec![Value::String(message)]),
    );
    HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY).json(Value::Object(map))
}

fn map_send_email(r: Result<(), SendEmailError>) -> HttpResponse {
    match r {
        Ok(()) => success("Sent", None),
        Err(SendEmailError::UnknownUsername) => unknown_username(),
        Err(SendEmailError::NoEmailAddresses) => respond(
            StatusCode::BAD_REQUEST,
            "There are no email addresses for this account",
            Some("no_email_addresses"),
        ),
        Err(SendEmailError::TooManyRequests(r)) => too_many_requests(r.retry_after_seconds),
        Err(SendEmailError::Failure(f)) => failure(&f),
    }
}

fn map_check_code(r: Result<(), CheckCodeError>) -> HttpResponse {
    match r {
        Ok(()) => success("Code correct", Some("code_correct")),
        Err(CheckCodeError::UnknownUsername) => unknown_username(),
        Err(CheckCodeError::NoCode) => no_code(),
        Err(CheckCodeError::RateLimitExceeded) => rate_limit_exceeded(),
        Err(CheckCodeError::CodeIncorrect) => code_incorrect(),
        Err(CheckCodeError::Failure(f)) => failure(&f),
    }
}

fn map_reset_password(r: Result<(), ResetPasswordError>) -> HttpResponse {
    match r {
        Ok(()) => success("Changed password successful", None),
        Err(ResetPasswordError::UnknownUsername) => unknown_username(),
        Err(ResetPasswordError::PasswordRejected(r)) => password_rejected(&r),
        Err(ResetPasswordError::NoCode) => no_code(),
        Err(ResetPasswordError::RateLimitExceeded) => rate_limit_exceeded(),
        Err(ResetPasswordError::CodeIncorrect) => code_incorrect(),
        Err(ResetPasswordError::Failure(f)) => failure(&f),
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
