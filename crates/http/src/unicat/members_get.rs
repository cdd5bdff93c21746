//! `POST /api/members/get` (JWT) — `project`, `member` — and
//! `POST /api/p/{project}/members/get` (JWT) — `member` or `members` (a
//! list of up to 1000 gids), then the path's project gid.

use super::auth::Caller;
use super::params::{BadParam, Fields, FromFields};
use super::projects_get::project_gid;
use super::{envelope, payload, UnicatError};
use accountd_app::unicat::{GetMembersInput, MembersShown, MAX_MEMBERS_PER_GET};
use accountd_domain::{ProjectId, UserId};
use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

/// The project gid of a `/api/p/{project}/...` path, read after the body:
/// 400 `invalid_value` (parameter `project`) when it is not a UUID.
pub(crate) fn path_project(path: &str) -> Result<ProjectId, UnicatError> {
    ProjectId::parse(path).ok_or_else(|| {
        BadParam {
            name: "project",
            reason: "invalid_value",
        }
        .into()
    })
}

/// `(result, data)` of invite, resend_invite and both forms of get.
pub(crate) fn members_shown(shown: &MembersShown) -> (Value, Value) {
    let mut users = Map::new();
    for u in &shown.users {
        let form = if u.complete {
            payload::user_complete(&u.user)
        } else {
            payload::user_short(&u.user)
        };
        users.insert(u.user.id.to_string(), form);
    }
    let gids: Vec<String> = shown.users.iter().map(|u| u.user.id.to_string()).collect();
    let result = match (shown.one, gids.first()) {
        (true, Some(gid)) => json!({ "user": gid }),
        _ => json!({ "users": gids }),
    };
    let data = json!({
        "cc.users": users,
        "cc.projects_members": shown.rows.iter().map(payload::member).collect::<Vec<_>>(),
    });
    (result, data)
}

/// The body of `/api/members/get`.
#[derive(Debug)]
pub(crate) struct ProjectMember {
    project: ProjectId,
    member: UserId,
}

impl FromFields for ProjectMember {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        let project = project_gid(f)?;
        let member = f.gid("member", UserId::parse)?;
        Ok(Self { project, member })
    }
}

/// The body of `/api/p/{project}/members/get`: the gids, and whether one
/// was asked for as `member`.
#[derive(Debug)]
pub(crate) struct Wanted {
    users: Vec<UserId>,
    one: bool,
}

impl FromFields for Wanted {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        let present = |name| f.get(name).is_some_and(|v| !v.is_null());
        if present("member") && present("members") {
            return Err(BadParam {
                name: "members",
                reason: "invalid_value",
            });
        }
        if !present("members") {
            let member = f.gid("member", UserId::parse)?;
            return Ok(Self {
                users: vec![member],
                one: true,
            });
        }
        let Some(Value::Array(items)) = f.get("members") else {
            return Err(BadParam {
                name: "members",
                reason: "invalid_type",
            });
        };
        if items.len() > MAX_MEMBERS_PER_GET {
            return Err(BadParam {
                name: "members",
                reason: "invalid_value",
            });
        }
        let mut users = Vec::with_capacity(items.len());
        for item in items {
            let Value::String(text) = item else {
                return Err(BadParam {
                    name: "members",
                    reason: "invalid_type",
                });
            };
            users.push(UserId::parse(text).ok_or(BadParam {
                name: "members",
                reason: "invalid_value",
            })?);
        }
        Ok(Self { users, one: false })
    }
}

#[utoipa::path(
    post,
    path = "/api/members/get",
    tag = "unicat",
    description = "`POST /api/members/get` (JWT) — `project`, `member` — and `POST /api/p/{project}/members/get` (JWT) — `member` or `members` (a list of up to 1000 gids), then the path's project gid.",
    security(("bearer" = [])),
    request_body = super::openapi::ProjectMemberBody,
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
        params: ProjectMember { project, member },
    }: Caller<ProjectMember>,
    state: web::Data<crate::HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let input = GetMembersInput {
        project,
        users: vec![member],
        one: true,
    };
    let shown = state.members.get(&user, auth_time, input).await?;
    let (result, data) = members_shown(&shown);
    Ok(envelope::success(result, data, Some(&shown.token)))
}

#[utoipa::path(
    post,
    path = "/api/p/{project}/members/get",
    tag = "unicat",
    description = "`POST /api/members/get` (JWT) — `project`, `member` — and `POST /api/p/{project}/members/get` (JWT) — `member` or `members` (a list of up to 1000 gids), then the path's project gid.",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "The project gid (a UUID; else 400 `invalid_value`).")),
    request_body = super::openapi::MembersWantedBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::MembersShown, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
        (status = 403, response = super::openapi::Forbidden),
        (status = 422, response = super::openapi::Unprocessable),
        (status = 429, response = super::openapi::TooManyRequests),
        super::openapi::Authed,
    )
)]
pub(crate) async fn handle_in_project(
    Caller {
        user,
        auth_time,
        params: Wanted { users, one },
    }: Caller<Wanted>,
    path: web::Path<String>,
    state: web::Data<crate::HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let project = path_project(&path)?;
    let input = GetMembersInput {
        project,
        users,
        one,
    };
    let shown = state.members.get(&user, auth_time, input).await?;
    let (result, data) = members_shown(&shown);
    Ok(envelope::success(result, data, Some(&shown.token)))
}
