//! The Unicat route family. So far: its error envelope, used for unknown
//! routes (404).

use actix_web::{http::StatusCode, HttpResponse};
use serde_json::{json, Map, Value};

/// The Unicat error envelope:
/// `{"success": false, "result": {"code", "message", "info"}, "data": {}}`.
pub(crate) fn error(
    status: StatusCode,
    code: u16,
    message: &str,
    info: Map<String, Value>,
) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "success": false,
        "result": {"code": code, "message": message, "info": info},
        "data": {},
    }))
}

/// Any route that does not exist: 404 in the Unicat envelope.
pub(crate) async fn not_found() -> HttpResponse {
    error(StatusCode::NOT_FOUND, 404, "Not found", Map::new())
}
