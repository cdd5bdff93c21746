//! Request parameters of the Unicat family: a JSON object body (or a form),
//! read under the size cap; each route's parameters are taken from it in
//! the order the spec lists them, and the first offending one gives the
//! 400. [`Params`] extracts them for a route without a token; [`Caller`]
//! (in `auth.rs`) for one with.
//!
//! [`Caller`]: super::auth::Caller

use super::UnicatError;
use crate::body::{self, BodyError};
use accountd_app::Failure;
use actix_web::{dev, FromRequest, HttpRequest};
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;

/// A parsed body (it may hold passwords and codes: `Debug` shows the keys
/// only), and the top-level fields that hold U+0000 (see `crate::body`).
pub(crate) struct Fields(Map<String, Value>, Vec<String>);

impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Fields")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Fields {
    /// `invalid_value` when the field holds U+0000.
    fn refuse_nul(&self, name: &'static str) -> Result<(), BadParam> {
        if self.1.iter().any(|t| t == name) {
            Err(BadParam {
                name,
                reason: "invalid_value",
            })
        } else {
            Ok(())
        }
    }

    /// A required string: `missing` when absent or null, `invalid_type`
    /// when not a string, `invalid_value` when it holds U+0000.
    pub(crate) fn string(&self, name: &'static str) -> Result<String, BadParam> {
        self.refuse_nul(name)?;
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

impl Fields {
    /// An optional string: `None` when absent or null, `invalid_type` when
    /// not a string, `invalid_value` when it holds U+0000.
    pub(crate) fn optional_string(&self, name: &'static str) -> Result<Option<String>, BadParam> {
        self.refuse_nul(name)?;
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(BadParam {
                name,
                reason: "invalid_type",
            }),
        }
    }

    /// A required gid: read as [`Fields::string`], then `parse`d (a
    /// domain id's `parse`); a string that is not a UUID is
    /// `invalid_value` (spec 2.1).
    pub(crate) fn gid<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, BadParam> {
        parse(&self.string(name)?).ok_or(BadParam {
            name,
            reason: "invalid_value",
        })
    }

    /// The raw value of a field, if present (for the few routes whose
    /// parameters are not strings).
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
}

/// The first offending parameter and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadParam {
    pub name: &'static str,
    pub reason: &'static str,
}

/// A route's parameters, taken from the body in the order the spec lists
/// them (read each with [`Fields::string`] and `?`, in that order).
pub(crate) trait FromFields: Sized + 'static {
    /// Whether the route reads a body at all.
    const READS_BODY: bool = true;

    /// The parameters, or the first offending one.
    fn from_fields(fields: &Fields) -> Result<Self, BadParam>;
}

/// No parameters: the body is not read.
impl FromFields for () {
    const READS_BODY: bool = false;

    fn from_fields(_: &Fields) -> Result<Self, BadParam> {
        Ok(())
    }
}

/// The body as a route reads it; its errors answer in [`parse`].
pub(crate) type Body = Result<Map<String, Value>, BodyError>;

/// Takes the body (an extractor must, before it awaits anything), to be read
/// when awaited; a route with no parameters reads none.
pub(crate) fn take<T: FromFields>(
    req: &HttpRequest,
    payload: &mut dev::Payload,
) -> impl Future<Output = Result<Body, Failure>> + 'static {
    let body = T::READS_BODY.then(|| body::take(req, payload));
    async move {
        match body {
            Some(body) => body.await,
            None => Ok(Ok(Map::new())),
        }
    }
}

/// The parameters of a body: 413 over the cap, 408 when it did not arrive
/// in time, 400 `malformed_body` for
/// anything that is not a JSON object (an empty body is `{}`), 400 for the
/// first offending parameter. A body holding U+0000 is always refused: the
/// first offending parameter in the route's order (a field holding the NUL
/// is `invalid_value`), or, when the route would have taken the rest, 400
/// `invalid_value` on `body`.
pub(crate) fn parse<T: FromFields>(body: Body) -> Result<T, UnicatError> {
    match body {
        Ok(map) => Ok(T::from_fields(&Fields(map, Vec::new()))?),
        Err(BodyError::Nul(nul)) => {
            T::from_fields(&Fields(nul.fields, nul.tainted))?;
            Err(BadParam {
                name: "body",
                reason: "invalid_value",
            }
            .into())
        }
        Err(BodyError::TooLarge) => Err(UnicatError::PayloadTooLarge),
        Err(BodyError::TimedOut) => Err(UnicatError::RequestTimeout),
        Err(BodyError::Malformed) => Err(BadParam {
            name: "body",
            reason: "malformed_body",
        }
        .into()),
    }
}

/// The parameters of a route without a token.
#[derive(Debug)]
pub(crate) struct Params<T>(pub T);

impl<T: FromFields> FromRequest for Params<T> {
    type Error = UnicatError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, UnicatError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let body = take::<T>(req, payload);
        Box::pin(async move { parse(body.await?).map(Params) })
    }
}
