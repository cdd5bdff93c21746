//! `POST /api/projects/transfer` (JWT, recent auth) — `project`, `user`,
//! then `current_password`.

use super::auth::Caller;
use super::params::{BadParam, Fields, FromFields};
use super::projects_get::project_gid;
use super::{envelope, payload, UnicatError};
use accountd_app::unicat::TransferInput;
use accountd_domain::UserId;
use actix_web::{web, HttpResponse};

impl FromFields for TransferInput {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        let project = project_gid(f)?;
        let user = f.gid("user", UserId::parse)?;
        Ok(Self {
            project,
            user,
            current_password: f.optional_string("current_password")?.map(Into::into),
        })
    }
}

#[utoipa::path(
    post,
    path = "/api/projects/transfer",
    tag = "unicat",
    description = "`POST /api/projects/transfer` (JWT, recent auth) — `project`, `user`, then `current_password`.",
    security(("bearer" = [])),
    request_body = super::openapi::TransferBody,
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
    }: Caller<TransferInput>,
    state: web::Data<crate::HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let shown = state.projects.transfer(&user, auth_time, params).await?;
    let (result, data) = payload::project_shown(&shown);
    Ok(envelope::success(result, data, Some(&shown.token)))
}
