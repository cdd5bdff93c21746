//! Every Unicat route's reading of a body, for `crate::fuzzing`.

use super::params::{self, Body, FromFields};
use super::{
    decline_invite, members_get, members_invite, members_resend_invite, projects_get,
    reset_password_request, revert_email, update_email_request, username, users_get,
};
use crate::fuzzing::{refusal, Refusal};
use accountd_app::unicat::{
    DeleteInput, EmailChangeInput, LoginInput, ProjectInput, ResetInput, SignupInput,
    SignupRequestInput, TransferInput, UpdateInput, UpdateProjectInput,
};
use actix_web::ResponseError;

fn refused<T: FromFields>(route: &'static str, body: &Body) -> Option<Refusal> {
    params::parse::<T>(body.clone())
        .err()
        .map(|e| refusal(route, e.error_response()))
}

pub(crate) fn refusals(body: &Body) -> Vec<Refusal> {
    [
        refused::<SignupRequestInput>("signup_request", body),
        refused::<SignupInput>("signup", body),
        refused::<reset_password_request::UsernameOrEmail>("reset_password_request", body),
        refused::<ResetInput>("reset_password", body),
        refused::<LoginInput>("login", body),
        refused::<UpdateInput>("account_update", body),
        refused::<update_email_request::UpdateEmailRequest>("update_email_request", body),
        refused::<EmailChangeInput>("update_email", body),
        refused::<revert_email::RevertToken>("revert_email", body),
        refused::<DeleteInput>("account_delete", body),
        refused::<users_get::UserParam>("users_get", body),
        refused::<username::UsernameParam>("username", body),
        refused::<ProjectInput>("projects_create", body),
        refused::<projects_get::ProjectParam>("projects_get", body),
        refused::<UpdateProjectInput>("projects_update", body),
        refused::<TransferInput>("projects_transfer", body),
        refused::<members_get::ProjectMember>("members_get", body),
        refused::<members_get::Wanted>("members_get_wanted", body),
        refused::<members_invite::UsernameOrEmail>("members_invite", body),
        refused::<members_resend_invite::MemberParam>("members_resend_invite", body),
        refused::<decline_invite::LinkParams>("decline_invite", body),
    ]
    .into_iter()
    .flatten()
    .collect()
}
