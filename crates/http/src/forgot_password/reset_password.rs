//! `POST /api/auth/forgotPassword/resetPassword` — body: `username`, `code`,
//! `new_password`.

use super::{success, Field, ForgotPasswordError, FromValid, Valid, Validated};
use crate::HttpState;
use accountd_app::ResetPasswordInput;
use actix_web::{web, HttpResponse};

impl FromValid for ResetPasswordInput {
    const FIELDS: &'static [Field] = &[Field::Code, Field::Username, Field::NewPassword];

    fn from_valid(v: Valid) -> Self {
        Self {
            username: v.username,
            code: v.code.into(),
            new_password: v.new_password.into(),
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/auth/forgotPassword/resetPassword",
    tag = "forgot-password",
    description = "`POST /api/auth/forgotPassword/resetPassword` — body: `username`, `code`, `new_password`.",
    request_body = super::openapi::ResetPasswordBody,
    responses(
        (status = 200, description = "The password is changed.", body = super::Body,
            example = json!({"msg": "Changed password successful"})),
        (status = 400, response = super::openapi::Refused),
        (status = 404, response = super::openapi::UnknownUsername),
        (status = 408, response = super::openapi::RequestTimeout),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 431, response = super::openapi::HeaderFieldsTooLarge),
        (status = 422, response = super::openapi::Unprocessable),
        (status = 500, response = super::openapi::Internal),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub(crate) async fn handle(
    state: web::Data<HttpState>,
    Validated(input): Validated<ResetPasswordInput>,
) -> Result<HttpResponse, ForgotPasswordError> {
    state.forgot_password.reset_password(input).await?;
    Ok(success("Changed password successful", None))
}
