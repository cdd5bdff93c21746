//! Reading a request body as a JSON object or a form, under the size cap.

use accountd_app::Failure;
use actix_web::{dev, http::header, web, FromRequest, HttpRequest};
use serde_json::{Map, Value};
use std::future::Future;

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Over the configured cap.
    TooLarge,
    /// Not JSON, JSON that is not an object, or an unreadable form.
    Malformed,
}

/// Takes the body of `req` (an extractor must, before it awaits anything)
/// and, when awaited, reads it under the configured cap
/// (`HttpSettings::max_body_bytes`) as [`read_object`] does.
pub(crate) fn take(
    req: &HttpRequest,
    payload: &mut dev::Payload,
) -> impl Future<Output = Result<Result<Map<String, Value>, BodyError>, Failure>> + 'static {
    let req = req.clone();
    let payload = web::Payload::from_request(&req, payload);
    async move {
        let limit = crate::state_of(&req)?.settings.max_body_bytes;
        Ok(match payload.await {
            Ok(payload) => read_object(&req, payload, limit).await,
            // Taking the payload cannot fail.
            Err(_) => Err(BodyError::Malformed),
        })
    }
}

/// Reads the body under `limit` bytes and parses it: a form when the
/// content type says `application/x-www-form-urlencoded`, JSON otherwise.
/// An empty body is an empty object. Unknown fields are kept (and ignored
/// by the callers).
async fn read_object(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Map<String, Value>, BodyError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let bytes = match payload.to_bytes_limited(limit).await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return Err(BodyError::Malformed),
        Err(_) => return Err(BodyError::TooLarge),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if is_form {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| BodyError::Malformed)?;
        Ok(pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect())
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(BodyError::Malformed),
        }
    }
}
