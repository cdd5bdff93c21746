//! `POST /api/account/accept_invite` (JWT) — `project` (a gid).

use super::auth::Caller;
use super::projects_get::ProjectParam;
use super::{envelope, payload, UnicatError};
use actix_web::{web, HttpResponse};

#[utoipa::path(
    post,
    path = "/api/account/accept_invite",
    tag = "unicat",
    description = "`POST /api/account/accept_invite` (JWT) — `project` (a gid).",
    security(("bearer" = [])),
    request_body = super::openapi::ProjectBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::RowAnswered, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
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
    let answered = state.invitations.accept(&user, auth_time, project).await?;
    let (result, data) = payload::row_answered(&answered);
    Ok(envelope::success(result, data, answered.token.as_deref()))
}
