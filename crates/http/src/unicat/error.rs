//! Every refusal of the Unicat family as one error type, which a handler
//! or an extractor returns and whose [`ResponseError::error_response`]
//! builds the envelope of `envelope.rs`; and, below, the one exhaustive
//! mapping of each use-case error onto it.

use super::envelope;
use super::params::BadParam;
use accountd_app::unicat::{
    AuthError, DeletionError, EmailChangeError, EmailChangeRequestError, GetUserError, Invalid,
    InvitationError, LoginError, LookupError, MembersError, ProjectsError, RecentAuthError,
    ResetError, ResetRequestError, RevertEmailError, SignupError, SignupRequestError, UpdateError,
};
use accountd_app::{Failure, RateLimited};
use actix_web::{http::StatusCode, HttpResponse, ResponseError};

/// Why a Unicat call is refused, as the spec's status table names it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UnicatError {
    /// 400: the first offending parameter.
    #[error("bad request: {} is {}", .0.name, .0.reason)]
    BadRequest(BadParam),
    /// 401 with `WWW-Authenticate`.
    #[error("permission denied")]
    PermissionDenied,
    /// 403 for a failed login.
    #[error("unknown user")]
    UnknownUser,
    /// 403 `Forbidden`, with `info.reason` when the route names one.
    #[error("forbidden ({0:?})")]
    Forbidden(Option<&'static str>),
    /// 413.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 408: the body did not arrive in time (the connection is closed).
    #[error("request timeout")]
    RequestTimeout,
    /// 431: the request's head is over the limits of `crate::head`.
    #[error("request header fields too large")]
    HeaderFieldsTooLarge,
    /// 422 code 422.
    #[error("unprocessable entity")]
    Unprocessable,
    /// 422 code 422 with `info = {"reason": …}` and the extra fields the
    /// route names.
    #[error("unprocessable entity: {reason}")]
    UnprocessableBecause {
        /// `info.reason`.
        reason: &'static str,
        /// Further `info` fields, after `reason`.
        extra: serde_json::Map<String, serde_json::Value>,
    },
    /// 422 code 1004 `Invite invalid` with `info = {"reason": …}`.
    #[error("invite invalid: {0}")]
    InviteInvalid(&'static str),
    /// 422 code 1001.
    #[error("validation error: {0:?}")]
    Validation(Invalid),
    /// 429 with `Retry-After`.
    #[error(transparent)]
    TooManyRequests(#[from] RateLimited),
    /// 503 or 500.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl ResponseError for UnicatError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PermissionDenied => StatusCode::UNAUTHORIZED,
            Self::UnknownUser | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::HeaderFieldsTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Unprocessable
            | Self::UnprocessableBecause { .. }
            | Self::InviteInvalid(_)
            | Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests(_) | Self::Failure(Failure::Contended { .. }) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Failure(Failure::Overloaded { .. } | Failure::Unavailable(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Failure(Failure::Unexpected(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The envelope (actix calls this once per refused request, so a
    /// failure's cause chain is logged once).
    fn error_response(&self) -> HttpResponse {
        match self {
            Self::BadRequest(p) => envelope::bad_request(p.name, p.reason),
            Self::PermissionDenied => envelope::permission_denied(),
            Self::UnknownUser => envelope::unknown_user(),
            Self::Forbidden(reason) => envelope::forbidden(*reason),
            Self::PayloadTooLarge => envelope::payload_too_large(),
            Self::RequestTimeout => envelope::request_timeout(),
            Self::HeaderFieldsTooLarge => envelope::header_fields_too_large(),
            Self::Unprocessable => envelope::unprocessable(),
            Self::UnprocessableBecause { reason, extra } => {
                envelope::unprocessable_because(reason, extra)
            }
            Self::InviteInvalid(reason) => envelope::invite_invalid(reason),
            Self::Validation(i) => envelope::validation(i),
            Self::TooManyRequests(r) => envelope::too_many_requests(r.retry_after_seconds),
            Self::Failure(f) => envelope::failure(f),
        }
    }
}

impl From<BadParam> for UnicatError {
    fn from(p: BadParam) -> Self {
        Self::BadRequest(p)
    }
}

impl From<SignupRequestError> for UnicatError {
    fn from(e: SignupRequestError) -> Self {
        match e {
            SignupRequestError::Invalid(i) => Self::Validation(i),
            SignupRequestError::TooManyRequests(r) => r.into(),
            SignupRequestError::Failure(f) => f.into(),
        }
    }
}

impl From<SignupError> for UnicatError {
    fn from(e: SignupError) -> Self {
        match e {
            SignupError::Invalid(i) => Self::Validation(i),
            SignupError::Failure(f) => f.into(),
        }
    }
}

impl From<ResetRequestError> for UnicatError {
    fn from(e: ResetRequestError) -> Self {
        match e {
            ResetRequestError::NotFound => Self::Unprocessable,
            ResetRequestError::TooManyRequests(r) => r.into(),
            ResetRequestError::Failure(f) => f.into(),
        }
    }
}

impl From<ResetError> for UnicatError {
    fn from(e: ResetError) -> Self {
        match e {
            ResetError::Invalid(i) => Self::Validation(i),
            ResetError::Failure(f) => f.into(),
        }
    }
}

impl From<LoginError> for UnicatError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::UnknownUser => Self::UnknownUser,
            LoginError::Locked {
                retry_after_seconds,
            } => RateLimited {
                retry_after_seconds,
            }
            .into(),
            LoginError::Failure(f) => f.into(),
        }
    }
}

impl From<RecentAuthError> for UnicatError {
    fn from(e: RecentAuthError) -> Self {
        match e {
            RecentAuthError::Required => Self::Forbidden(Some("reauthentication_required")),
            RecentAuthError::Locked {
                retry_after_seconds,
            } => RateLimited {
                retry_after_seconds,
            }
            .into(),
            RecentAuthError::Failure(f) => f.into(),
        }
    }
}

impl From<AuthError> for UnicatError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Denied => Self::PermissionDenied,
            AuthError::Failure(f) => f.into(),
        }
    }
}

impl From<DeletionError> for UnicatError {
    fn from(e: DeletionError) -> Self {
        match e {
            DeletionError::ReauthenticationRequired => {
                Self::Forbidden(Some("reauthentication_required"))
            }
            DeletionError::OwnsProjects(projects) => {
                let mut extra = serde_json::Map::new();
                extra.insert(
                    "projects".to_owned(),
                    projects.iter().map(|p| p.to_string()).collect(),
                );
                Self::UnprocessableBecause {
                    reason: "owns_projects",
                    extra,
                }
            }
            DeletionError::Locked {
                retry_after_seconds,
            } => RateLimited {
                retry_after_seconds,
            }
            .into(),
            DeletionError::Revoked => Self::PermissionDenied,
            DeletionError::Failure(f) => f.into(),
        }
    }
}

impl From<UpdateError> for UnicatError {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::Invalid(i) => Self::Validation(i),
            UpdateError::Recent(r) => r.into(),
            UpdateError::Revoked => Self::PermissionDenied,
            UpdateError::Failure(f) => f.into(),
        }
    }
}

impl From<EmailChangeRequestError> for UnicatError {
    fn from(e: EmailChangeRequestError) -> Self {
        match e {
            EmailChangeRequestError::Invalid(i) => Self::Validation(i),
            EmailChangeRequestError::RecentAuth(e) => e.into(),
            EmailChangeRequestError::TooManyRequests(r) => r.into(),
            EmailChangeRequestError::Failure(f) => f.into(),
        }
    }
}

impl From<GetUserError> for UnicatError {
    fn from(e: GetUserError) -> Self {
        match e {
            GetUserError::NotVisible => Self::Unprocessable,
            GetUserError::Failure(f) => f.into(),
        }
    }
}

impl From<EmailChangeError> for UnicatError {
    fn from(e: EmailChangeError) -> Self {
        match e {
            EmailChangeError::Invalid(i) => Self::Validation(i),
            EmailChangeError::Failure(f) => f.into(),
        }
    }
}

impl From<RevertEmailError> for UnicatError {
    fn from(e: RevertEmailError) -> Self {
        match e {
            RevertEmailError::Unusable => Self::Unprocessable,
            RevertEmailError::Failure(f) => f.into(),
        }
    }
}

impl From<LookupError> for UnicatError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::TooManyRequests(r) => r.into(),
            LookupError::Failure(f) => f.into(),
        }
    }
}

impl From<ProjectsError> for UnicatError {
    fn from(e: ProjectsError) -> Self {
        match e {
            // One answer for unknown and hidden (section 5), `info {}`.
            ProjectsError::NotVisible | ProjectsError::NotOwner => Self::Forbidden(None),
            ProjectsError::Invalid(i) => Self::Validation(i),
            ProjectsError::TooManyProjects => Self::UnprocessableBecause {
                reason: "too_many_projects",
                extra: serde_json::Map::new(),
            },
            ProjectsError::ProjectDeleted => Self::UnprocessableBecause {
                reason: "project_deleted",
                extra: serde_json::Map::new(),
            },
            ProjectsError::NotAMember => Self::UnprocessableBecause {
                reason: "not_a_member",
                extra: serde_json::Map::new(),
            },
            ProjectsError::Recent(r) => r.into(),
            ProjectsError::ProjectNotDeleted => Self::UnprocessableBecause {
                reason: "project_not_deleted",
                extra: serde_json::Map::new(),
            },
            ProjectsError::Revoked => Self::PermissionDenied,
            ProjectsError::Failure(f) => f.into(),
        }
    }
}

impl From<InvitationError> for UnicatError {
    fn from(e: InvitationError) -> Self {
        let because = |reason| Self::UnprocessableBecause {
            reason,
            extra: serde_json::Map::new(),
        };
        match e {
            // No row, unknown project and a link whose token is not (or
            // no longer) good: one answer, `info {}`.
            InvitationError::NoRow => Self::Unprocessable,
            InvitationError::ProjectDeleted => because("project_deleted"),
            InvitationError::OwnerCannotLeave => because("owner_cannot_leave"),
            InvitationError::InviteDeclined => Self::InviteInvalid("invite_declined"),
            InvitationError::InviteExpired => Self::InviteInvalid("invite_expired"),
            InvitationError::Failure(f) => f.into(),
        }
    }
}

impl From<MembersError> for UnicatError {
    fn from(e: MembersError) -> Self {
        let because = |reason| Self::UnprocessableBecause {
            reason,
            extra: serde_json::Map::new(),
        };
        match e {
            // One answer for unknown and hidden (section 5), `info {}`.
            MembersError::NotVisible | MembersError::NotOwner => Self::Forbidden(None),
            MembersError::Invalid(i) => Self::Validation(i),
            MembersError::ProjectDeleted => because("project_deleted"),
            MembersError::UserNotFound => because("user_not_found"),
            MembersError::AlreadyMember => because("already_member"),
            MembersError::AlreadyInvited => because("already_invited"),
            MembersError::InviteDeclined => because("invite_declined"),
            MembersError::TooManyPendingInvites => because("too_many_pending_invites"),
            MembersError::OwnerCannotLeave => because("owner_cannot_leave"),
            MembersError::NoRow => Self::Unprocessable,
            MembersError::TooManyRequests(r) => r.into(),
            MembersError::Failure(f) => f.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accountd_app::unicat::Reason;

    #[test]
    fn the_status_code_is_the_status_of_the_envelope() {
        let errors = [
            UnicatError::BadRequest(BadParam {
                name: "username",
                reason: "missing",
            }),
            UnicatError::PermissionDenied,
            UnicatError::UnknownUser,
            UnicatError::Forbidden(None),
            UnicatError::Forbidden(Some("reauthentication_required")),
            UnicatError::PayloadTooLarge,
            UnicatError::Unprocessable,
            UnicatError::UnprocessableBecause {
                reason: "owns_projects",
                extra: serde_json::Map::new(),
            },
            UnicatError::InviteInvalid("invite_expired"),
            UnicatError::Validation(Invalid {
                field: "email",
                reason: Reason::EmailInvalid,
                detail: "Not an address.".into(),
                suggestions: None,
                attempts_left: None,
            }),
            UnicatError::TooManyRequests(RateLimited {
                retry_after_seconds: 3,
            }),
            Failure::Overloaded {
                retry_after_seconds: 3,
            }
            .into(),
            Failure::Contended {
                retry_after_seconds: 1,
            }
            .into(),
            Failure::Unavailable(std::io::Error::other("down").into()).into(),
            Failure::Unexpected(std::io::Error::other("bug").into()).into(),
        ];
        for e in errors {
            assert_eq!(e.error_response().status(), e.status_code(), "{e:?}");
        }
    }

    #[actix_web::test]
    async fn a_write_contended_past_its_bound_answers_429_with_retry_after() {
        let e: UnicatError = Failure::Contended {
            retry_after_seconds: 1,
        }
        .into();
        let r = e.error_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            r.headers()
                .get(actix_web::http::header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        let body = actix_web::body::to_bytes(r.into_body())
            .await
            .unwrap_or_default();
        assert_eq!(
            std::str::from_utf8(&body).unwrap_or_default(),
            r#"{"success":false,"result":{"code":429,"message":"Too many requests","info":{"retry_after":1}},"data":{}}"#
        );
    }
}
