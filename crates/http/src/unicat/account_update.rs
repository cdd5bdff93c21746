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
