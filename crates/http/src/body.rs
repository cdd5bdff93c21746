//! Reading a request body as a JSON object or a form, under the size cap.
//!
//! This is the one place every text input of both families passes, so it
//! is where U+0000 is caught: PostgreSQL refuses NUL in text (and in
//! `jsonb`), so a NUL that reached a query would be a 500. A body holding
//! one anywhere (a value, a nested value or a key) comes back as
//! [`BodyError::Nul`], naming the top-level fields that hold it, and each
//! family words the refusal in its own envelope.

use accountd_app::Failure;
use actix_web::{dev, http::header, web, FromRequest, HttpRequest};
use serde_json::{Map, Value};
use std::future::Future;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Over the configured cap.
    TooLarge,
    /// Not JSON, JSON that is not an object, or an unreadable form.
    Malformed,
    /// Well formed, but holding U+0000 somewhere: never passed on.
    Nul(Nul),
    /// Not received whole within `HttpSettings::body_timeout` (a client
    /// that stalls, or announces more than it sends): 408, and the
    /// connection is closed.
    TimedOut,
}

/// A body that holds U+0000: the parsed object (for the family to name the
/// first offending parameter in its own order) and the top-level fields
/// that hold a NUL (in their value, nested or not, or in their key).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Nul {
    pub fields: Map<String, Value>,
    pub tainted: Vec<String>,
}

/// Keys only: the values may be passwords or codes.
impl std::fmt::Debug for Nul {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nul")
            .field("tainted", &self.tainted)
            .finish_non_exhaustive()
    }
}

/// Whether `v` holds U+0000 in any string or key, at any depth.
fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(holds_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// `map`, or [`BodyError::Nul`] when any of it holds U+0000.
fn refuse_nul(map: Map<String, Value>) -> Result<Map<String, Value>, BodyError> {
    let tainted: Vec<String> = map
        .iter()
        .filter(|(k, v)| k.contains('\0') || holds_nul(v))
        .map(|(k, _)| k.clone())
        .collect();
    if tainted.is_empty() {
        Ok(map)
    } else {
        Err(BodyError::Nul(Nul {
            fields: map,
            tainted,
        }))
    }
}

/// Takes the body of `req` (an extractor must, before it awaits anything)
/// and, when awaited, reads it under the configured cap
/// (`HttpSettings::max_body_bytes`) as [`read_object`] does, within the
/// configured time (`HttpSettings::body_timeout`, from the moment reading
/// starts; actix bounds only the time to receive the head).
pub(crate) fn take(
    req: &HttpRequest,
    payload: &mut dev::Payload,
) -> impl Future<Output = Result<Result<Map<String, Value>, BodyError>, Failure>> + 'static {
    let req = req.clone();
    let payload = web::Payload::from_request(&req, payload);
    async move {
        let settings = crate::state_of(&req)?.settings.clone();
        Ok(match payload.await {
            Ok(payload) => actix_web::rt::time::timeout(
                settings.body_timeout,
                read_object(&req, payload, settings.max_body_bytes),
            )
            .await
            .unwrap_or(Err(BodyError::TimedOut)),
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
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    parse_bytes(&bytes, is_form)
}

/// Parses a whole body (under the cap): a form when `is_form`, JSON
/// otherwise; an empty or all-blank body is an empty object. The one
/// parser of both families, also fed arbitrary bytes by the fuzz targets.
pub(crate) fn parse_bytes(bytes: &[u8], is_form: bool) -> Result<Map<String, Value>, BodyError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if is_form {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(bytes).map_err(|_| BodyError::Malformed)?;
        refuse_nul(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    } else {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => refuse_nul(map),
            _ => Err(BodyError::Malformed),
        }
    }
}
