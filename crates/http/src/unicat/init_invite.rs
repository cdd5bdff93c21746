//! `POST /api/init_invite` (no JWT) — `invitee`, `project` and `token`, as
//! for `decline_invite`: what the invitation page shows.

use super::decline_invite::LinkParams;
use super::params::Params;
use super::{envelope, payload, UnicatError};
use crate::HttpState;
use accountd_domain::ProjectAccess;
use actix_web::{web, HttpResponse};
use serde_json::{json, Map};

#[utoipa::path(
    post,
    path = "/api/init_invite",
    tag = "unicat",
    description = "`POST /api/init_invite` (no JWT) — `invitee`, `project` and `token`, as for `decline_invite`: what the invitation page shows.",
    request_body = super::openapi::LinkBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::InviteShown),
        (status = 422, response = super::openapi::Unprocessable),
        super::openapi::Public,
    )
)]
pub(crate) async fn handle(
    state: web::Data<HttpState>,
    Params(LinkParams(link)): Params<LinkParams>,
) -> Result<HttpResponse, UnicatError> {
    let shown = state.invitations.init_invite(&link).await?;
    let project = shown.project.id.to_string();
    let invitee = shown.invitee.id.to_string();
    let mut users = Map::new();
    if let Some(inviter) = &shown.inviter {
        users.insert(inviter.id.to_string(), payload::user_short(inviter));
    }
    users.insert(invitee.clone(), payload::user_short(&shown.invitee));
    let result = json!({"project": project, "invitee": invitee});
    let data = json!({
        "cc.projects": {project: payload::project_form(&shown.project, ProjectAccess::Invited)},
        "cc.users": users,
        "cc.projects_members": [payload::member(&shown.row)],
    });
    Ok(envelope::success(result, data, None))
}
