//! `GET /api/init` (JWT) — the session payload with a fresh token.

use super::auth::Caller;
use super::{session, UnicatError};
use crate::HttpState;
use actix_web::{web, HttpResponse};

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
