//! `POST /api/reset_password_request` — `username_or_email`.

use super::{
    map_reset_request,
    params::{strings, Params},
};
use crate::{client::client_addr, HttpState};
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
    let [username_or_email] = match strings(&params, ["username_or_email"]) {
        Ok(v) => v,
        Err(bad) => return bad.response(),
    };
    let client = client_addr(&req, &state.settings.trusted_proxies);
    map_reset_request(state.reset.request(&username_or_email, &client).await)
}
