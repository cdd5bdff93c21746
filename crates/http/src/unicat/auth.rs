//! `Authorization: Bearer <JWT>` on authenticated calls.

use super::envelope;
use crate::HttpState;
use accountd_app::unicat::AuthError;
use accountd_domain::User;
use actix_web::{http::header::AUTHORIZATION, HttpRequest, HttpResponse};

/// The caller, or the answer to send instead (401, 503 or 500).
pub(crate) async fn caller(req: &HttpRequest, state: &HttpState) -> Result<User, HttpResponse> {
    let token = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(envelope::permission_denied());
    };
    match state.sessions.authenticate(token).await {
        Ok(user) => Ok(user),
        Err(AuthError::Denied) => Err(envelope::permission_denied()),
        Err(AuthError::Failure(f)) => Err(envelope::failure(&f)),
    }
}
