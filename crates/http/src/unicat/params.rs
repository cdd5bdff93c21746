//! Request parameters of the Unicat family: a JSON object body (or a form),
//! read under the size cap; the first offending parameter, in the order the
//! handler asks for them, gives the 400.

use super::envelope;
use crate::body::{read_object, BodyError};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

/// A parsed body (it may hold passwords and codes: `Debug` shows the keys only).
pub(crate) struct Params(Map<String, Value>);

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Params")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Params {
    /// Reads the body: 413 over the cap, 400 `malformed_body` for anything
    /// that is not a JSON object (an empty body is `{}`).
    pub(crate) async fn read(
        req: &HttpRequest,
        payload: web::Payload,
        limit: usize,
    ) -> Result<Self, HttpResponse> {
        match read_object(req, payload, limit).await {
            Ok(map) => Ok(Self(map)),
            Err(BodyError::TooLarge) => Err(envelope::payload_too_large()),
            Err(BodyError::Malformed) => Err(envelope::bad_request("body", "malformed_body")),
        }
    }

    /// A required string: `missing` when absent or null, `invalid_type`
    /// when not a string.
    pub(crate) fn string(&self, name: &'static str) -> Result<String, BadParam> {
        match self.0.get(name) {
            None | Some(Value::Null) => Err(BadParam {
                name,
                reason: "missing",
            }),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(BadParam {
                name,
                reason: "invalid_type",
            }),
        }
    }
}

/// The first offending parameter and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadParam {
    pub name: &'static str,
    pub reason: &'static str,
}

impl BadParam {
    /// The 400 answer.
    pub(crate) fn response(self) -> HttpResponse {
        envelope::bad_request(self.name, self.reason)
    }
}

/// Reads several required strings in order; the first failure answers.
pub(crate) fn strings<const N: usize>(
    p: &Params,
    names: [&'static str; N],
) -> Result<[String; N], BadParam> {
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = p.string(name)?;
    }
    Ok(out)
}
