//! `POST /api/projects/get` (JWT) — `project` (a gid).

use super::auth::Caller;
use super::params::{BadParam, Fields, FromFields};
use super::{envelope, payload, UnicatError};
use accountd_domain::ProjectId;
use actix_web::{web, HttpResponse};

/// The `project` gid of a project route: 400 `invalid_value` for a string
/// that is not a UUID.
#[derive(Debug)]
pub(crate) struct ProjectParam(pub ProjectId);

pub(crate) fn project_gid(f: &Fields) -> Result<ProjectId, BadParam> {
    f.gid("project", ProjectId::parse)
}

impl FromFields for ProjectParam {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        project_gid(f).map(Self)
    }
}

#[utoipa::path(
    post,
    path = "/api/projects/get",
    tag = "unicat",
    description = "`POST /api/projects/get` (JWT) — `project` (a gid).",
    security(("bearer" = [])),
    request_body = super::openapi::ProjectBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::ProjectShown, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
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
        params: ProjectParam(project),
    }: Caller<ProjectParam>,
    state: web::Data<crate::HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let shown = state.projects.get(&user, auth_time, project).await?;
    let (result, data) = payload::project_shown(&shown);
    Ok(envelope::success(result, data, Some(&shown.token)))
}
