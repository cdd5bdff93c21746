//! `GET /api/init` (JWT) — the session payload with a fresh token.

use super::auth::Caller;
use super::{session, UnicatError};
use crate::HttpState;
use actix_web::{web, HttpResponse};

pub(crate) async fn handle(
    Caller { user, params: () }: Caller,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, UnicatError> {
    let s = state.sessions.open(user).await?;
    Ok(session(&state, &s, true))
}
