//! `POST /api/account/leave_project` (JWT) — `project` (a gid).

use super::auth::Caller;
use super::projects_get::ProjectParam;
use super::{envelope, UnicatError};
use actix_web::{web, HttpResponse};
use serde_json::json;

#[utoipa::path(
    post,
    path = "/api/account/leave_project",
    tag = "unicat",
    description = "`POST /api/account/leave_project` (JWT) — `project` (a gid).",
    security(("bearer" = [])),
    request_body = super::openapi::ProjectBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::Done, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
        (status = 422, response = super::openapi::Unprocessable),
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
    let token = state.invitations.leave(&user, auth_time, project).await?;
    Ok(envelope::success(json!({}), json!({}), Some(&token)))
}
