//! `GET /api/init` (JWT) — the session payload with a fresh token.

use super::{auth::caller, envelope, session};
use crate::HttpState;
use actix_web::{web, HttpRequest, HttpResponse};

pub(crate) async fn handle(req: HttpRequest, state: web::Data<HttpState>) -> HttpResponse {
    let user = match caller(&req, &state).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match state.sessions.open(user).await {
        Ok(s) => session(&state, &s, true),
        Err(f) => envelope::failure(&f),
    }
}
