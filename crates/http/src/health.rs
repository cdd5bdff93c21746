//! `/health/live` and `/health/ready`.

use crate::HttpState;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health/live", web::get().to(live))
        .route("/health/ready", web::get().to(ready));
}

/// The body of both health routes (documentation only: the handlers
/// answer `json!` literals).
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct HealthStatus {
    status: HealthState,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum HealthState {
    Ok,
    Unavailable,
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "operations",
    responses((status = 200, description = "Alive.", body = HealthStatus,
        example = json!({"status": "ok"})))
)]
pub(crate) async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the storage answers.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "operations",
    responses(
        (status = 200, description = "Ready.", body = HealthStatus,
            example = json!({"status": "ok"})),
        (status = 503, description = "The storage does not answer.", body = HealthStatus,
            headers(("Retry-After" = u32, description = "Seconds to wait before asking again.")),
            example = json!({"status": "unavailable"})),
    )
)]
pub(crate) async fn ready(state: web::Data<HttpState>) -> HttpResponse {
    match state.health.ready().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ok"})),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .insert_header(("Retry-After", "5"))
                .json(json!({"status": "unavailable"}))
        }
    }
}
