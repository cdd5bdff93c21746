//! `POST /api/reset_password_request` — `username_or_email`.

use super::params::{BadParam, Fields, FromFields, Params};
use super::{envelope, UnicatError};
use crate::{client::client_addr, HttpState};
use accountd_app::unicat::ResetRequested;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

/// The one parameter.
pub(crate) struct UsernameOrEmail(String);

impl FromFields for UsernameOrEmail {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        Ok(Self(f.string("username_or_email")?))
    }
}

#[utoipa::path(
    post,
    path = "/api/reset_password_request",
    tag = "unicat",
    description = "`POST /api/reset_password_request` — `username_or_email`.",
    request_body = super::openapi::UsernameOrEmailBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::ResetCodeSent),
        (status = 422, response = super::openapi::Unprocessable),
        (status = 429, response = super::openapi::TooManyRequests),
        super::openapi::Public,
    )
)]
pub(crate) async fn handle(
    req: HttpRequest,
    state: web::Data<HttpState>,
    Params(UsernameOrEmail(username_or_email)): Params<UsernameOrEmail>,
) -> Result<HttpResponse, UnicatError> {
    let client = client_addr(&req, &state.settings.trusted_proxies);
    let ResetRequested {
        validation_code,
        usernames,
    } = state.reset.request(&username_or_email, &client).await?;
    let result = json!({"validation_code": validation_code, "usernames": usernames});
    Ok(envelope::success(result, json!({}), None))
}
