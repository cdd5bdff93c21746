//! `POST /api/users/get` (JWT) — `user` (a gid).

use super::auth::Caller;
use super::params::{BadParam, Fields, FromFields};
use super::{envelope, payload, UnicatError};
use accountd_domain::UserId;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// The gid asked for.
#[derive(Debug)]
pub(crate) struct UserParam(UserId);

impl FromFields for UserParam {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        f.gid("user", UserId::parse).map(Self)
    }
}

#[utoipa::path(
    post,
    path = "/api/users/get",
    tag = "unicat",
    description = "`POST /api/users/get` (JWT) — `user` (a gid).",
    security(("bearer" = [])),
    request_body = super::openapi::UserBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::UserShown, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
        (status = 422, response = super::openapi::Unprocessable),
        super::openapi::Authed,
    )
)]
pub(crate) async fn handle(
    Caller {
        user,
        auth_time,
        params: UserParam(other),
    }: Caller<UserParam>,
    state: web::Data<crate::HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let shown = state.accounts.get_user(&user, auth_time, other).await?;
    let gid = shown.user.id.to_string();
    let form = if shown.complete {
        payload::user_complete(&shown.user)
    } else {
        payload::user_short(&shown.user)
    };
    let result = json!({"user": gid});
    let data = json!({"cc.users": {gid: form}});
    Ok(envelope::success(result, data, Some(&shown.token)))
}
