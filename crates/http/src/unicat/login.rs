//! `POST /api/login` — `username`, `password`.

use super::params::{BadParam, Fields, FromFields, Params};
use super::{session, UnicatError};
use crate::{client::client_addr, HttpState};
use accountd_app::unicat::LoginInput;
use actix_web::{web, HttpRequest, HttpResponse};

impl FromFields for LoginInput {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        Ok(Self {
            username: f.string("username")?,
            password: f.string("password")?.into(),
        })
    }
}

#[utoipa::path(
    post,
    path = "/api/login",
    tag = "unicat",
    description = "`POST /api/login` — `username`, `password`.",
    request_body = super::openapi::LoginBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::LoginSession, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
        (status = 403, response = super::openapi::Forbidden),
        (status = 429, response = super::openapi::TooManyRequests),
        super::openapi::Public,
    )
)]
pub(crate) async fn handle(
    req: HttpRequest,
    state: web::Data<HttpState>,
    Params(input): Params<LoginInput>,
) -> Result<HttpResponse, UnicatError> {
    let client = client_addr(&req, &state.settings.trusted_proxies);
    let s = state.sessions.login_from(input, Some(&client)).await?;
    Ok(session(&state, &s, true))
}
