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

pub(crate) async fn handle(
    state: web::Data<HttpState>,
    Validated(input): Validated<CheckCodeInput>,
) -> Result<HttpResponse, ForgotPasswordError> {
    state.forgot_password.check_code(input).await?;
    Ok(success("Code correct", Some("code_correct")))
}
