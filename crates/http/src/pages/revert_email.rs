//! `GET /account/revert-email?token=…`: the page the email-change notice
//! links to, with one button; `POST /account/revert-email` (form-encoded,
//! field `token`): the revert itself, answering a page.
//!
//! A GET changes nothing (a link scanner opening the mail's link does not
//! revert): only the form's POST does.

use super::{escape, page};
use crate::body::{self, BodyError};
use crate::failure::{triage, FailureAnswer};
use crate::HttpState;
use accountd_app::unicat::RevertEmailError;
use accountd_app::Failure;
use actix_web::http::{header, StatusCode};
use actix_web::{dev, web, FromRequest, HttpRequest, HttpResponse};
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;

const INCOMPLETE: &str = "<p>This link is incomplete. Open the link from the email again, \
                          exactly as it was sent.</p>";

/// The page with the button; the token only travels on in the form.
#[utoipa::path(
    get,
    path = "/account/revert-email",
    tag = "pages",
    params(("token" = Option<String>, Query, description = "The token of the email-change notice.")),
    responses(
        (status = 200, description = "The page with the button.", content_type = "text/html", body = String),
        (status = 400, description = "The link is incomplete.", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn show(req: HttpRequest) -> HttpResponse {
    let token = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.0.into_iter().find(|(k, _)| k == "token").map(|(_, v)| v))
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return page(StatusCode::BAD_REQUEST, "Undo the email change", INCOMPLETE);
    };
    let body = format!(
        "<p>The email address of your account was changed. If you did not do this, \
         undo the change: your previous address becomes the account's address again \
         and every session is signed out.</p>\n\
         <form method=\"post\">\n\
         <input type=\"hidden\" name=\"token\" value=\"{}\">\n\
         <button type=\"submit\">Undo the change</button>\n\
         </form>",
        escape(&token)
    );
    page(StatusCode::OK, "Undo the email change", &body)
}

/// The body of the form, read under the configured cap.
pub(crate) struct Form(pub(super) Result<Result<Map<String, Value>, BodyError>, Failure>);

impl FromRequest for Form {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let body = body::take(req, payload);
        Box::pin(async move { Ok(Self(body.await)) })
    }
}

/// Reverts with the form's `token` and says how that went.
#[utoipa::path(
    post,
    path = "/account/revert-email",
    tag = "pages",
    request_body(content = super::openapi::RevertForm, content_type = "application/x-www-form-urlencoded"),
    responses(super::openapi::Page)
)]
pub(crate) async fn submit(state: web::Data<HttpState>, Form(body): Form) -> HttpResponse {
    let fields = match body {
        Ok(Ok(fields)) => fields,
        Ok(Err(BodyError::TimedOut)) => {
            return page(
                StatusCode::REQUEST_TIMEOUT,
                "Undo the email change",
                "<p>The request took too long to arrive.</p>",
            )
        }
        Ok(Err(BodyError::TooLarge)) => {
            return page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Undo the email change",
                "<p>The request is too large.</p>",
            )
        }
        Ok(Err(BodyError::Malformed | BodyError::Nul(_))) => {
            return page(StatusCode::BAD_REQUEST, "Undo the email change", INCOMPLETE)
        }
        Err(f) => return failed(&f),
    };
    let Some(token) = fields
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return page(StatusCode::BAD_REQUEST, "Undo the email change", INCOMPLETE);
    };
    match state.email_change.revert(token).await {
        Ok(()) => page(
            StatusCode::OK,
            "The email change was undone",
            "<p>Your previous address is the account's address again, and every session \
             was signed out. If someone else changed it, they may know your password: \
             choose a new one now with \"Forgot password\" at sign-in.</p>",
        ),
        Err(RevertEmailError::Unusable) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "This link is no longer valid",
            "<p>The link was already used, has expired, or belongs to an account that \
             no longer exists. Nothing was changed.</p>",
        ),
        Err(RevertEmailError::Failure(f)) => failed(&f),
    }
}

pub(super) fn failed(f: &Failure) -> HttpResponse {
    let (status, retry_after_seconds) = match triage(f) {
        FailureAnswer::ServiceUnavailable {
            retry_after_seconds,
        } => (StatusCode::SERVICE_UNAVAILABLE, retry_after_seconds),
        FailureAnswer::TooManyRequests {
            retry_after_seconds,
        } => (StatusCode::TOO_MANY_REQUESTS, retry_after_seconds),
        FailureAnswer::Internal => {
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "<p>Nothing was changed. Please try again later.</p>",
            )
        }
    };
    let mut r = page(
        status,
        "Please try again",
        "<p>The service is busy. Nothing was changed; try again in a moment.</p>",
    );
    r.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from(retry_after_seconds.max(1)),
    );
    r
}
