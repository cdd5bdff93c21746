//! `GET /invite/decline?invitee=…&project=…&token=…`: the page the
//! invitation mail's decline link opens, naming the project and the
//! inviter, with one button; its form posts (form-encoded) to the same
//! URL, which declines the invitation (as `POST /api/decline_invite`) and
//! answers a page saying so.
//!
//! A GET changes nothing (a link scanner opening the mail's link declines
//! nothing): it only reads the invitation, and shows the page only for the
//! latest, unexpired link.

use super::revert_email::{failed, Form};
use super::{escape, page};
use crate::body::BodyError;
use crate::HttpState;
use accountd_app::unicat::{InvitationError, InvitationLink};
use accountd_domain::{ProjectId, User, UserId};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

const TITLE: &str = "Decline the invitation";

const INCOMPLETE: &str = "<p>This link is incomplete. Open the link from the email again, \
                          exactly as it was sent.</p>";

const NO_LONGER_VALID: &str = "<p>This invitation link is no longer valid: the invitation \
                               was declined, accepted, withdrawn or sent again with a newer \
                               link, or it has expired. Nothing was changed.</p>";

/// The link's three values, read from `get` (the query, or the form with
/// the query as fallback); `None` when one is missing, empty or not a gid.
fn link_of(get: impl Fn(&str) -> Option<String>) -> Option<InvitationLink> {
    let value = |name: &str| get(name).filter(|v| !v.is_empty());
    Some(InvitationLink {
        invitee: UserId::parse(&value("invitee")?)?,
        project: ProjectId::parse(&value("project")?)?,
        token: value("token")?.into(),
    })
}

fn query_of(req: &HttpRequest) -> Vec<(String, String)> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

fn lookup(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// "Name (username)", or the username alone.
fn who(user: &User) -> String {
    match (user.name.trim(), user.username_str()) {
        ("", username) => username.to_owned(),
        (name, "") => name.to_owned(),
        (name, username) => format!("{name} ({username})"),
    }
}

/// A refusal as a page: never a 500 for a bad link.
fn refused(e: InvitationError) -> HttpResponse {
    match e {
        InvitationError::ProjectDeleted => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "This project was deleted",
            "<p>The project of this invitation was deleted, so there is nothing to \
             decline. Nothing was changed.</p>",
        ),
        InvitationError::NoRow
        | InvitationError::InviteDeclined
        | InvitationError::InviteExpired
        | InvitationError::OwnerCannotLeave => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "This link is no longer valid",
            NO_LONGER_VALID,
        ),
        InvitationError::Failure(f) => failed(&f),
    }
}

/// The page with the button; the link's values travel on in the form.
#[utoipa::path(
    get,
    path = "/invite/decline",
    tag = "pages",
    params(
        ("invitee" = Option<String>, Query, description = "The invitee's gid."),
        ("project" = Option<String>, Query, description = "The project's gid."),
        ("token" = Option<String>, Query, description = "The link's token."),
    ),
    responses(super::openapi::Page)
)]
pub(crate) async fn show(state: web::Data<HttpState>, req: HttpRequest) -> HttpResponse {
    let query = query_of(&req);
    let Some(link) = link_of(|name| lookup(&query, name)) else {
        return page(StatusCode::BAD_REQUEST, TITLE, INCOMPLETE);
    };
    let shown = match state.invitations.init_invite(&link).await {
        Ok(shown) => shown,
        Err(e) => return refused(e),
    };
    let invited = match &shown.inviter {
        Some(inviter) => format!(
            "<p><strong>{}</strong> invited you to the project <strong>{}</strong>.</p>",
            escape(&who(inviter)),
            escape(&shown.project.name)
        ),
        None => format!(
            "<p>You were invited to the project <strong>{}</strong>.</p>",
            escape(&shown.project.name)
        ),
    };
    let body = format!(
        "{invited}\n\
         <p>If you do not want to join, decline the invitation: the project's owner \
         will see that you declined. To join instead, sign in (or sign up with the \
         address the invitation was sent to) and accept it there.</p>\n\
         <form method=\"post\">\n\
         <input type=\"hidden\" name=\"invitee\" value=\"{}\">\n\
         <input type=\"hidden\" name=\"project\" value=\"{}\">\n\
         <input type=\"hidden\" name=\"token\" value=\"{}\">\n\
         <button type=\"submit\">Decline the invitation</button>\n\
         </form>",
        escape(&link.invitee.to_string()),
        escape(&link.project.to_string()),
        escape(link.token.expose()),
    );
    page(StatusCode::OK, TITLE, &body)
}

/// Declines with the form's values (the query's where the form has none)
/// and says how that went.
#[utoipa::path(
    post,
    path = "/invite/decline",
    tag = "pages",
    params(
        ("invitee" = Option<String>, Query, description = "The invitee's gid, when not in the form."),
        ("project" = Option<String>, Query, description = "The project's gid, when not in the form."),
        ("token" = Option<String>, Query, description = "The link's token, when not in the form."),
    ),
    request_body(content = super::openapi::DeclineForm, content_type = "application/x-www-form-urlencoded"),
    responses(super::openapi::Page)
)]
pub(crate) async fn submit(
    state: web::Data<HttpState>,
    req: HttpRequest,
    Form(body): Form,
) -> HttpResponse {
    let fields = match body {
        Ok(Ok(fields)) => fields,
        Ok(Err(BodyError::TimedOut)) => {
            return page(
                StatusCode::REQUEST_TIMEOUT,
                TITLE,
                "<p>The request took too long to arrive.</p>",
            )
        }
        Ok(Err(BodyError::TooLarge)) => {
            return page(
                StatusCode::PAYLOAD_TOO_LARGE,
                TITLE,
                "<p>The request is too large.</p>",
            )
        }
        Ok(Err(BodyError::Malformed | BodyError::Nul(_))) => {
            return page(StatusCode::BAD_REQUEST, TITLE, INCOMPLETE)
        }
        Err(f) => return failed(&f),
    };
    let query = query_of(&req);
    // A form value that is not a string counts as missing.
    let Some(link) = link_of(|name| match fields.get(name) {
        Some(v) => v.as_str().map(str::to_owned),
        None => lookup(&query, name),
    }) else {
        return page(StatusCode::BAD_REQUEST, TITLE, INCOMPLETE);
    };
    match state.invitations.decline_public(&link).await {
        Ok(answered) => page(
            StatusCode::OK,
            "The invitation was declined",
            &format!(
                "<p>You declined the invitation to the project <strong>{}</strong>. \
                 Nothing else is needed; the project's owner can invite you again.</p>",
                escape(&answered.project.name)
            ),
        ),
        Err(e) => refused(e),
    }
}
