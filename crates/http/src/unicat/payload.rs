//! The session payload (section 4) and the data objects (section 3).

use crate::HttpState;
use accountd_app::unicat::{ProjectShown, Session};
use accountd_domain::{Membership, MembershipStatus, Project, ProjectAccess, User};
use serde_json::{json, Map, Value};

/// `cc.users[gid]`, complete form (the caller's own user).
pub(crate) fn user_complete(u: &User) -> Value {
    json!({
        "gid": u.id.to_string(),
        "username": u.username.as_ref().map(|n| n.as_str()),
        "email": u.emails.first().map(|e| e.as_str()),
        "name": u.name,
        "avatar": null,
        "status": u.status.as_str(),
        "options": {"language": u.language, "timezone": u.timezone},
    })
}

/// `cc.users[gid]`, short form (another user): a placeholder has
/// `"username": null`.
pub(crate) fn user_short(u: &User) -> Value {
    json!({
        "gid": u.id.to_string(),
        "username": u.username.as_ref().map(|n| n.as_str()),
        "name": u.name,
        "avatar": null,
        "status": u.status.as_str(),
    })
}

fn project(p: &Project) -> Value {
    json!({
        "gid": p.id.to_string(),
        "name": p.name,
        "icon": p.icon,
        "owner": p.owner.to_string(),
        "status": p.status.as_str(),
        "options": {"timezone": p.timezone, "languages": p.languages},
    })
}

pub(crate) fn member(m: &Membership) -> Value {
    json!({
        "project_gid": m.project.to_string(),
        "user_gid": m.user.to_string(),
        "status": m.status.as_str(),
        "roles": m.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "options": {
            "notifications": {
                "email": m.notifications.email.as_ref().map(|e| e.as_str()),
                "events": m.notifications.events,
                "frequency": m.notifications.frequency,
            },
            "rate_limit_per_second": m.rate_limit_per_second,
        },
    })
}

/// `cc.projects[gid]` as `access` may see it: an invited user gets the
/// short form (gid, name, icon, owner, status), everyone else the whole.
pub(crate) fn project_form(p: &Project, access: ProjectAccess) -> Value {
    if access == ProjectAccess::Invited {
        json!({
            "gid": p.id.to_string(),
            "name": p.name,
            "icon": p.icon,
            "owner": p.owner.to_string(),
            "status": p.status.as_str(),
        })
    } else {
        project(p)
    }
}

/// `(result, data)` of `projects/get`, `update` and `transfer`.
pub(crate) fn project_shown(shown: &ProjectShown) -> (Value, Value) {
    let gid = shown.project.id.to_string();
    let mut users = Map::new();
    for u in &shown.users {
        let form = if u.complete {
            user_complete(&u.user)
        } else {
            user_short(&u.user)
        };
        users.insert(u.user.id.to_string(), form);
    }
    let result = json!({"project": gid});
    let data = json!({
        "cc.projects": {gid: project_form(&shown.project, shown.access)},
        "cc.projects_members": shown.rows.iter().map(member).collect::<Vec<_>>(),
        "cc.users": users,
    });
    (result, data)
}

/// The `data` of a session payload. `cc.languages` is serialized once at
/// start and copied in as is.
#[derive(serde::Serialize)]
pub(crate) struct SessionData<'a> {
    #[serde(rename = "cc.users")]
    users: Map<String, Value>,
    #[serde(rename = "cc.projects")]
    projects: Map<String, Value>,
    #[serde(rename = "cc.projects_members")]
    members: Vec<Value>,
    #[serde(rename = "cc.languages")]
    languages: &'a serde_json::value::RawValue,
}

/// `(result, data)` of the session payload; `with_version` adds
/// `cc.version` and `cc.cursor` (login, init).
pub(crate) fn session<'a>(
    state: &'a HttpState,
    s: &Session,
    with_version: bool,
) -> (Value, SessionData<'a>) {
    let mut user_projects = Map::new();
    let mut projects = Map::new();
    let mut members = Vec::new();
    for v in &s.projects {
        // A deleted project is in the owner's `cc.projects` but in nobody's
        // `user_projects`.
        if v.own.status == MembershipStatus::Active
            && v.project.status == accountd_domain::ProjectStatus::Active
        {
            user_projects.insert(
                v.project.id.to_string(),
                json!(v.own.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
            );
        }
        // An invited user sees the short form (section 5, "Who sees what").
        let access = accountd_domain::project_access(&v.project, Some(&v.own));
        projects.insert(v.project.id.to_string(), project_form(&v.project, access));
        members.push(member(&v.own));
        if let Some(o) = &v.owner_row {
            // Another user's row: its notification address is the owner's
            // and the row user's only (section 3), so `null` here.
            let mut o = o.clone();
            o.notifications.email = None;
            members.push(member(&o));
        }
    }
    let mut result = Map::new();
    result.insert("user".to_owned(), json!(s.user.id.to_string()));
    result.insert("user_projects".to_owned(), Value::Object(user_projects));
    if with_version {
        result.insert("cc.version".to_owned(), json!(state.unicat.version));
        result.insert("cc.cursor".to_owned(), json!(0));
    }
    let mut users = Map::new();
    users.insert(s.user.id.to_string(), user_complete(&s.user));
    // The owners whose rows are shown, short form (the caller stays
    // complete: the SDK caches `cc.users` by gid).
    for u in s.users.iter().filter(|u| u.id != s.user.id) {
        users.insert(u.id.to_string(), user_short(u));
    }
    let data = SessionData {
        users,
        projects,
        members,
        languages: state.unicat.languages_json(),
    };
    (Value::Object(result), data)
}

/// `(result, data)` of `account/accept_invite`, `account/decline_invite`
/// and `decline_invite`: `result = {"project": gid}`, `data =
/// {"cc.projects": {gid: …}, "cc.projects_members": [the row]}`, the
/// project in the form the answer's access gives (whole after an accept,
/// short after a decline).
pub(crate) fn row_answered(a: &accountd_app::unicat::RowAnswered) -> (Value, Value) {
    let gid = a.project.id.to_string();
    let result = json!({"project": gid});
    let data = json!({
        "cc.projects": {gid: project_form(&a.project, a.access)},
        "cc.projects_members": [member(&a.row)],
    });
    (result, data)
}
