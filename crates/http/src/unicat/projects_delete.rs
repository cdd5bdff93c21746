//! `POST /api/projects/delete` and `/api/projects/undelete` (JWT) —
//! `project` (a gid).

use super::auth::Caller;
use super::projects_get::ProjectParam;
use super::{envelope, payload, UnicatError};
use accountd_app::unicat::ProjectShown;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// `result = {"project": gid}`, `data = {"cc.projects": {gid: ...}}`.
fn answer(shown: &ProjectShown) -> HttpResponse {
    let gid = shown.project.id.to_string();
    let result = json!({"project": gid});
    let data = json!({"cc.projects": {gid: payload::project_form(&shown.project, shown.access)}});
    envelope::success(result, data, Some(&shown.token))
}

#[utoipa::path(
    post,
    path = "/api/projects/delete",
    tag = "unicat",
    description = "`POST /api/projects/delete` and `/api/projects/undelete` (JWT) — `project` (a gid).",
    security(("bearer" = [])),
    request_body = super::openapi::ProjectBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::ProjectAlone, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
        (status = 403, response = super::openapi::Forbidden),
        (status = 422, response = super::openapi::Unprocessable),
        (status = 429, response = super::openapi::TooManyRequests),
        super::openapi::Authed,
    )
)]
pub(crate) async fn delete(
    Caller {
        user,
        auth_time,
        params: ProjectParam(project),
    }: Caller<ProjectParam>,
    state: web::Data<crate::HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let shown = state.projects.delete(&user, auth_time, project).await?;
    Ok(answer(&shown))
}

#[utoipa::path(
    post,
    path = "/api/projects/undelete",
    tag = "unicat",
    description = "`POST /api/projects/delete` and `/api/projects/undelete` (JWT) — `project` (a gid).",
    security(("bearer" = [])),
    request_body = super::openapi::ProjectBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::ProjectAlone, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
        (status = 403, response = super::openapi::Forbidden),
        (status = 422, response = super::openapi::Unprocessable),
        (status = 429, response = super::openapi::TooManyRequests),
        super::openapi::Authed,
    )
)]
pub(crate) async fn undelete(
    Caller {
        user,
        auth_time,
        params: ProjectParam(project),
    }: Caller<ProjectParam>,
    state: web::Data<crate::HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let shown = state.projects.undelete(&user, auth_time, project).await?;
    Ok(answer(&shown))
}
