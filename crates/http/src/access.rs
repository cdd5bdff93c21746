//! Request ids and the access log: one middleware around the whole app.
//!
//! Every request gets an id: the client's `X-Request-Id` when it is 1 to 64
//! visible ASCII characters (0x21 to 0x7E), else a fresh UUID v4. The id is
//! echoed in the response's `X-Request-Id` (errors, 404, 413 and the HTML
//! pages included) and is a field of the `request` span that wraps the
//! handler, so every log line of the request carries it. When the response
//! is ready, one `info` event on the [`ACCESS_TARGET`] target records the
//! method, the route pattern (never the raw path: no gids, no query string),
//! the status, the duration, the id and the client address after trusted
//! proxies. Nothing else of the request is logged: no query string, body,
//! token or `Authorization` header.
//!
//! Tracing's actix middleware (`tracing-actix-web`) was weighed: its request
//! id is always generated (an incoming one is ignored), its client address
//! believes `Forwarded` from anyone, and it writes no line per request, so
//! these few lines are ours.

use crate::client::client_addr;
use crate::HttpState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error};
use std::time::Instant;
use tracing::Instrument;

/// The request id header, read from the request and set on every response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The tracing target of the access log: `ACCOUNTD_LOG=info,accountd::access=off`
/// switches it off.
pub const ACCESS_TARGET: &str = "accountd::access";

/// The route of a request no route matched (never its raw path).
const UNMATCHED: &str = "unmatched";

/// The longest request id kept.
const MAX_ID_LEN: usize = 64;

/// The incoming id when it is 1 to 64 visible ASCII characters.
fn kept(value: Option<&HeaderValue>) -> Option<HeaderValue> {
    let value = value?;
    let bytes = value.as_bytes();
    let visible = bytes.iter().all(|b| (0x21..=0x7e).contains(b));
    ((1..=MAX_ID_LEN).contains(&bytes.len()) && visible).then(|| value.clone())
}

/// A fresh id: a hyphenated UUID v4 (36 visible ASCII characters).
fn generated() -> HeaderValue {
    HeaderValue::try_from(uuid::Uuid::new_v4().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// The middleware; `App::new().wrap(actix_web::middleware::from_fn(access_log))`.
/// It reads the trusted proxies from the [`HttpState`] that
/// [`crate::configure`] registers (none when there is none).
pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = kept(req.headers().get(REQUEST_ID)).unwrap_or_else(generated);
    // Only visible ASCII is ever kept or generated.
    let id_text = id.to_str().unwrap_or("unknown").to_owned();
    let client = match req.app_data::<web::Data<HttpState>>() {
        Some(state) => client_addr(req.request(), &state.settings.trusted_proxies),
        None => client_addr(req.request(), &[]),
    };
    let method = req.method().clone();
    let span = tracing::info_span!(target: "accountd::request", "request", request_id = %id_text);
    // Every audit event of the request records this address.
    let result = accountd_app::for_client(client.clone(), next.call(req))
        .instrument(span.clone())
        .await;
    let duration_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
    let line = |route: &str, status: u16| {
        span.in_scope(|| {
            tracing::info!(
                target: ACCESS_TARGET,
                method = %method,
                route = %route,
                status,
                duration_ms,
                request_id = %id_text,
                client_addr = %client,
                "request"
            );
        });
    };
    match result {
        Ok(mut res) => {
            res.headers_mut().insert(REQUEST_ID, id);
            let route = res.request().match_pattern();
            line(route.as_deref().unwrap_or(UNMATCHED), res.status().as_u16());
            Ok(res)
        }
        // Handlers and extractors answer their errors themselves (actix turns
        // them into responses), so only an inner middleware could end here;
        // the request is gone, and actix answers the error without our header.
        Err(e) => {
            line(UNMATCHED, e.as_response_error().status_code().as_u16());
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests;
