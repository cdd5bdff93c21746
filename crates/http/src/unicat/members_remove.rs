//! `POST /api/p/{project}/members/remove` (JWT) — `user`, then the path's
//! project gid.

use super::auth::Caller;
use super::members_get::path_project;
use super::members_resend_invite::MemberParam;
use super::{envelope, UnicatError};
use accountd_app::unicat::MemberInput;
use actix_web::{web, HttpResponse};
use serde_json::json;

#[utoipa::path(
    post,
    path = "/api/p/{project}/members/remove",
    tag = "unicat",
    description = "`POST /api/p/{project}/members/remove` (JWT) — `user`, then the path's project gid.",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "The project gid (a UUID; else 400 `invalid_value`).")),
    request_body = super::openapi::UserBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::Done, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
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
        params: MemberParam(member),
    }: Caller<MemberParam>,
    path: web::Path<String>,
    state: web::Data<crate::HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let project = path_project(&path)?;
    let input = MemberInput {
        project,
        user: member,
    };
    let token = state.members.remove(&user, auth_time, input).await?;
    Ok(envelope::success(json!({}), json!({}), Some(&token)))
}
