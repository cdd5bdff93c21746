//! `account/update`, `users/get` and `username`: the caller's own profile,
//! what the caller may see of another user, and whether a username is free.

use super::{Invalid, Reason, RecentAuthError, Sessions, UnicatSettings};
use crate::ports::unexpected_conflict;
use crate::{mail, Failure, Ports, RateLimited, Secret};
use accountd_domain::{
    may_see_row, Change, ChangeSet, Conflict, TimeZone, Timestamp, User, UserId, Username,
};
use accountd_ports::{Limit, ProjectRepository, RateDecision};
use std::fmt;
use std::sync::Arc;

/// Longest display name, in characters after trimming.
pub const MAX_NAME_CHARS: usize = 200;

/// What `account/update` is given: any of the profile fields (at least
/// one), and the current password for a stale session.
#[derive(Debug, Clone, Default)]
pub struct UpdateInput {
    /// A new username (the sign-up rules).
    pub username: Option<String>,
    /// A new password, in clear (recent auth).
    pub password: Option<Secret>,
    /// A new display name.
    pub name: Option<String>,
    /// A new UI and mail language.
    pub language: Option<String>,
    /// A new IANA time zone.
    pub timezone: Option<String>,
    /// The current password, checked only when a password change finds the
    /// session stale.
    pub current_password: Option<Secret>,
}

/// The caller after a successful update, and a fresh token. `Debug` never
/// shows the token.
#[derive(Clone)]
pub struct Updated {
    /// The user as stored after the call.
    pub user: User,
    /// A fresh token (after a password change: at the new credential
    /// version, `auth_time` now).
    pub token: String,
}

impl fmt::Debug for Updated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Updated")
            .field("user", &self.user.id)
            .field("token", &"***")
            .finish()
    }
}

/// Why `account/update` changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// A value was refused (1001), `nothing_to_update` included.
    #[error("invalid: {0:?}")]
    Invalid(Invalid),
    /// A password change on a stale session without (or with a wrong)
    /// `current_password`, or a soft-locked account.
    #[error(transparent)]
    Recent(#[from] RecentAuthError),
    /// The caller's token was revoked while the call was served (its
    /// password changed, or the account was deleted): 401.
    #[error("the session was revoked meanwhile")]
    Revoked,
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Another user as `users/get` shows them.
#[derive(Clone)]
pub struct UserShown {
    /// The user.
    pub user: User,
    /// Whether it is the caller (complete form) or another (short form).
    pub complete: bool,
    /// A fresh token carrying the caller's `auth_time`.
    pub token: String,
}

impl fmt::Debug for UserShown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserShown")
            .field("user", &self.user.id)
            .field("complete", &self.complete)
            .field("token", &"***")
            .finish()
    }
}

/// Why `users/get` shows nothing.
#[derive(Debug, thiserror::Error)]
pub enum GetUserError {
    /// Unknown, or no membership row of theirs the caller may see (one
    /// answer for both): 422.
    #[error("not visible")]
    NotVisible,
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// What `username` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// Free to sign up with.
    Available,
    /// Not free: `UsernameInvalid` or `UsernameUnavailable`.
    Unavailable(Reason),
}

/// Why `username` answered nothing.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The per-client lookup limit was reached.
    #[error("too many requests")]
    TooManyRequests(#[from] RateLimited),
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// The Unicat account use cases besides sign-up, reset and login.
#[derive(Clone)]
pub struct Accounts {
    ports: Ports,
    sessions: Sessions,
    projects: Arc<dyn ProjectRepository>,
    settings: UnicatSettings,
    refusals: crate::refusals::RefusalLog,
}

impl fmt::Debug for Accounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Accounts { .. }")
    }
}

/// The profile columns an update sets, checked.
#[derive(Debug, Default)]
struct Profile {
    username: Option<Username>,
    name: Option<String>,
    language: Option<String>,
    timezone: Option<String>,
}

impl Profile {
    fn is_empty(&self) -> bool {
        self.username.is_none()
            && self.name.is_none()
            && self.language.is_none()
            && self.timezone.is_none()
    }

    /// `user` with these columns set.
    fn applied_to(&self, user: User) -> User {
        User {
            username: self.username.clone().or(user.username),
            name: self.name.clone().unwrap_or(user.name),
            language: self.language.clone().unwrap_or(user.language),
            timezone: self.timezone.clone().unwrap_or(user.timezone),
            ..user
        }
    }
}

fn invalid(field: &'static str, reason: Reason, detail: &str) -> UpdateError {
    UpdateError::Invalid(Invalid::new(field, reason, detail))
}

/// A display name: trimmed, at most [`MAX_NAME_CHARS`] characters, no
/// control characters; `None` when not acceptable.
fn display_name(text: &str) -> Option<String> {
    let name = text.trim();
    (name.chars().count() <= MAX_NAME_CHARS && !name.chars().any(char::is_control))
        .then(|| name.to_owned())
}

impl Accounts {
    /// Builds the service.
    pub fn new(
        ports: Ports,
        sessions: Sessions,
        projects: Arc<dyn ProjectRepository>,
        settings: UnicatSettings,
    ) -> Self {
        Self {
            ports,
            sessions,
            projects,
            settings,
            refusals: crate::refusals::RefusalLog::default(),
        }
    }

    /// `account/update`: checks every given field in the order `username`,
    /// `password`, `name`, `language`, `timezone` (the first refusal is the
    /// answer), then, for a password change only, recent authentication;
    /// then writes every field in one change set (a password change bumps
    /// the credential version, closes every reset code and mails a notice
    /// to each stored address). Only the given columns are written, so
    /// parallel updates of one account each keep their fields.
    #[tracing::instrument(skip_all, fields(route = "unicat.account.update"))]
    pub async fn update(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        input: UpdateInput,
    ) -> Result<Updated, UpdateError> {
        let nothing = input.username.is_none()
            && input.password.is_none()
            && input.name.is_none()
            && input.language.is_none()
            && input.timezone.is_none();
        if nothing {
            return Err(invalid(
                "body",
                Reason::NothingToUpdate,
                "Give at least one of username, password, name, language and timezone.",
            ));
        }
        let now = self.ports.clock.now();
        let username = self
            .checked_username(caller, input.username.as_deref())
            .await?;
        let password = match &input.password {
            None => None,
            Some(p) => {
                let name = username
                    .as_ref()
                    .map_or(caller.username_str(), Username::as_str);
                Some(
                    self.settings
                        .challenge
                        .password_policy
                        .check(p.expose(), Some(name), &caller.emails)
                        .map_err(|r| UpdateError::Invalid(Invalid::password("password", r)))?,
                )
            }
        };
        let profile = Profile {
            username,
            ..self.checked_rest(&input)?
        };
        let token_auth_time = match &password {
            None => auth_time,
            Some(_) => {
                self.sessions
                    .ensure_recent(caller, auth_time, input.current_password.as_ref())
                    .await?;
                // A password change is a credential proof.
                Some(now)
            }
        };
        let hash = match &password {
            None => None,
            Some(p) => Some(self.ports.hasher.hash(p).await.map_err(Failure::from)?),
        };

        let mut set = ChangeSet::new();
        if !profile.is_empty() {
            set = set.with(Change::UpdateProfile {
                user: caller.id,
                expected_version: caller.credential_version,
                username: profile.username.clone(),
                name: profile.name.clone(),
                language: profile.language.clone(),
                timezone: profile.timezone.clone(),
            });
        }
        if profile
            .username
            .as_ref()
            .is_some_and(|u| caller.username.as_ref() != Some(u))
        {
            set = set.audit(accountd_domain::AuditEvent::new(
                accountd_domain::AuditEventKind::UsernameChanged,
                Some(caller.id),
            ));
        }
        let mut updated = profile.applied_to(caller.clone());
        if let Some(hash) = hash {
            let mails: Vec<_> = updated
                .emails
                .iter()
                .map(|to| mail::password_changed(&updated, to))
                .collect();
            set = set.set_password(caller, hash.clone()).mail(mails);
            updated = updated.with_password(hash);
        }
        match self.ports.apply(set, self.ports.clock.now()).await? {
            Ok(()) => {}
            Err(Conflict::UsernameTaken) => {
                return Err(invalid(
                    "username",
                    Reason::UsernameUnavailable,
                    "The username was taken meanwhile.",
                ))
            }
            Err(Conflict::UserChanged) => return Err(self.revoked_or_conflict(caller).await),
            Err(
                c @ (Conflict::ChallengeNotOpen
                | Conflict::MembershipChanged
                | Conflict::OwnsProjects
                | Conflict::RevertSpent
                | Conflict::TooManyProjects
                | Conflict::ProjectChanged
                | Conflict::AddressTaken
                | Conflict::TooManyPendingInvites
                | Conflict::Limited { .. }),
            ) => return Err(unexpected_conflict(c).into()),
        }
        tracing::info!(
            user.gid = %caller.id,
            password = input.password.is_some(),
            "account updated"
        );
        let token = self.sessions.token(&updated, token_auth_time)?;
        Ok(Updated {
            user: updated,
            token,
        })
    }

    /// The new username, if given: the sign-up rules, and not taken by
    /// another user (case-insensitively; the caller's own name in another
    /// case is theirs to take).
    async fn checked_username(
        &self,
        caller: &User,
        text: Option<&str>,
    ) -> Result<Option<Username>, UpdateError> {
        let Some(text) = text else { return Ok(None) };
        let username = Username::parse(text).map_err(|e| {
            UpdateError::Invalid(Invalid::new(
                "username",
                Reason::UsernameInvalid,
                e.to_string(),
            ))
        })?;
        let own = caller.username.as_ref().map(Username::key);
        if own.as_deref() != Some(username.key().as_str()) {
            let taken = self
                .ports
                .users
                .find_by_username_ci(username.as_str())
                .await
                .map_err(Failure::from)?
                .is_some_and(|u| u.id != caller.id);
            if taken {
                return Err(invalid(
                    "username",
                    Reason::UsernameUnavailable,
                    "The username is already taken.",
                ));
            }
        }
        Ok(Some(username))
    }

    /// `name`, `language` and `timezone`, checked in that order.
    fn checked_rest(&self, input: &UpdateInput) -> Result<Profile, UpdateError> {
        let name = match &input.name {
            None => None,
            Some(text) => Some(display_name(text).ok_or_else(|| {
                invalid(
                    "name",
                    Reason::NameInvalid,
                    "The name may have at most 200 characters and no control characters.",
                )
            })?),
        };
        let language = match &input.language {
            None => None,
            Some(l) if self.settings.ui_languages.contains(l) => Some(l.clone()),
            Some(_) => {
                return Err(invalid(
                    "language",
                    Reason::LanguageUnsupported,
                    "The language is not one of the supported languages.",
                ))
            }
        };
        let timezone = match &input.timezone {
            None => None,
            Some(tz) => Some(
                TimeZone::parse(tz)
                    .ok_or_else(|| {
                        invalid(
                            "timezone",
                            Reason::TimezoneUnsupported,
                            "The time zone is not an IANA time zone name.",
                        )
                    })?
                    .as_str()
                    .to_owned(),
            ),
        };
        Ok(Profile {
            username: None,
            name,
            language,
            timezone,
        })
    }

    /// A `UserChanged` conflict: reloads the caller. When its credential
    /// version moved (or it is gone or no longer active) the token that
    /// authorised this call was revoked meanwhile: `Revoked`; otherwise a
    /// conflict the set does not expect (503).
    async fn revoked_or_conflict(&self, caller: &User) -> UpdateError {
        match self.ports.users.get(caller.id).await {
            Ok(Some(u)) if u.is_active() && u.credential_version == caller.credential_version => {
                unexpected_conflict(Conflict::UserChanged).into()
            }
            Ok(_) => {
                tracing::info!(user.gid = %caller.id, "update refused: session revoked meanwhile");
                UpdateError::Revoked
            }
            Err(e) => Failure::from(e).into(),
        }
    }

    /// `users/get`: the caller (complete form), or another user with a
    /// membership row the caller may see ("Who sees what"); anything else,
    /// an unknown gid included, is `NotVisible`.
    #[tracing::instrument(skip_all, fields(route = "unicat.users.get"))]
    pub async fn get_user(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        other: UserId,
    ) -> Result<UserShown, GetUserError> {
        if other == caller.id {
            return Ok(UserShown {
                user: caller.clone(),
                complete: true,
                token: self.sessions.token(caller, auth_time)?,
            });
        }
        let rows = self
            .projects
            .shared_rows(caller.id, other)
            .await
            .map_err(Failure::from)?;
        if !rows.iter().any(|(p, v, o)| may_see_row(p, v, o)) {
            return Err(GetUserError::NotVisible);
        }
        let Some(user) = self.ports.users.get(other).await.map_err(Failure::from)? else {
            return Err(GetUserError::NotVisible);
        };
        Ok(UserShown {
            user,
            complete: false,
            token: self.sessions.token(caller, auth_time)?,
        })
    }

    /// `username`: counts one lookup for `client` (the per-client lookup
    /// limit), then answers whether `username` is valid and not taken by
    /// any user in any status, case-insensitively (a deleted account keeps
    /// its name reserved).
    #[tracing::instrument(skip_all, fields(route = "unicat.username"))]
    pub async fn username_available(
        &self,
        username: &str,
        client: &str,
    ) -> Result<Availability, LookupError> {
        let now = self.ports.clock.now();
        let limits = [Limit {
            window_seconds: 3600,
            max: self.settings.lookups_per_ip_per_hour,
        }];
        let key = format!("lookup:ip:{client}");
        match self
            .ports
            .limiter
            .hit(&key, &limits, now)
            .await
            .map_err(Failure::from)?
        {
            RateDecision::Allowed => {}
            RateDecision::Limited {
                retry_after_seconds,
            } => {
                tracing::info!(limit.key_kind = "lookup", "rate limit hit");
                crate::metrics::rate_limited("lookups_per_ip");
                // Once per address and window (see `refusals`).
                if self.refusals.first(&key, now) {
                    let event = accountd_domain::AuditEvent::new(
                        accountd_domain::AuditEventKind::RateLimited,
                        None,
                    )
                    .outcome(accountd_domain::AuditOutcome::Refused)
                    .client(Some(client))
                    .word("limit", "lookups_per_ip");
                    self.ports.record([event], now).await?;
                }
                return Err(RateLimited {
                    retry_after_seconds,
                }
                .into());
            }
        }
        let Ok(name) = Username::parse(username) else {
            return Ok(Availability::Unavailable(Reason::UsernameInvalid));
        };
        let taken = self
            .ports
            .users
            .find_by_username_ci(name.as_str())
            .await
            .map_err(Failure::from)?
            .is_some();
        Ok(if taken {
            Availability::Unavailable(Reason::UsernameUnavailable)
        } else {
            Availability::Available
        })
    }
}

#[cfg(test)]
#[path = "account_tests.rs"]
mod tests;
