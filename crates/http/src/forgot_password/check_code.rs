//! `POST /api/auth/forgotPassword/checkCode` — body: `username`, `code`.

use super::{success, Field, ForgotPasswordError, FromValid, Valid, Validated};
use crate::HttpState;
use accountd_app::CheckCodeInput;
use actix_web::{web, HttpResponse};

impl FromValid for CheckCodeInput {
    const FIELDS: &'static [Field] = &[Field::Code, Field::Username];

    fn from_valid(v: Valid) -> Self {
        Self {
            username: v.username,
            code: v.code.into(),
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/auth/forgotPassword/checkCode",
    tag = "forgot-password",
    description = "`POST /api/auth/forgotPassword/checkCode` — body: `username`, `code`.",
    request_body = super::openapi::CheckCodeBody,
    responses(
        (status = 200, description = "The code is correct.", body = super::Body,
            example = json!({"msg": "Code correct", "success_code": "code_correct"})),
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
    Validated(input): Validated<CheckCodeInput>,
) -> Result<HttpResponse, ForgotPasswordError> {
    state.forgot_password.check_code(input).await?;
    Ok(success("Code correct", Some("code_correct")))
}
