//! `POST /api/projects/update` (JWT) — `project`, then any of `name`,
//! `options`.

use super::auth::Caller;
use super::params::{BadParam, Fields, FromFields};
use super::projects_create::project_input;
use super::projects_get::project_gid;
use super::{envelope, payload, UnicatError};
use accountd_app::unicat::UpdateProjectInput;
use actix_web::{web, HttpResponse};

impl FromFields for UpdateProjectInput {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        Ok(Self {
            project: project_gid(f)?,
            changes: project_input(f)?,
        })
    }
}

#[utoipa::path(
    post,
    path = "/api/projects/update",
    tag = "unicat",
    description = "`POST /api/projects/update` (JWT) — `project`, then any of `name`, `options`.",
    security(("bearer" = [])),
    request_body = super::openapi::ProjectUpdateBody,
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
        params,
    }: Caller<UpdateProjectInput>,
    state: web::Data<crate::HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let shown = state.projects.update(&user, auth_time, params).await?;
    let (result, data) = payload::project_shown(&shown);
    Ok(envelope::success(result, data, Some(&shown.token)))
}
