//! `POST /api/signup_request` — `username`, `password`, `email`.

use super::{
    map_signup_request,
    params::{strings, Params},
};
use crate::{client::client_addr, HttpState};
use accountd_app::unicat::SignupRequestInput;
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
    let [username, password, email] = match strings(&params, ["username", "password", "email"]) {
        Ok(v) => v,
        Err(bad) => return bad.response(),
    };
    let client = client_addr(&req, &state.settings.trusted_proxies);
    map_signup_request(
        state
            .signup
            .request(
                SignupRequestInput {
                    username,
                    password,
                    email,
                },
                &client,
            )
            .await,
    )
}
