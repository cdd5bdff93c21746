//! `POST /api/reset_password` — `username`, `new_password`,
//! `validation_code`, `verification_code`.

use super::params::{BadParam, Fields, FromFields, Params};
use super::{session, UnicatError};
use crate::HttpState;
use accountd_app::unicat::ResetInput;
use actix_web::{web, HttpResponse};

impl FromFields for ResetInput {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        Ok(Self {
            username: f.string("username")?,
            new_password: f.string("new_password")?.into(),
            validation_code: f.string("validation_code")?.into(),
            verification_code: f.string("verification_code")?.into(),
        })
    }
}

#[utoipa::path(
    post,
    path = "/api/reset_password",
    tag = "unicat",
    description = "`POST /api/reset_password` — `username`, `new_password`, `validation_code`, `verification_code`.",
    request_body = super::openapi::ResetBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::Session, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
        (status = 422, response = super::openapi::Unprocessable),
        super::openapi::Public,
    )
)]
pub(crate) async fn handle(
    state: web::Data<HttpState>,
    Params(input): Params<ResetInput>,
) -> Result<HttpResponse, UnicatError> {
    let s = state.reset.complete(input).await?;
    Ok(session(&state, &s, false))
}
