//! `POST /api/p/{project}/members/resend_invite` (JWT) — `user`, then the
//! path's project gid.

use super::auth::Caller;
use super::members_get::{members_shown, path_project};
use super::params::{BadParam, Fields, FromFields};
use super::{envelope, UnicatError};
use accountd_app::unicat::MemberInput;
use accountd_domain::UserId;
use actix_web::{web, HttpResponse};

/// The body of resend_invite and remove: the member's gid.
#[derive(Debug)]
pub(crate) struct MemberParam(pub UserId);

impl FromFields for MemberParam {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        f.gid("user", UserId::parse).map(Self)
    }
}

#[utoipa::path(
    post,
    path = "/api/p/{project}/members/resend_invite",
    tag = "unicat",
    description = "`POST /api/p/{project}/members/resend_invite` (JWT) — `user`, then the path's project gid.",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "The project gid (a UUID; else 400 `invalid_value`).")),
    request_body = super::openapi::UserBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::MembersShown, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
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
    let shown = state.members.resend_invite(&user, auth_time, input).await?;
    let (result, data) = members_shown(&shown);
    Ok(envelope::success(result, data, Some(&shown.token)))
}
