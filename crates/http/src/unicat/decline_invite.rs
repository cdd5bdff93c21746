//! `POST /api/decline_invite` (no JWT) — `invitee` (a user gid), `project`
//! (a gid) and `token`, the values of the invitation mail's decline link.

use super::params::{BadParam, Fields, FromFields, Params};
use super::projects_get::project_gid;
use super::{envelope, payload, UnicatError};
use crate::HttpState;
use accountd_app::unicat::InvitationLink;
use accountd_domain::UserId;
use actix_web::{web, HttpResponse};

/// The three values of a decline link, in the spec's order.
#[derive(Debug)]
pub(crate) struct LinkParams(pub InvitationLink);

impl FromFields for LinkParams {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        Ok(Self(InvitationLink {
            invitee: f.gid("invitee", UserId::parse)?,
            project: project_gid(f)?,
            token: f.string("token")?.into(),
        }))
    }
}

#[utoipa::path(
    post,
    path = "/api/decline_invite",
    tag = "unicat",
    description = "`POST /api/decline_invite` (no JWT) — `invitee` (a user gid), `project` (a gid) and `token`, the values of the invitation mail's decline link.",
    request_body = super::openapi::LinkBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::RowAnswered),
        (status = 422, response = super::openapi::Unprocessable),
        super::openapi::Public,
    )
)]
pub(crate) async fn handle(
    state: web::Data<HttpState>,
    Params(LinkParams(link)): Params<LinkParams>,
) -> Result<HttpResponse, UnicatError> {
    let answered = state.invitations.decline_public(&link).await?;
    let (result, data) = payload::row_answered(&answered);
    Ok(envelope::success(result, data, None))
}
