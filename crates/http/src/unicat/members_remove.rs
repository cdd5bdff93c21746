//! `POST /api/p/{project}/members/remove` (JWT) — `user`, then the path's
//! project gid.

use super::auth::Caller;
use super::members_get::path_project;
use super::members_resend_invite::MemberParam;
use super::{envelope, UnicatError};
use accountd_app::unicat::MemberInput;
use actix_web::{web, HttpResponse};
use serde_json::json;

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
    let token = state.members.remove(&user, auth_time, input).await?;
    Ok(envelope::success(json!({}), json!({}), Some(&token)))
}
