//! The Unicat route family (`/api/...`): one thin handler per route, which
//! extracts its parameters ([`params::Params`]) or its caller and parameters
//! ([`auth::Caller`]), calls the service and answers; refusals are one
//! [`UnicatError`] (`error.rs`, with the one exhaustive mapping per use
//! case), whose envelope `envelope.rs` builds.

mod account_accept_invite;
mod account_decline_invite;
mod account_delete;
mod account_leave_project;
mod account_update;
mod auth;
mod decline_invite;
mod envelope;
mod error;
pub(crate) mod fuzzing;
mod init;
mod init_invite;
mod login;
mod members_get;
mod members_invite;
mod members_remove;
mod members_resend_invite;
pub(crate) mod openapi;
mod params;
mod payload;
mod ping;
mod projects_create;
mod projects_delete;
mod projects_get;
mod projects_permanent_delete;
mod projects_transfer;
mod projects_update;
mod reset_password;
mod reset_password_request;
mod revert_email;
mod signup;
mod signup_request;
mod update_email;
mod update_email_request;
mod username;
mod users_get;

use crate::HttpState;
use accountd_app::unicat::Session;
use actix_web::{web, HttpResponse};

pub(crate) use error::UnicatError;

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
            .route("/init", web::get().to(init::handle))
            .route("/ping", web::get().to(ping::handle))
            .route("/ping", web::post().to(ping::handle))
            .route("/account/delete", web::post().to(account_delete::handle))
            .route(
                "/account/update_email_request",
                web::post().to(update_email_request::handle),
            )
            .route(
                "/account/update_email",
                web::post().to(update_email::handle),
            )
            .route(
                "/account/revert_email",
                web::post().to(revert_email::handle),
            )
            .route("/account/update", web::post().to(account_update::handle))
            .route("/users/get", web::post().to(users_get::handle))
            .route("/username", web::post().to(username::handle))
            .route("/projects/create", web::post().to(projects_create::handle))
            .route("/projects/get", web::post().to(projects_get::handle))
            .route("/projects/update", web::post().to(projects_update::handle))
            .route("/projects/delete", web::post().to(projects_delete::delete))
            .route(
                "/projects/undelete",
                web::post().to(projects_delete::undelete),
            )
            .route(
                "/projects/permanent_delete",
                web::post().to(projects_permanent_delete::handle),
            )
            .route(
                "/projects/transfer",
                web::post().to(projects_transfer::handle),
            )
            .route(
                "/account/accept_invite",
                web::post().to(account_accept_invite::handle),
            )
            .route(
                "/account/decline_invite",
                web::post().to(account_decline_invite::handle),
            )
            .route(
                "/account/leave_project",
                web::post().to(account_leave_project::handle),
            )
            .route("/decline_invite", web::post().to(decline_invite::handle))
            .route("/init_invite", web::post().to(init_invite::handle))
            .route("/members/get", web::post().to(members_get::handle))
            .route(
                "/p/{project}/members/get",
                web::post().to(members_get::handle_in_project),
            )
            .route(
                "/p/{project}/members/invite",
                web::post().to(members_invite::handle),
            )
            .route(
                "/p/{project}/members/resend_invite",
                web::post().to(members_resend_invite::handle),
            )
            .route(
                "/p/{project}/members/remove",
                web::post().to(members_remove::handle),
            ),
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

#[cfg(test)]
mod tests;
