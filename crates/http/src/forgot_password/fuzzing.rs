//! Every forgotPassword route's reading of a body, for `crate::fuzzing`.

use super::{send_email, validation, FromValid};
use crate::body::BodyError;
use crate::fuzzing::{refusal, Refusal};
use actix_web::ResponseError;
use serde_json::{Map, Value};

type Body = Result<Map<String, Value>, BodyError>;

fn refused<T: FromValid>(route: &'static str, body: &Body) -> Option<Refusal> {
    validation::from_body::<T>(body.clone())
        .err()
        .map(|e| refusal(route, e.error_response()))
}

pub(crate) fn refusals(body: &Body) -> Vec<Refusal> {
    [
        refused::<send_email::Username>("send_email", body),
        refused::<accountd_app::CheckCodeInput>("check_code", body),
        refused::<accountd_app::ResetPasswordInput>("reset_password", body),
    ]
    .into_iter()
    .flatten()
    .collect()
}
