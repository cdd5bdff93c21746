//! `POST /api/signup` — `username`, `password`, `email`, `validation_code`,
//! `verification_code`.

use super::{
    map_signup,
    params::{strings, Params},
};
use crate::HttpState;
use accountd_app::unicat::SignupInput;
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
    let [username, password, email, validation_code, verification_code] =
        match strings(&params, fields) {
            Ok(v) => v,
            Err(bad) => return bad.response(),
        };
    let result = state
        .signup
        .complete(SignupInput {
            username,
            password,
            email,
            validation_code,
            verification_code,
        })
        .await;
    map_signup(&state, result)
}
