//! `Authorization: Bearer <JWT>` on authenticated calls.

use super::params::{self, FromFields};
use super::UnicatError;
use crate::HttpState;
use accountd_app::unicat::Authenticated;
use accountd_domain::{Timestamp, User};
use actix_web::{dev, http::header::AUTHORIZATION, FromRequest, HttpRequest};
use std::future::Future;
use std::pin::Pin;

/// The authenticated caller of a route, and the route's parameters `P`
/// (none by default). Refusals come in the spec's order: 413 for a body
/// over the cap (408 for one that did not arrive in time), then 401 (with `WWW-Authenticate`) for a missing or
/// doubled (two `Authorization` headers: ambiguous),
/// malformed, expired, revoked or badly signed token, then 400 for the
/// parameters.
#[derive(Debug)]
pub(crate) struct Caller<P = ()> {
    /// The active user the token belongs to.
    pub user: User,
    /// The token's `auth_time` (copied into the renewed token).
    pub auth_time: Option<Timestamp>,
    /// The route's parameters.
    pub params: P,
}

impl<P: FromFields> FromRequest for Caller<P> {
    type Error = UnicatError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, UnicatError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let req = req.clone();
        let body = params::take::<P>(&req, payload);
        Box::pin(async move {
            let state = crate::state_of(&req)?;
            let body = body.await?;
            match body {
                Err(crate::body::BodyError::TooLarge) => return Err(UnicatError::PayloadTooLarge),
                Err(crate::body::BodyError::TimedOut) => return Err(UnicatError::RequestTimeout),
                _ => {}
            }
            let Authenticated { user, auth_time } = authenticate(&req, &state).await?;
            let params = params::parse(body)?;
            Ok(Self {
                user,
                auth_time,
                params,
            })
        })
    }
}

async fn authenticate(req: &HttpRequest, state: &HttpState) -> Result<Authenticated, UnicatError> {
    // Two `Authorization` headers are ambiguous credentials: refused, never
    // the first (or the last) believed, whatever either holds.
    let mut headers = req.headers().get_all(AUTHORIZATION);
    let token = match (headers.next(), headers.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
    .and_then(|v| v.to_str().ok())
    .and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    })
    .filter(|t| !t.is_empty())
    .ok_or(UnicatError::PermissionDenied)?;
    Ok(state.sessions.authenticate(token).await?)
}
