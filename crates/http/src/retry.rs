//! `Retry-After`, which every 429 and 503 of both families carries.

use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::HttpResponse;

/// `r` with `Retry-After: seconds` (at least 1).
pub(crate) fn with_retry_after(mut r: HttpResponse, seconds: i64) -> HttpResponse {
    if let Ok(v) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        r.headers_mut().insert(RETRY_AFTER, v);
    }
    r
}
