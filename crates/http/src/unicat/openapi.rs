//! The Unicat family's part of the OpenAPI document: its operations (the
//! `#[utoipa::path]` of each handler, listed in [`Api`]), the schemas of
//! the request bodies (the handlers read them field by field, see
//! `params.rs`), of the success envelopes and data objects (which
//! `payload.rs` builds with `json!`), and the refusals of `envelope.rs` as
//! reusable responses. The error envelope itself is the real
//! [`Refusal`](super::envelope::Refusal).
//!
//! The types below are descriptions only, never built: a test in
//! `crate::openapi` and the schemathesis run of `.ci/run` keep them true
//! to what the handlers answer.
#![allow(dead_code)]

use crate::openapi::{Empty, Null, True};
use std::collections::BTreeMap;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{IntoResponses, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(
        super::signup_request::handle,
        super::signup::handle,
        super::reset_password_request::handle,
        super::reset_password::handle,
        super::login::handle,
        super::init::handle,
        super::ping::handle,
        super::account_delete::handle,
        super::update_email_request::handle,
        super::update_email::handle,
        super::revert_email::handle,
        super::account_update::handle,
        super::users_get::handle,
        super::username::handle,
        super::projects_create::handle,
        super::projects_get::handle,
        super::projects_update::handle,
        super::projects_delete::delete,
        super::projects_delete::undelete,
        super::projects_permanent_delete::handle,
        super::projects_transfer::handle,
        super::account_accept_invite::handle,
        super::account_decline_invite::handle,
        super::account_leave_project::handle,
        super::decline_invite::handle,
        super::init_invite::handle,
        super::members_get::handle,
        super::members_get::handle_in_project,
        super::members_invite::handle,
        super::members_resend_invite::handle,
        super::members_remove::handle,
    ),
    components(
        schemas(super::envelope::Refusal),
        responses(
            BadRequest,
            PermissionDenied,
            Forbidden,
            NotFound,
            RequestTimeout,
            PayloadTooLarge,
            HeaderFieldsTooLarge,
            Unprocessable,
            TooManyRequests,
            Internal,
            Unavailable
        )
    ),
    modifiers(&BearerAuth),
)]
pub(crate) struct Api;

/// The `bearer` security scheme of the routes marked "JWT".
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The token of the last answer's `Authorization` header (raw, \
                         without `Bearer `), sent as `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
    }
}

// ------------------------------------------------------------- refusals

/// `info` of the error envelope: which fields appear depends on the
/// refusal (400: `parameter`, `reason`; 403: `reason` or nothing; 422
/// code 1001: `field`, `reason`, `detail` and maybe `suggestions` or
/// `attempts_left`; 422 code 422: nothing, or `reason` and maybe
/// `projects`; 422 code 1004: `reason`; 429 and 503: `retry_after`).
#[derive(ToSchema, Default)]
#[serde(deny_unknown_fields, default)]
#[schema(as = UnicatRefusalInfo)]
pub(crate) struct RefusalInfo {
    /// 400: the first offending parameter.
    parameter: String,
    /// Why: `missing`, `invalid_type`, `invalid_value`, `malformed_body`,
    /// a validation reason, `reauthentication_required`, `owns_projects`, …
    reason: String,
    /// 1001: the field refused.
    field: String,
    /// 1001: a sentence for a person.
    detail: String,
    /// 1001: password suggestions.
    suggestions: Vec<String>,
    /// 1001: code attempts left.
    #[schema(minimum = 0)]
    attempts_left: i64,
    /// 429 and 503: seconds to wait (also in `Retry-After`).
    #[schema(minimum = 1)]
    retry_after: i64,
    /// 422 `owns_projects`: the gids of the projects the account owns.
    projects: Vec<String>,
}

fn refusal(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("UnicatRefusal")))
            .build(),
    )
}

fn integer() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
}

/// `Retry-After` of a 429 or 503.
fn retry_after(r: ResponseBuilder) -> Response {
    crate::openapi::retry_after(r, "Seconds to wait; equal to `info.retry_after`.")
}

crate::openapi::refusals!("Unicat", {
    /// 400.
    BadRequest => refusal(
        "Bad request (code 400): the first parameter that is missing, of the wrong type or \
         of a wrong value, or a body that is not a JSON object or form (`malformed_body`).",
    ).build();
    /// 401.
    PermissionDenied => refusal(
        "Permission denied (code 401): no, a malformed, an expired, a revoked or a badly \
         signed token.",
    ).header(
        "WWW-Authenticate",
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some("`Bearer realm=\"JWT access to Unicat.\"`"))
            .build(),
    ).build();
    /// 403.
    Forbidden => refusal(
        "Forbidden (code 403): `Unknown user` for a failed login; `Forbidden` for a project \
         that is unknown, hidden or not the caller's to change (`info {}`), or with \
         `info.reason = reauthentication_required`.",
    ).build();
    /// 404.
    NotFound => refusal("Not found (code 404): no such route.").build();
    /// 408.
    RequestTimeout => refusal(
        "Request timeout (code 408): the body did not arrive within \
         `ACCOUNTD_BODY_TIMEOUT_SECONDS`; the connection is closed.",
    ).build();
    /// 413.
    PayloadTooLarge => refusal(
        "Payload too large (code 413): the body is over `ACCOUNTD_MAX_BODY_BYTES`.",
    ).build();
    /// 431.
    HeaderFieldsTooLarge => refusal(
        "Request header fields too large (code 431): the target and headers are over \
         32 KiB, or there are more than 64 headers; the connection is closed.",
    ).build();
    /// 422.
    Unprocessable => refusal(
        "Unprocessable: code 1001 (`Validation error`, `info.field`, `info.reason`, \
         `info.detail`), code 422 (the entity does not exist or the operation failed, \
         maybe with `info.reason`) or code 1004 (`Invite invalid`).",
    ).build();
    /// 429.
    TooManyRequests => retry_after(refusal(
        "Too many requests (code 429): a rate limit or a soft lock; `info.retry_after`.",
    ));
    /// 500.
    Internal => refusal("Internal server error (code 500): a bug; nothing is told.").build();
    /// 503.
    Unavailable => retry_after(refusal(
        "Service unavailable (code 503): the storage does not answer or the password \
         hashing queue is full; `info.retry_after`.",
    ));
});

/// What every route that reads a body may answer besides its own: 400,
/// 408, 413, 431, 500 and 503.
pub(crate) struct Public;

/// [`Public`] and 401: what every route with a token may answer.
pub(crate) struct Authed;

fn response_ref(name: &str) -> RefOr<Response> {
    RefOr::Ref(Ref::from_response_name(name))
}

impl IntoResponses for Public {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        [
            ("400", "UnicatBadRequest"),
            ("408", "UnicatRequestTimeout"),
            ("413", "UnicatPayloadTooLarge"),
            ("431", "UnicatHeaderFieldsTooLarge"),
            ("500", "UnicatInternal"),
            ("503", "UnicatUnavailable"),
        ]
        .into_iter()
        .map(|(status, name)| (status.to_owned(), response_ref(name)))
        .collect()
    }
}

impl IntoResponses for Authed {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut r = Public::responses();
        r.insert("401".to_owned(), response_ref("UnicatPermissionDenied"));
        r
    }
}

// ------------------------------------------------------------ data objects

/// `cc.users[gid]` of the caller: the complete form.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserComplete {
    #[schema(format = Uuid)]
    gid: String,
    #[schema(required = true)]
    username: Option<String>,
    #[schema(required = true)]
    email: Option<String>,
    name: String,
    avatar: Null,
    status: UserStatus,
    options: UserOptions,
}

/// `cc.users[gid]` of another user: the short form (a placeholder's
/// `username` is `null`).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserShort {
    #[schema(format = Uuid)]
    gid: String,
    #[schema(required = true)]
    username: Option<String>,
    name: String,
    avatar: Null,
    status: UserStatus,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum UserStatus {
    Active,
    Invited,
    Deleted,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserOptions {
    language: String,
    timezone: String,
}

/// A user in `cc.users`: complete for the caller, short for others.
#[derive(ToSchema)]
#[serde(untagged)]
pub(crate) enum UserForm {
    Complete(UserComplete),
    Short(UserShort),
}

/// `cc.projects[gid]`: the whole project.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Project {
    #[schema(format = Uuid)]
    gid: String,
    name: String,
    #[schema(required = true)]
    icon: Option<String>,
    #[schema(format = Uuid)]
    owner: String,
    status: ProjectStatus,
    options: ProjectOptions,
}

/// `cc.projects[gid]` as an invited user sees it.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectShort {
    #[schema(format = Uuid)]
    gid: String,
    name: String,
    #[schema(required = true)]
    icon: Option<String>,
    #[schema(format = Uuid)]
    owner: String,
    status: ProjectStatus,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ProjectStatus {
    Active,
    Deleted,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectOptions {
    timezone: String,
    languages: Vec<String>,
}

/// A project in `cc.projects`: whole, or short for an invited user.
#[derive(ToSchema)]
#[serde(untagged)]
pub(crate) enum ProjectForm {
    Whole(Project),
    Short(ProjectShort),
}

/// A row of `cc.projects_members`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Member {
    #[schema(format = Uuid)]
    project_gid: String,
    #[schema(format = Uuid)]
    user_gid: String,
    status: MembershipStatus,
    roles: Vec<String>,
    options: MemberOptions,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum MembershipStatus {
    Active,
    Invited,
    Declined,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberOptions {
    notifications: Notifications,
    #[schema(required = true, minimum = 0)]
    rate_limit_per_second: Option<u32>,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Notifications {
    #[schema(required = true)]
    email: Option<String>,
    events: Vec<String>,
    frequency: String,
}

// ------------------------------------------------------------------ results

/// `result` of `signup_request` and `account/update_email_request`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ValidationCode {
    validation_code: String,
}

/// `result` of `reset_password_request`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetRequested {
    validation_code: String,
    usernames: Vec<String>,
}

/// `result` of the session payload of `signup` and `reset_password`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionResult {
    #[schema(format = Uuid)]
    user: String,
    /// Project gid → the caller's roles, for the active projects.
    user_projects: BTreeMap<String, Vec<String>>,
}

/// `result` of the session payload of `login` and `init`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginResult {
    #[schema(format = Uuid)]
    user: String,
    user_projects: BTreeMap<String, Vec<String>>,
    #[serde(rename = "cc.version")]
    version: String,
    #[serde(rename = "cc.cursor")]
    cursor: i64,
}

/// `result` of `ping`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pong {
    pong: True,
    #[serde(rename = "cc.version")]
    version: String,
}

/// `result = {"user": gid}`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserResult {
    #[schema(format = Uuid)]
    user: String,
}

/// `result = {"users": [gid, …]}` (`p/{project}/members/get` with
/// `members`).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsersResult {
    users: Vec<String>,
}

/// `result` of the members routes: one user, or a list.
#[derive(ToSchema)]
#[serde(untagged)]
pub(crate) enum MembersResult {
    One(UserResult),
    Many(UsersResult),
}

/// `result = {"project": gid}`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectResult {
    #[schema(format = Uuid)]
    project: String,
}

/// `result` of `init_invite`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InviteResult {
    #[schema(format = Uuid)]
    project: String,
    #[schema(format = Uuid)]
    invitee: String,
}

/// `result` of `username`: `reason` only when not available.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsernameResult {
    username: String,
    available: bool,
    #[serde(default)]
    reason: String,
}

// --------------------------------------------------------------------- data

/// `data` of the session payload.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionData {
    #[serde(rename = "cc.users")]
    users: BTreeMap<String, UserForm>,
    #[serde(rename = "cc.projects")]
    projects: BTreeMap<String, ProjectForm>,
    #[serde(rename = "cc.projects_members")]
    members: Vec<Member>,
    /// ISO 639-1 code → English name.
    #[serde(rename = "cc.languages")]
    languages: BTreeMap<String, String>,
}

/// `data = {"cc.users": …}`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsersData {
    #[serde(rename = "cc.users")]
    users: BTreeMap<String, UserForm>,
}

/// `data = {"cc.projects": …}`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectsData {
    #[serde(rename = "cc.projects")]
    projects: BTreeMap<String, ProjectForm>,
}

/// `data = {"cc.projects": …, "cc.projects_members": […]}`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectRowsData {
    #[serde(rename = "cc.projects")]
    projects: BTreeMap<String, ProjectForm>,
    #[serde(rename = "cc.projects_members")]
    members: Vec<Member>,
}

/// `data` of `projects/get`, `update`, `transfer` and `init_invite`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectShownData {
    #[serde(rename = "cc.projects")]
    projects: BTreeMap<String, ProjectForm>,
    #[serde(rename = "cc.projects_members")]
    members: Vec<Member>,
    #[serde(rename = "cc.users")]
    users: BTreeMap<String, UserForm>,
}

/// `data` of the members routes.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MembersData {
    #[serde(rename = "cc.users")]
    users: BTreeMap<String, UserForm>,
    #[serde(rename = "cc.projects_members")]
    members: Vec<Member>,
}

// ---------------------------------------------------------------- envelopes

macro_rules! envelopes {
    ($($(#[$doc:meta])* $name:ident($result:ty, $data:ty);)+) => {$(
        $(#[$doc])*
        #[derive(ToSchema)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $name {
            success: True,
            result: $result,
            data: $data,
        }
    )+};
}

envelopes! {
    /// `{}` / `{}`.
    Done(Empty, Empty);
    /// The validation code to send with the mailed verification code.
    CodeSent(ValidationCode, Empty);
    /// The validation code and the usernames of the address.
    ResetCodeSent(ResetRequested, Empty);
    /// The session payload (sign-up, reset).
    Session(SessionResult, SessionData);
    /// The session payload with `cc.version` and `cc.cursor`.
    LoginSession(LoginResult, SessionData);
    /// `pong`.
    Pinged(Pong, Empty);
    /// One user.
    UserShown(UserResult, UsersData);
    /// Whether a username is free.
    UsernameChecked(UsernameResult, Empty);
    /// A project and its rows.
    ProjectCreated(ProjectResult, ProjectRowsData);
    /// A project with its rows and users.
    ProjectShown(ProjectResult, ProjectShownData);
    /// A project alone.
    ProjectAlone(ProjectResult, ProjectsData);
    /// A project and the caller's answered row.
    RowAnswered(ProjectResult, ProjectRowsData);
    /// What the invitation page shows.
    InviteShown(InviteResult, ProjectShownData);
    /// Members, their users and rows.
    MembersShown(MembersResult, MembersData);
}

// ----------------------------------------------------------- request bodies

/// `signup_request`.
#[derive(ToSchema)]
pub(crate) struct SignupRequestBody {
    username: String,
    #[schema(format = Password)]
    password: String,
    #[schema(format = Email)]
    email: String,
}

/// `signup`.
#[derive(ToSchema)]
pub(crate) struct SignupBody {
    username: String,
    #[schema(format = Password)]
    password: String,
    email: String,
    validation_code: String,
    verification_code: String,
}

/// `reset_password_request`.
#[derive(ToSchema)]
pub(crate) struct UsernameOrEmailBody {
    username_or_email: String,
}

/// `reset_password`.
#[derive(ToSchema)]
pub(crate) struct ResetBody {
    username: String,
    #[schema(format = Password)]
    new_password: String,
    validation_code: String,
    verification_code: String,
}

/// `login`.
#[derive(ToSchema)]
pub(crate) struct LoginBody {
    username: String,
    #[schema(format = Password)]
    password: String,
}

/// `account/delete`: `confirm` must be `true`.
#[derive(ToSchema)]
pub(crate) struct DeleteBody {
    confirm: True,
    #[schema(format = Password)]
    #[serde(default)]
    current_password: String,
}

/// `account/update_email_request`.
#[derive(ToSchema)]
pub(crate) struct UpdateEmailRequestBody {
    email: String,
    #[schema(format = Password)]
    #[serde(default)]
    current_password: String,
}

/// `account/update_email`.
#[derive(ToSchema)]
pub(crate) struct UpdateEmailBody {
    email: String,
    validation_code: String,
    verification_code: String,
}

/// `account/revert_email`: the token of the email-change notice.
#[derive(ToSchema)]
pub(crate) struct TokenBody {
    token: String,
}

/// `account/update`: any of the fields; `current_password` for a new
/// `username` or `password` without a recent login.
#[derive(ToSchema, Default)]
#[serde(default)]
pub(crate) struct AccountUpdateBody {
    username: String,
    #[schema(format = Password)]
    password: String,
    name: String,
    language: String,
    timezone: String,
    #[schema(format = Password)]
    current_password: String,
}

/// `users/get`, `p/{project}/members/resend_invite` and `remove`.
#[derive(ToSchema)]
pub(crate) struct UserBody {
    #[schema(format = Uuid)]
    user: String,
}

/// `username`.
#[derive(ToSchema)]
pub(crate) struct UsernameBody {
    username: String,
}

/// `projects/create`: `options` values are checked by the service (1001).
#[derive(ToSchema, Default)]
#[serde(default)]
pub(crate) struct ProjectCreateBody {
    name: String,
    options: BTreeMap<String, serde_json::Value>,
}

/// `projects/update`.
#[derive(ToSchema)]
pub(crate) struct ProjectUpdateBody {
    #[schema(format = Uuid)]
    project: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    options: BTreeMap<String, serde_json::Value>,
}

/// A project gid: `projects/get`, `delete`, `undelete`,
/// `permanent_delete`, `account/accept_invite`, `decline_invite`,
/// `leave_project`.
#[derive(ToSchema)]
pub(crate) struct ProjectBody {
    #[schema(format = Uuid)]
    project: String,
}

/// `projects/transfer`.
#[derive(ToSchema)]
pub(crate) struct TransferBody {
    #[schema(format = Uuid)]
    project: String,
    #[schema(format = Uuid)]
    user: String,
    #[schema(format = Password)]
    #[serde(default)]
    current_password: String,
}

/// The three values of an invitation mail's link.
#[derive(ToSchema)]
pub(crate) struct LinkBody {
    #[schema(format = Uuid)]
    invitee: String,
    #[schema(format = Uuid)]
    project: String,
    token: String,
}

/// `members/get`.
#[derive(ToSchema)]
pub(crate) struct ProjectMemberBody {
    #[schema(format = Uuid)]
    project: String,
    #[schema(format = Uuid)]
    member: String,
}

/// `p/{project}/members/get`: `member`, or `members` (up to 1000), not
/// both.
#[derive(ToSchema, Default)]
#[serde(default)]
pub(crate) struct MembersWantedBody {
    #[schema(format = Uuid)]
    member: String,
    #[schema(max_items = 1000)]
    members: Vec<String>,
}

/// `p/{project}/members/invite`.
#[derive(ToSchema)]
pub(crate) struct InviteBody {
    username_or_email: String,
}

#[cfg(test)]
mod tests {
    use super::super::payload;
    use crate::openapi::tests::component;
    use accountd_domain::{
        Membership, MembershipStatus, Notifications, Project, ProjectAccess, ProjectId,
        ProjectStatus, Role, UserStatus,
    };

    fn project() -> Project {
        Project {
            id: ProjectId::parse("5c3f0d4e-2b1a-4c6d-8e9f-0a1b2c3d4e5f").expect("a gid"),
            name: "Atlas".to_owned(),
            icon: None,
            owner: accountd_testkit::ann().id,
            status: ProjectStatus::Active,
            timezone: "Europe/Amsterdam".to_owned(),
            languages: vec!["en".to_owned()],
        }
    }

    /// The data objects `payload.rs` builds conform to their schemas, and
    /// each form only to its own.
    #[test]
    fn the_data_objects_conform_to_their_schemas() {
        let ann = accountd_testkit::ann();
        let placeholder = accountd_testkit::ann_with(UserStatus::Invited, &[]);
        let complete = component("UserComplete");
        let short = component("UserShort");
        let form = component("UserForm");
        for user in [&ann, &placeholder] {
            let c = payload::user_complete(user);
            let s = payload::user_short(user);
            assert!(complete.is_valid(&c), "{c}");
            assert!(short.is_valid(&s), "{s}");
            assert!(!short.is_valid(&c), "{c}");
            assert!(form.is_valid(&c) && form.is_valid(&s));
        }
        let p = project();
        let whole = payload::project_form(&p, ProjectAccess::Owner);
        let invited = payload::project_form(&p, ProjectAccess::Invited);
        assert!(component("Project").is_valid(&whole), "{whole}");
        assert!(component("ProjectShort").is_valid(&invited), "{invited}");
        assert!(!component("ProjectShort").is_valid(&whole), "{whole}");
        let row = Membership {
            project: p.id,
            user: ann.id,
            status: MembershipStatus::Active,
            roles: vec![Role::Owner],
            notifications: Notifications {
                email: None,
                events: vec![],
                frequency: "daily".to_owned(),
            },
            rate_limit_per_second: Some(10),
            invitation: None,
        };
        let m = payload::member(&row);
        assert!(component("Member").is_valid(&m), "{m}");
    }
}
