//! `POST /api/account/update` (JWT) — any of `username`, `password`,
//! `name`, `language`, `timezone`, then `current_password`.

use super::auth::Caller;
use super::params::{BadParam, Fields, FromFields};
use super::{envelope, payload, UnicatError};
use accountd_app::unicat::UpdateInput;
use actix_web::{web, HttpResponse};
use serde_json::json;

impl FromFields for UpdateInput {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        Ok(Self {
            username: f.optional_string("username")?,
            password: f.optional_string("password")?.map(Into::into),
            name: f.optional_string("name")?,
            language: f.optional_string("language")?,
            timezone: f.optional_string("timezone")?,
            current_password: f.optional_string("current_password")?.map(Into::into),
        })
    }
}

#[utoipa::path(
    post,
    path = "/api/account/update",
    tag = "unicat",
    description = "`POST /api/account/update` (JWT) — any of `username`, `password`, `name`, `language`, `timezone`, then `current_password`.",
    security(("bearer" = [])),
    request_body = super::openapi::AccountUpdateBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::UserShown, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
        (status = 403, response = super::openapi::Forbidden),
        (status = 422, response = super::openapi::Unprocessable),
        (status = 429, response = super::openapi::TooManyRequests),
        super::openapi::Authed,
    )
)]
pub(crate) async fn handle(
    Caller {
        user,
        auth_time,
        params,
    }: Caller<UpdateInput>,
    state: web::Data<crate::HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let updated = state.accounts.update(&user, auth_time, params).await?;
    let gid = updated.user.id.to_string();
    let result = json!({"user": gid});
    let data = json!({"cc.users": {gid: payload::user_complete(&updated.user)}});
    Ok(envelope::success(result, data, Some(&updated.token)))
}
