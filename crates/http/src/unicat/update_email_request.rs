//! `POST /api/account/update_email_request` (JWT, recent auth) — `email`,
//! optional `current_password`.

use super::auth::Caller;
use super::params::{BadParam, Fields, FromFields};
use super::{envelope, UnicatError};
use crate::{client::client_addr, HttpState};
use accountd_app::unicat::EmailChangeRequested;
use accountd_app::Secret;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

/// The parameters, in the spec's order.
#[derive(Debug)]
pub(crate) struct UpdateEmailRequest {
    email: String,
    current_password: Option<Secret>,
}

impl FromFields for UpdateEmailRequest {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        Ok(Self {
            email: f.string("email")?,
            current_password: f.optional_string("current_password")?.map(Secret::from),
        })
    }
}

#[utoipa::path(
    post,
    path = "/api/account/update_email_request",
    tag = "unicat",
    description = "`POST /api/account/update_email_request` (JWT, recent auth) — `email`, optional `current_password`.",
    security(("bearer" = [])),
    request_body = super::openapi::UpdateEmailRequestBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::CodeSent, headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
        (status = 403, response = super::openapi::Forbidden),
        (status = 422, response = super::openapi::Unprocessable),
        (status = 429, response = super::openapi::TooManyRequests),
        super::openapi::Authed,
    )
)]
pub(crate) async fn handle(
    req: HttpRequest,
    Caller {
        user,
        auth_time,
        params,
    }: Caller<UpdateEmailRequest>,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let client = client_addr(&req, &state.settings.trusted_proxies);
    let EmailChangeRequested {
        validation_code,
        token,
    } = state
        .email_change
        .request(
            &user,
            auth_time,
            &params.email,
            params.current_password.as_ref(),
            &client,
        )
        .await?;
    Ok(envelope::success(
        json!({"validation_code": validation_code}),
        json!({}),
        Some(&token),
    ))
}
