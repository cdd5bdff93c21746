//! `POST /api/auth/forgotPassword/resetPassword` — body: `username`, `code`,
//! `new_password`.

use super::{map_reset_password, parse, Field};
use crate::HttpState;
use accountd_app::ResetPasswordInput;
use actix_web::{web, HttpRequest, HttpResponse};

pub(crate) async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<HttpState>,
) -> HttpResponse {
    let fields = [Field::Code, Field::Username, Field::NewPassword];
    let valid = match parse(&req, payload, &state, &fields).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    map_reset_password(
        state
            .forgot_password
            .reset_password(ResetPasswordInput {
                username: valid.username,
                code: valid.code,
                new_password: valid.new_password,
            })
            .await,
    )
}
