//! The Unicat route family (`/api/...`): envelopes in `envelope.rs`, one
//! thin handler per route, and below, one exhaustive mapping per use case
//! from its result to the family's envelope.

mod auth;
mod envelope;
mod init;
mod login;
mod params;
mod payload;
mod reset_password;
mod reset_password_request;
mod signup;
mod signup_request;

use crate::HttpState;
use accountd_app::unicat::{
    LoginError, ResetError, ResetRequestError, ResetRequested, Session, SignupError,
    SignupRequestError,
};
use actix_web::{web, HttpResponse};
use serde_json::json;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .route("/signup_request", web::post().to(signup_request::handle))
            .route("/signup", web::post().to(signup::handle))
            .route(
                "/reset_password_request",
                web::post().to(reset_password_request::handle),
            )
            .route("/reset_password", web::post().to(reset_password::handle))
            .route("/login", web::post().to(login::handle))
            .route("/init", web::get().to(init::handle)),
    );
}

/// Any route that does not exist: 404 in the Unicat envelope.
pub(crate) async fn not_found() -> HttpResponse {
    envelope::not_found()
}

/// The session payload with its fresh token.
fn session(state: &HttpState, s: &Session, with_version: bool) -> HttpResponse {
    let (result, data) = payload::session(state, s, with_version);
    envelope::success(result, data, Some(&s.token))
}

fn map_signup_request(r: Result<String, SignupRequestError>) -> HttpResponse {
    match r {
        Ok(code) => envelope::success(json!({"validation_code": code}), json!({}), None),
        Err(SignupRequestError::Invalid(i)) => envelope::validation(&i),
        Err(SignupRequestError::TooManyRequests(r)) => {
            envelope::too_many_requests(r.retry_after_seconds)
        }
        Err(SignupRequestError::Failure(f)) => envelope::failure(&f),
    }
}

fn map_signup(state: &HttpState, r: Result<Session, SignupError>) -> HttpResponse {
    match r {
        Ok(s) => session(state, &s, false),
        Err(SignupError::Invalid(i)) => envelope::validation(&i),
        Err(SignupError::Failure(f)) => envelope::failure(&f),
    }
}

fn map_reset_request(r: Result<ResetRequested, ResetRequestError>) -> HttpResponse {
    match r {
        Ok(ResetRequested {
            validation_code,
            usernames,
        }) => envelope::success(
            json!({"validation_code": validation_code, "usernames": usernames}),
            json!({}),
            None,
        ),
        Err(ResetRequestError::NotFound) => envelope::unprocessable(),
        Err(ResetRequestError::TooManyRequests(r)) => {
            envelope::too_many_requests(r.retry_after_seconds)
        }
        Err(ResetRequestError::Failure(f)) => envelope::failure(&f),
    }
}

fn map_reset(state: &HttpState, r: Result<Session, ResetError>) -> HttpResponse {
    match r {
        Ok(s) => session(state, &s, false),
        Err(ResetError::Invalid(i)) => envelope::validation(&i),
        Err(ResetError::Failure(f)) => envelope::failure(&f),
    }
}

fn map_login(state: &HttpState, r: Result<Session, LoginError>) -> HttpResponse {
    match r {
        Ok(s) => session(state, &s, true),
        Err(LoginError::UnknownUser) => envelope::unknown_user(),
        Err(LoginError::Locked {
            retry_after_seconds,
        }) => envelope::too_many_requests(retry_after_seconds),
        Err(LoginError::Failure(f)) => envelope::failure(&f),
    }
}

#[cfg(test)]
mod tests;
