//! `POST /api/projects/create` (JWT) — optional `name`, optional `options`.

use super::auth::Caller;
use super::params::{BadParam, Fields, FromFields};
use super::{envelope, payload, UnicatError};
use accountd_app::unicat::{OptionValue, ProjectInput};
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

/// `name` and `options`: `options` that is not an object is 400
/// `invalid_type`; its values are the service's to judge (1001).
pub(crate) fn project_input(f: &Fields) -> Result<ProjectInput, BadParam> {
    let name = f.optional_string("name")?;
    let options = match f.get("options") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map.iter().map(|(k, v)| (k.clone(), option(v))).collect()),
        Some(_) => {
            return Err(BadParam {
                name: "options",
                reason: "invalid_type",
            })
        }
    };
    Ok(ProjectInput { name, options })
}

fn option(value: &Value) -> OptionValue {
    match value {
        Value::String(s) => OptionValue::Text(s.clone()),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(ToOwned::to_owned))
            .collect::<Option<Vec<_>>>()
            .map_or(OptionValue::Other, OptionValue::Texts),
        _ => OptionValue::Other,
    }
}

impl FromFields for ProjectInput {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        project_input(f)
    }
}

#[utoipa::path(
    post,
    path = "/api/projects/create",
    tag = "unicat",
    description = "`POST /api/projects/create` (JWT) — optional `name`, optional `options`.",
    security(("bearer" = [])),
    request_body = super::openapi::ProjectCreateBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::ProjectCreated, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
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
    }: Caller<ProjectInput>,
    state: web::Data<crate::HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let shown = state.projects.create(&user, auth_time, params).await?;
    let gid = shown.project.id.to_string();
    let result = json!({"project": gid});
    let data = json!({
        "cc.projects": {gid: payload::project_form(&shown.project, shown.access)},
        "cc.projects_members": shown.rows.iter().map(payload::member).collect::<Vec<_>>(),
    });
    Ok(envelope::success(result, data, Some(&shown.token)))
}
