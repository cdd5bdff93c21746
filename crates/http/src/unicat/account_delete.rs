//! `POST /api/account/delete` (JWT, recent auth) — `confirm` (must be
//! JSON `true`), optional `current_password`. Success is `{}` / `{}` with
//! no `Authorization` header: no account is left to hold a token.

use super::auth::Caller;
use super::params::{BadParam, Fields, FromFields};
use super::{envelope, UnicatError};
use crate::HttpState;
use accountd_app::unicat::DeleteInput;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

impl FromFields for DeleteInput {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        let bad = |reason| BadParam {
            name: "confirm",
            reason,
        };
        match f.get("confirm") {
            None | Some(Value::Null) => return Err(bad("missing")),
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => return Err(bad("invalid_value")),
            Some(_) => return Err(bad("invalid_type")),
        }
        Ok(Self {
            current_password: f.optional_string("current_password")?.map(Into::into),
        })
    }
}

#[utoipa::path(
    post,
    path = "/api/account/delete",
    tag = "unicat",
    description = "`POST /api/account/delete` (JWT, recent auth) — `confirm` (must be JSON `true`), optional `current_password`. Success is `{}` / `{}` with no `Authorization` header: no account is left to hold a token.",
    security(("bearer" = [])),
    request_body = super::openapi::DeleteBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::Done),
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
    }: Caller<DeleteInput>,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, UnicatError> {
    state
        .account_deletion
        .delete(&user, auth_time, params)
        .await?;
    Ok(envelope::success(json!({}), json!({}), None))
}
