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

pub(crate) async fn handle(
    state: web::Data<HttpState>,
    Validated(input): Validated<ResetPasswordInput>,
) -> Result<HttpResponse, ForgotPasswordError> {
    state.forgot_password.reset_password(input).await?;
    Ok(success("Changed password successful", None))
}
