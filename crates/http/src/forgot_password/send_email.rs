//! `POST /api/auth/forgotPassword/sendEmail` — body: `username`.

use super::{map_send_email, parse, Field};
use crate::{client::client_addr, HttpState};
use actix_web::{web, HttpRequest, HttpResponse};

pub(crate) async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<HttpState>,
) -> HttpResponse {
    let valid = match parse(&req, payload, &state, &[Field::Username]).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let client = client_addr(&req, &state.settings.trusted_proxies);
    map_send_email(
        state
            .forgot_password
            .send_email(&valid.username, &client)
            .await,
    )
}
