//! `POST /api/account/revert_email` (no JWT; accountd extension) — `token`
//! from the email-change notice.

use super::params::{BadParam, Fields, FromFields, Params};
use super::{envelope, UnicatError};
use crate::HttpState;
use accountd_app::Secret;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// The one parameter.
#[derive(Debug)]
pub(crate) struct RevertToken(Secret);

impl FromFields for RevertToken {
    fn from_fields(f: &Fields) -> Result<Self, BadParam> {
        Ok(Self(f.string("token")?.into()))
    }
}

#[utoipa::path(
    post,
    path = "/api/account/revert_email",
    tag = "unicat",
    description = "`POST /api/account/revert_email` (no JWT; accountd extension) — `token` from the email-change notice.",
    request_body = super::openapi::TokenBody,
    responses(
        (status = 200, description = "Done.", body = super::openapi::Done),
        (status = 422, response = super::openapi::Unprocessable),
        super::openapi::Public,
    )
)]
pub(crate) async fn handle(
    state: web::Data<HttpState>,
    Params(RevertToken(token)): Params<RevertToken>,
) -> Result<HttpResponse, UnicatError> {
    state.email_change.revert(token.expose()).await?;
    Ok(envelope::success(json!({}), json!({}), None))
}
