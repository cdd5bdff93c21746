//! `GET or POST /api/ping` (no JWT) — answers that the server is up, with
//! its version. Any body and any `Authorization` header are ignored; no
//! port is called.

use super::envelope;
use crate::HttpState;
use actix_web::{web, HttpResponse};
use serde_json::json;

#[utoipa::path(
    method(get, post),
    path = "/api/ping",
    tag = "unicat",
    description = "`GET or POST /api/ping` (no JWT) — answers that the server is up, with its version. Any body and any `Authorization` header are ignored; no port is called.",
    responses((status = 200, description = "Up, with the server version.", body = super::openapi::Pinged))
)]
pub(crate) async fn handle(state: web::Data<HttpState>) -> HttpResponse {
    envelope::success(
        json!({"pong": true, "cc.version": state.unicat.version}),
        json!({}),
        None,
    )
}
