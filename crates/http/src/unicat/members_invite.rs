//! `POST /api/p/{project}/members/invite` (JWT) — `username_or_email`,
//! then the path's project gid.

use super::auth::Caller;
use super::members_get::{members_shown, path_project};
use super::params::{BadParam, Fields, FromFields};
use super::{envelope, UnicatError};
use accountd_app::unicat::InviteInput;
use actix_web::{web, HttpResponse};

/// The body: who to invite.
#[derive(Debug)]
pub(crate) struct UsernameOrEmail(String);

impl FromFields for UsernameOrEmail {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        f.string("username_or_email").map(Self)
    }
}

#[utoipa::path(
    post,
    path = "/api/p/{project}/members/invite",
    tag = "unicat",
    description = "`POST /api/p/{project}/members/invite` (JWT) — `username_or_email`, then the path's project gid.",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "The project gid (a UUID; else 400 `invalid_value`).")),
    request_body = super::openapi::InviteBody,
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
        params: UsernameOrEmail(username_or_email),
    }: Caller<UsernameOrEmail>,
    path: web::Path<String>,
    state: web::Data<crate::HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let project = path_project(&path)?;
    let input = InviteInput {
        project,
        username_or_email,
    };
    let shown = state.members.invite(&user, auth_time, input).await?;
    let (result, data) = members_shown(&shown);
    Ok(envelope::success(result, data, Some(&shown.token)))
}
