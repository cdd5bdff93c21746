//! Limits on a request's head (its target and header fields), answered in
//! the family's envelope: 431 with the forgotPassword body under
//! `/api/auth/forgotPassword/`, the Unicat envelope everywhere else (as the
//! 404 of an unknown route), and the connection closed.
//!
//! actix-http refuses a head over 128 KiB or with more than 96 header
//! fields itself, in its codec, before any application code runs, with a
//! bare 431 and no body; neither number can be configured. These limits
//! sit well below both, so every oversized head a client can send short of
//! those gets the envelope; only a head past actix-http's own limits still
//! gets its bare 431.

use crate::forgot_password::ForgotPasswordError;
use crate::unicat::UnicatError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, ResponseError};

/// The most bytes of a request's target and header fields together (each
/// field counted as `name: value` with its line end).
pub const MAX_HEAD_BYTES: usize = 32 * 1024;

/// The most header fields (lines) of a request.
pub const MAX_HEADER_FIELDS: usize = 64;

/// Whether the head of `req` is over [`MAX_HEAD_BYTES`] or
/// [`MAX_HEADER_FIELDS`].
fn over_limits(req: &HttpRequest) -> bool {
    let mut fields = 0usize;
    let mut bytes = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    for (name, value) in req.headers() {
        fields += 1;
        bytes += name.as_str().len() + value.len() + 4;
        if fields > MAX_HEADER_FIELDS || bytes > MAX_HEAD_BYTES {
            return true;
        }
    }
    bytes > MAX_HEAD_BYTES
}

/// The middleware; `App::new().wrap(actix_web::middleware::from_fn(head_limits))`,
/// inside the access log so that the refusal gets its request id and line.
pub async fn head_limits(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if over_limits(req.request()) {
        let refusal = if req.path().starts_with("/api/auth/forgotPassword/") {
            ForgotPasswordError::HeaderFieldsTooLarge.error_response()
        } else {
            UnicatError::HeaderFieldsTooLarge.error_response()
        };
        return Ok(req.into_response(refusal).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
