//! `POST /api/auth/forgotPassword/sendEmail` — body: `username`.

use super::{success, Field, ForgotPasswordError, FromValid, Valid, Validated};
use crate::{client::client_addr, HttpState};
use actix_web::{web, HttpRequest, HttpResponse};

/// The one field.
pub(crate) struct Username(String);

impl FromValid for Username {
    const FIELDS: &'static [Field] = &[Field::Username];

    fn from_valid(v: Valid) -> Self {
        Self(v.username)
    }
}

#[utoipa::path(
    post,
    path = "/api/auth/forgotPassword/sendEmail",
    tag = "forgot-password",
    description = "`POST /api/auth/forgotPassword/sendEmail` — body: `username`.",
    request_body = super::openapi::SendEmailBody,
    responses(
        (status = 200, description = "Sent: a code is on its way.", body = super::Body,
            example = json!({"msg": "Sent"})),
        (status = 400, response = super::openapi::Refused),
        (status = 404, response = super::openapi::UnknownUsername),
        (status = 408, response = super::openapi::RequestTimeout),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 431, response = super::openapi::HeaderFieldsTooLarge),
        (status = 422, response = super::openapi::Unprocessable),
        (status = 429, response = super::openapi::TooManyRequests),
        (status = 500, response = super::openapi::Internal),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub(crate) async fn handle(
    req: HttpRequest,
    state: web::Data<HttpState>,
    Validated(Username(username)): Validated<Username>,
) -> Result<HttpResponse, ForgotPasswordError> {
    let client = client_addr(&req, &state.settings.trusted_proxies);
    state.forgot_password.send_email(&username, &client).await?;
    Ok(success("Sent", None))
}
