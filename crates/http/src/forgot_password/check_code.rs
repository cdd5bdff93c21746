//! `POST /api/auth/forgotPassword/checkCode` — body: `username`, `code`.

use super::{map_check_code, parse, Field};
use crate::HttpState;
use accountd_app::CheckCodeInput;
use actix_web::{web, HttpRequest, HttpResponse};

pub(crate) async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<HttpState>,
) -> HttpResponse {
    let valid = match parse(&req, payload, &state, &[Field::Code, Field::Username]).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    map_check_code(
        state
            .forgot_password
            .check_code(CheckCodeInput {
                username: valid.username,
                code: valid.code,
            })
            .await,
    )
}
