//! `POST /api/login` — `username`, `password`.

use super::{
    map_login,
    params::{strings, Params},
};
use crate::HttpState;
use accountd_app::unicat::LoginInput;
use actix_web::{web, HttpRequest, HttpResponse};

pub(crate) async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<HttpState>,
) -> HttpResponse {
    let params = match Params::read(&req, payload, state.settings.max_body_bytes).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let [username, password] = match strings(&params, ["username", "password"]) {
        Ok(v) => v,
        Err(bad) => return bad.response(),
    };
    let result = state
        .sessions
        .login(LoginInput { username, password })
        .await;
    map_login(&state, result)
}
