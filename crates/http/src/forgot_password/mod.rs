//! The forgotPassword route family (`/api/auth/forgotPassword/*`), with its
//! bodies: `{"msg"}`, `{"msg","error_code"}`, `{"msg","success_code"}`, and
//! the flat 422 validation map. A handler extracts its validated body
//! ([`Validated`], `validation.rs`), calls the service and answers; every
//! refusal is one [`ForgotPasswordError`] (`error.rs`, with the one
//! exhaustive mapping per use case), which builds its body.

mod check_code;
mod error;
pub(crate) mod fuzzing;
pub(crate) mod openapi;
mod reset_password;
mod send_email;
mod validation;

use actix_web::{http::StatusCode, web, HttpResponse};
use serde::Serialize;

pub(crate) use error::ForgotPasswordError;
pub(crate) use validation::{Field, FromValid, Valid, Validated};

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/auth/forgotPassword")
            .route("/sendEmail", web::post().to(send_email::handle))
            .route("/checkCode", web::post().to(check_code::handle))
            .route("/resetPassword", web::post().to(reset_password::handle)),
    );
}

/// A forgotPassword answer body; absent codes are left out.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ForgotPasswordBody)]
struct Body {
    msg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(value_type = String)]
    error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(value_type = String)]
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

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
