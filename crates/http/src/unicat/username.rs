//! `POST /api/username` (no JWT) — `username`: whether it is free.

use super::params::{BadParam, Fields, FromFields, Params};
use super::{envelope, UnicatError};
use crate::{client::client_addr, HttpState};
use accountd_app::unicat::Availability;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

/// The name asked about, as sent.
#[derive(Debug)]
pub(crate) struct UsernameParam(String);

impl FromFields for UsernameParam {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        f.string("username").map(Self)
    }
}

#[utoipa::path(
    post,
    path = "/api/username",
    tag = "unicat",
    description = "`POST /api/username` (no JWT) — `username`: whether it is free.",
    request_body = super::openapi::UsernameBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::UsernameChecked),
        (status = 429, response = super::openapi::TooManyRequests),
        super::openapi::Public,
    )
)]
pub(crate) async fn handle(
    req: HttpRequest,
    state: web::Data<HttpState>,
    Params(UsernameParam(username)): Params<UsernameParam>,
) -> Result<HttpResponse, UnicatError> {
    let client = client_addr(&req, &state.settings.trusted_proxies);
    let result = match state
        .accounts
        .username_available(&username, &client)
        .await?
    {
        Availability::Available => json!({"username": username, "available": true}),
        Availability::Unavailable(reason) => json!({
            "username": username,
            "available": false,
            "reason": reason.as_str(),
        }),
    };
    Ok(envelope::success(result, json!({}), None))
}
