//! `POST /api/account/update_email` (JWT) — `email`, `validation_code`,
//! `verification_code`.

use super::auth::Caller;
use super::params::{BadParam, Fields, FromFields};
use super::{envelope, payload, UnicatError};
use crate::HttpState;
use accountd_app::unicat::{EmailChangeInput, EmailChanged};
use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

impl FromFields for EmailChangeInput {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        Ok(Self {
            email: f.string("email")?,
            validation_code: f.string("validation_code")?.into(),
            verification_code: f.string("verification_code")?.into(),
        })
    }
}

#[utoipa::path(
    post,
    path = "/api/account/update_email",
    tag = "unicat",
    description = "`POST /api/account/update_email` (JWT) — `email`, `validation_code`, `verification_code`.",
    security(("bearer" = [])),
    request_body = super::openapi::UpdateEmailBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::UserShown, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
        (status = 422, response = super::openapi::Unprocessable),
        super::openapi::Authed,
    )
)]
pub(crate) async fn handle(
    Caller {
        user,
        auth_time,
        params,
    }: Caller<EmailChangeInput>,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let EmailChanged { user, token } = state
        .email_change
        .complete(&user, auth_time, params)
        .await?;
    let gid = user.id.to_string();
    let mut users = Map::new();
    users.insert(gid.clone(), payload::user_complete(&user));
    Ok(envelope::success(
        json!({"user": gid}),
        json!({"cc.users": Value::Object(users)}),
        Some(&token),
    ))
}
