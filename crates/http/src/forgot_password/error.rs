//! Every refusal of the forgotPassword family as one error type, which a
//! handler or the body extractor returns and whose
//! [`ResponseError::error_response`] builds its body; and, below, the one
//! exhaustive mapping of each use-case error onto it.

use super::respond;
use super::validation::{Failures, Field};
use crate::failure::{triage, FailureAnswer};
use crate::retry::with_retry_after;
use accountd_app::{CheckCodeError, Failure, RateLimited, ResetPasswordError, SendEmailError};
use accountd_domain::PasswordRejection;
use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde_json::{Map, Value};

/// Why a forgotPassword call is refused, as the route spec words it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ForgotPasswordError {
    /// 413.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 408: the body did not arrive in time (the connection is closed).
    #[error("request timeout")]
    RequestTimeout,
    /// 431: the request's head is over the limits of `crate::head`.
    #[error("request header fields too large")]
    HeaderFieldsTooLarge,
    /// 422 with every failing field.
    #[error("validation failed: {0:?}")]
    Invalid(Failures),
    /// 422 for a new password the policy refuses.
    #[error("password rejected: {0}")]
    PasswordRejected(PasswordRejection),
    /// 404 `unknown_username`.
    #[error("unknown username")]
    UnknownUsername,
    /// 400 `no_email_addresses`.
    #[error("no email addresses")]
    NoEmailAddresses,
    /// 400 without an `error_code`.
    #[error("no code")]
    NoCode,
    /// 400 `rate_limit_exceeded`.
    #[error("rate limit exceeded")]
    RateLimitExceeded,
    /// 400 `code_incorrect`.
    #[error("code incorrect")]
    CodeIncorrect,
    /// 429 with `Retry-After`.
    #[error(transparent)]
    TooManyRequests(#[from] RateLimited),
    /// 503 or 500.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl ResponseError for ForgotPasswordError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::HeaderFieldsTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Invalid(_) | Self::PasswordRejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnknownUsername => StatusCode::NOT_FOUND,
            Self::NoEmailAddresses
            | Self::NoCode
            | Self::RateLimitExceeded
            | Self::CodeIncorrect => StatusCode::BAD_REQUEST,
            Self::TooManyRequests(_) | Self::Failure(Failure::Contended { .. }) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Failure(Failure::Overloaded { .. } | Failure::Unavailable(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Failure(Failure::Unexpected(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body (actix calls this once per refused request, so a failure's
    /// cause chain is logged once).
    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let body = |msg, error_code| respond(status, msg, error_code);
        match self {
            Self::PayloadTooLarge => body("Payload too large", Some("payload_too_large")),
            Self::RequestTimeout => closing(body("Request timeout", Some("request_timeout"))),
            Self::HeaderFieldsTooLarge => closing(body(
                "Request header fields too large",
                Some("headers_too_large"),
            )),
            Self::Invalid(failures) => HttpResponse::build(status).json(failures),
            Self::PasswordRejected(r) => HttpResponse::build(status).json(password_rejected(r)),
            Self::UnknownUsername => body("Unknown username", Some("unknown_username")),
            Self::NoEmailAddresses => body(
                "There are no email addresses for this account",
                Some("no_email_addresses"),
            ),
            Self::NoCode => body("There was no code for a password reset requested", None),
            Self::RateLimitExceeded => body("Rate limit exceeded", Some("rate_limit_exceeded")),
            Self::CodeIncorrect => body("The code is incorrect", Some("code_incorrect")),
            Self::TooManyRequests(r) => with_retry_after(
                body("Too many requests", Some("too_many_requests")),
                r.retry_after_seconds,
            ),
            Self::Failure(f) => failure(f),
        }
    }
}

/// `r`, closing the connection after it (what follows on it is not a
/// request to read).
fn closing(mut r: HttpResponse) -> HttpResponse {
    r.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    r
}

/// The one mapping of a [`Failure`] (see `crate::failure`): 503
/// `service_unavailable` (429 `too_many_requests` for a contended key)
/// with `Retry-After`, or 500 `internal_error`.
fn failure(f: &Failure) -> HttpResponse {
    match triage(f) {
        FailureAnswer::ServiceUnavailable {
            retry_after_seconds,
        } => with_retry_after(
            respond(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service unavailable",
                Some("service_unavailable"),
            ),
            retry_after_seconds,
        ),
        FailureAnswer::TooManyRequests {
            retry_after_seconds,
        } => with_retry_after(
            respond(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                Some("too_many_requests"),
            ),
            retry_after_seconds,
        ),
        FailureAnswer::Internal => respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            Some("internal_error"),
        ),
    }
}

/// The 422 map for a new password that the policy refuses.
fn password_rejected(r: &PasswordRejection) -> Map<String, Value> {
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
    map
}

impl From<SendEmailError> for ForgotPasswordError {
    fn from(e: SendEmailError) -> Self {
        match e {
            SendEmailError::UnknownUsername => Self::UnknownUsername,
            SendEmailError::NoEmailAddresses => Self::NoEmailAddresses,
            SendEmailError::TooManyRequests(r) => r.into(),
            SendEmailError::Failure(f) => f.into(),
        }
    }
}

impl From<CheckCodeError> for ForgotPasswordError {
    fn from(e: CheckCodeError) -> Self {
        match e {
            CheckCodeError::UnknownUsername => Self::UnknownUsername,
            CheckCodeError::NoCode => Self::NoCode,
            CheckCodeError::RateLimitExceeded => Self::RateLimitExceeded,
            CheckCodeError::CodeIncorrect => Self::CodeIncorrect,
            CheckCodeError::Failure(f) => f.into(),
        }
    }
}

impl From<ResetPasswordError> for ForgotPasswordError {
    fn from(e: ResetPasswordError) -> Self {
        match e {
            ResetPasswordError::UnknownUsername => Self::UnknownUsername,
            ResetPasswordError::PasswordRejected(r) => Self::PasswordRejected(r),
            ResetPasswordError::NoCode => Self::NoCode,
            ResetPasswordError::RateLimitExceeded => Self::RateLimitExceeded,
            ResetPasswordError::CodeIncorrect => Self::CodeIncorrect,
            ResetPasswordError::Failure(f) => f.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_code_is_the_status_of_the_body() {
        let errors = [
            ForgotPasswordError::PayloadTooLarge,
            ForgotPasswordError::Invalid(Failures::new()),
            ForgotPasswordError::PasswordRejected(PasswordRejection::ContainsUsername),
            ForgotPasswordError::UnknownUsername,
            ForgotPasswordError::NoEmailAddresses,
            ForgotPasswordError::NoCode,
            ForgotPasswordError::RateLimitExceeded,
            ForgotPasswordError::CodeIncorrect,
            ForgotPasswordError::TooManyRequests(RateLimited {
                retry_after_seconds: 3,
            }),
            Failure::Overloaded {
                retry_after_seconds: 3,
            }
            .into(),
            Failure::Contended {
                retry_after_seconds: 1,
            }
            .into(),
            Failure::Unavailable(std::io::Error::other("down").into()).into(),
            Failure::Unexpected(std::io::Error::other("bug").into()).into(),
        ];
        for e in errors {
            assert_eq!(e.error_response().status(), e.status_code(), "{e:?}");
        }
    }

    #[actix_web::test]
    async fn a_write_contended_past_its_bound_answers_429_with_retry_after() {
        let e: ForgotPasswordError = Failure::Contended {
            retry_after_seconds: 1,
        }
        .into();
        let r = e.error_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            r.headers()
                .get(actix_web::http::header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        let body = actix_web::body::to_bytes(r.into_body())
            .await
            .unwrap_or_default();
        assert_eq!(
            std::str::from_utf8(&body).unwrap_or_default(),
            r#"{"msg":"Too many requests","error_code":"too_many_requests"}"#
        );
    }
}
