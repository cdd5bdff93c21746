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

pub(crate) async fn handle(
    req: HttpRequest,
    state: web::Data<HttpState>,
    Validated(Username(username)): Validated<Username>,
) -> Result<HttpResponse, ForgotPasswordError> {
    let client = client_addr(&req, &state.settings.trusted_proxies);
    state.forgot_password.send_email(&username, &client).await?;
    Ok(success("Sent", None))
}
