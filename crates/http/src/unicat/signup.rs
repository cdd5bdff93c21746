//! `POST /api/signup` — `username`, `password`, `email`, `validation_code`,
//! `verification_code`.

use super::{
    map_signup,
    params::{strings, Params},
};
use crate::HttpState;
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
    let fields = [
        "username",
        "password",
        "email",
        "validation_code",
        "verification_code",
    ];
    let [username, password, email, validation, verification] = match strings(&params, fields) {
        Ok(v) => v,
        Err(bad) => return bad.response(),
    };
    let result = state
        .signup
        .complete(&username, &password, &email, &validation, &verification)
        .await;
    map_signup(&state, result)
}
