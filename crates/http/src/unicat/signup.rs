//! `POST /api/signup` — `username`, `password`, `email`, `validation_code`,
//! `verification_code`.

use super::params::{BadParam, Fields, FromFields, Params};
use super::{session, UnicatError};
use crate::HttpState;
use accountd_app::unicat::SignupInput;
use actix_web::{web, HttpResponse};

impl FromFields for SignupInput {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        Ok(Self {
            username: f.string("username")?,
            password: f.string("password")?.into(),
            email: f.string("email")?,
            validation_code: f.string("validation_code")?.into(),
            verification_code: f.string("verification_code")?.into(),
        })
    }
}

#[utoipa::path(
    post,
    path = "/api/signup",
    tag = "unicat",
    description = "`POST /api/signup` — `username`, `password`, `email`, `validation_code`, `verification_code`.",
    request_body = super::openapi::SignupBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::Session, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
        (status = 422, response = super::openapi::Unprocessable),
        super::openapi::Public,
    )
)]
pub(crate) async fn handle(
    state: web::Data<HttpState>,
    Params(input): Params<SignupInput>,
) -> Result<HttpResponse, UnicatError> {
    let s = state.signup.complete(input).await?;
    Ok(session(&state, &s, false))
}
