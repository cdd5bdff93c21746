//! `GET /api/init` (JWT) — the session payload with a fresh token.

use super::auth::Caller;
use super::{session, UnicatError};
use crate::HttpState;
use actix_web::{web, HttpResponse};

#[utoipa::path(
    get,
    path = "/api/init",
    tag = "unicat",
    description = "`GET /api/init` (JWT) — the session payload with a fresh token.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session payload.", body = super::openapi::LoginSession,
            headers(("Authorization" = String, description = "A fresh token (raw, no `Bearer `)."))),
        (status = 401, response = super::openapi::PermissionDenied),
        (status = 500, response = super::openapi::Internal),
        (status = 503, response = super::openapi::Unavailable),
    )
)]
pub(crate) async fn handle(
    Caller {
        user,
        auth_time,
        params: (),
    }: Caller,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let s = state.sessions.open(user, auth_time).await?;
    Ok(session(&state, &s, true))
}
