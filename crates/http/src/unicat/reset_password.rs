//! `POST /api/reset_password` — `username`, `new_password`,
//! `validation_code`, `verification_code`.

use super::{
    map_reset,
    params::{strings, Params},
};
use crate::HttpState;
use accountd_app::unicat::ResetInput;
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
        "new_password",
        "validation_code",
        "verification_code",
    ];
    let [username, new_password, validation_code, verification_code] =
        match strings(&params, fields) {
            Ok(v) => v,
            Err(bad) => return bad.response(),
        };
    let result = state
        .reset
        .complete(ResetInput {
            username,
            new_password,
            validation_code,
            verification_code,
        })
        .await;
    map_reset(&state, result)
}
