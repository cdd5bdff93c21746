//! `POST /api/signup_request` — `username`, `password`, `email`.

use super::params::{BadParam, Fields, FromFields, Params};
use super::{envelope, UnicatError};
use crate::{client::client_addr, HttpState};
use accountd_app::unicat::SignupRequestInput;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

impl FromFields for SignupRequestInput {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        Ok(Self {
            username: f.string("username")?,
            password: f.string("password")?.into(),
            email: f.string("email")?,
        })
    }
}

pub(crate) async fn handle(
    req: HttpRequest,
    state: web::Data<HttpState>,
    Params(input): Params<SignupRequestInput>,
) -> Result<HttpResponse, UnicatError> {
    let client = client_addr(&req, &state.settings.trusted_proxies);
    let validation_code = state.signup.request(input, &client).await?;
    let result = json!({"validation_code": validation_code});
    Ok(envelope::success(result, json!({}), None))
}
