//! `POST /api/signup_request` — `username`, `password`, `email`.

use super::params::{BadParam, Fields, FromFields, Params};
use super::{envelope, UnicatError};
use crate::{client::client_addr, HttpState};
use accountd_app::unicat::SignupRequestInput;
use actix_web::{http::header::ACCEPT_LANGUAGE, web, HttpRequest, HttpResponse};
use serde_json::json;

impl FromFields for SignupRequestInput {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        Ok(Self {
            username: f.string("username")?,
            password: f.string("password")?.into(),
            email: f.string("email")?,
            accept_language: None,
        })
    }
}

#[utoipa::path(
    post,
    path = "/api/signup_request",
    tag = "unicat",
    description = "`POST /api/signup_request` — `username`, `password`, `email`.",
    request_body = super::openapi::SignupRequestBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::CodeSent),
        (status = 422, response = super::openapi::Unprocessable),
        (status = 429, response = super::openapi::TooManyRequests),
        super::openapi::Public,
    )
)]
pub(crate) async fn handle(
    req: HttpRequest,
    state: web::Data<HttpState>,
    Params(mut input): Params<SignupRequestInput>,
) -> Result<HttpResponse, UnicatError> {
    input.accept_language = accept_language(&req);
    let client = client_addr(&req, &state.settings.trusted_proxies);
    let validation_code = state.signup.request(input, &client).await?;
    let result = json!({"validation_code": validation_code});
    Ok(envelope::success(result, json!({}), None))
}

/// Every `Accept-Language` header of the request, joined as one list (as
/// HTTP defines repeated fields); `None` without one, or when none is text.
fn accept_language(req: &HttpRequest) -> Option<String> {
    let values: Vec<&str> = req
        .headers()
        .get_all(ACCEPT_LANGUAGE)
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}
