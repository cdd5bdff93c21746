//! Login, token authentication and the session payload.

use crate::{Failure, Ports, Secret};
use accountd_domain::{AuditEvent, AuditEventKind, AuditOutcome, ProjectView, Timestamp, User};
use accountd_ports::{LoginThrottle, ProjectRepository, TokenError, TokenService};
use std::fmt;
use std::sync::Arc;

/// An opened session: the user, a fresh token, and their projects.
/// `Debug` never shows the token.
#[derive(Clone)]
pub struct Session {
    /// The user, as stored after the call.
    pub user: User,
    /// A fresh token (for the `Authorization` response header).
    pub token: String,
    /// Projects the user is an active or invited member of.
    pub projects: Vec<ProjectView>,
    /// The other users those projects show: the owner of each project
    /// whose owner row is shown (short form in `cc.users`), by gid.
    pub users: Vec<User>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user.id)
            .field("token", &"***")
            .field("projects", &self.projects.len())
            .field("users", &self.users.len())
            .finish()
    }
}

/// What `login` is given.
#[derive(Debug, Clone)]
pub struct LoginInput {
    /// The account name, matched exactly.
    pub username: String,
    /// The password, in clear.
    pub password: Secret,
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong username or wrong password (one answer for both).
    #[error("unknown user")]
    UnknownUser,
    /// Too many wrong passwords in a row for this name: try again later
    /// (the password was not checked).
    #[error("soft-locked")]
    Locked {
        /// Seconds to wait.
        retry_after_seconds: i64,
    },
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Missing, malformed, expired, revoked or badly signed.
    #[error("permission denied")]
    Denied,
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// What a valid token proves: its active user, and when that user last
/// proved a credential.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user, as stored.
    pub user: User,
    /// The token's `auth_time` (`None`: issued before the claim existed).
    pub auth_time: Option<Timestamp>,
}

/// Why a route marked recent auth refused to run.
#[derive(Debug, thiserror::Error)]
pub enum RecentAuthError {
    /// The session is stale and no (or a wrong) `current_password` came
    /// with it: 403 `reauthentication_required`.
    #[error("reauthentication required")]
    Required,
    /// The account's name is soft-locked: try again later.
    #[error("soft-locked")]
    Locked {
        /// Seconds to wait.
        retry_after_seconds: i64,
    },
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Sessions: login, authentication, payloads.
#[derive(Clone)]
pub struct Sessions {
    ports: Ports,
    tokens: Arc<dyn TokenService>,
    projects: Arc<dyn ProjectRepository>,
    throttle: Arc<dyn LoginThrottle>,
    reauth_seconds: i64,
    refusals: crate::refusals::RefusalLog,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sessions { .. }")
    }
}

impl Sessions {
    /// Builds the service; a session counts as recent for
    /// `reauth_seconds` after its last credential proof.
    pub fn new(
        ports: Ports,
        tokens: Arc<dyn TokenService>,
        projects: Arc<dyn ProjectRepository>,
        throttle: Arc<dyn LoginThrottle>,
        reauth_seconds: i64,
    ) -> Self {
        Self {
            ports,
            tokens,
            projects,
            throttle,
            reauth_seconds,
            refusals: crate::refusals::RefusalLog::default(),
        }
    }

    /// A session for `user`: a fresh token at the user's current credential
    /// version carrying `auth_time`, and the projects of the payload.
    pub async fn open(&self, user: User, auth_time: Option<Timestamp>) -> Result<Session, Failure> {
        self.open_at(user, auth_time, self.ports.clock.now()).await
    }

    /// [`Self::open`] with the token issued at `now`.
    async fn open_at(
        &self,
        user: User,
        auth_time: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Session, Failure> {
        let token = self.token_at(&user, auth_time, now)?;
        let mut projects = self.projects.views_for(user.id).await?;
        // A deleted project is its owner's only (section 5, "Who sees what").
        projects.retain(|v| accountd_domain::project_access(&v.project, Some(&v.own)).may_see());
        // The owners whose rows are shown, in one batch (none: no call).
        let mut owners: Vec<accountd_domain::UserId> = projects
            .iter()
            .filter_map(|v| v.owner_row.as_ref().map(|o| o.user))
            .filter(|id| *id != user.id)
            .collect();
        owners.sort_unstable();
        owners.dedup();
        let users = if owners.is_empty() {
            Vec::new()
        } else {
            self.ports.users.get_many(&owners).await?
        };
        Ok(Session {
            user,
            token,
            projects,
            users,
        })
    }

    /// A fresh token for `user` at its current credential version, carrying
    /// `auth_time` (renewal copies the caller's unchanged).
    pub fn token(&self, user: &User, auth_time: Option<Timestamp>) -> Result<String, Failure> {
        self.token_at(user, auth_time, self.ports.clock.now())
    }

    fn token_at(
        &self,
        user: &User,
        auth_time: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<String, Failure> {
        self.tokens
            .issue(user.id, user.credential_version, auth_time, now)
            .map_err(|e| Failure::Unexpected(anyhow::Error::new(e).context("issue a token")))
    }

    /// `login`: the active user with exactly this username (case-sensitive)
    /// and password. An unknown username is checked against a dummy hash, so
    /// both failures take the same time and give the same answer. Repeated
    /// failures soft-lock the name (see `login_locked_until`): while locked,
    /// no password is checked and the answer is `Locked`.
    pub async fn login(&self, input: LoginInput) -> Result<Session, LoginError> {
        self.login_from(input, None).await
    }

    /// [`Self::login`] from the client address `client`, which its audit
    /// event records (`login_succeeded`, `login_failed` or
    /// `login_locked`; a failure of an unknown name has no user and never
    /// the typed name, which may be a password typed in the wrong field).
    #[tracing::instrument(skip_all, fields(route = "unicat.login"))]
    pub async fn login_from(
        &self,
        input: LoginInput,
        client: Option<&str>,
    ) -> Result<Session, LoginError> {
        let LoginInput { username, password } = &input;
        // Before any read (see `admission`): one account's flood waits or
        // is refused here, holding nothing, and a login that would find
        // the hash pool full is answered 503 without touching the database.
        let admitted = self.ports.admission.enter_typed(username).await?;
        let (_admitted, _hash_place) = self.ports.admission.hash_place(admitted).await?;
        let now = self.ports.clock.now();
        let user = self
            .ports
            .users
            .find_by_username_ci(username)
            .await
            .map_err(Failure::from)?
            .filter(|u| u.is_active() && u.username_str() == username);
        let ok = match self
            .check_password(username, user.as_ref(), password, now)
            .await
        {
            Err(e @ LoginError::Locked { .. }) => {
                crate::metrics::login(crate::metrics::Login::Locked);
                // Once per name and window (see `refusals`): a flood at a
                // locked name costs no hash, and must cost no write either.
                let name = accountd_domain::Username::typed_key(username);
                if self.refusals.first(&format!("login:{name}"), now) {
                    let event =
                        AuditEvent::new(AuditEventKind::LoginLocked, user.as_ref().map(|u| u.id))
                            .outcome(AuditOutcome::Refused)
                            .client(client);
                    self.ports.record([event], now).await?;
                }
                return Err(e);
            }
            checked => checked?,
        };
        crate::metrics::login(if ok && user.is_some() {
            crate::metrics::Login::Success
        } else {
            crate::metrics::Login::Wrong
        });
        match user {
            Some(user) if ok => {
                tracing::info!(user.gid = %user.id, "login");
                // The proof is complete now, after the hash: the token is
                // issued at that very instant, so `auth_time` is its `iat`.
                let proved = self.ports.clock.now();
                let id = user.id;
                // Recorded once the session exists: a login that fails to
                // open one is no success.
                let session = self.open_at(user, Some(proved), proved).await?;
                let event =
                    AuditEvent::new(AuditEventKind::LoginSucceeded, Some(id)).client(client);
                self.ports.record([event], proved).await?;
                Ok(session)
            }
            user => {
                tracing::info!("login refused");
                let gid = user.as_ref().map(|u| u.id);
                let event = AuditEvent::new(AuditEventKind::LoginFailed, gid)
                    .outcome(AuditOutcome::Failure)
                    .client(client)
                    .word(
                        "reason",
                        if gid.is_some() {
                            "wrong_password"
                        } else {
                            "unknown_user"
                        },
                    );
                self.ports.record([event], self.ports.clock.now()).await?;
                Err(LoginError::UnknownUser)
            }
        }
    }

    /// Checks `password` against `user`'s hash (a dummy hash when `None`)
    /// under the soft lock of the typed name `name`: while locked nothing
    /// is checked (`Locked`); a wrong password counts one failure, a right
    /// one clears the count.
    async fn check_password(
        &self,
        name: &str,
        user: Option<&User>,
        password: &Secret,
        now: Timestamp,
    ) -> Result<bool, LoginError> {
        // Failures count per typed name and credential version: an unknown
        // name locks like a known one, and any password change starts a new
        // count. Failures older than a day no longer count.
        let key = format!(
            "login-fail:{}:v{}",
            accountd_domain::Username::typed_key(name),
            user.map_or(0, |u| u.credential_version)
        );
        // This attempt is recorded as a failure before the password is
        // checked, atomically with reading the earlier ones: parallel
        // guesses each see those before them and cannot slip past the lock.
        let (attempt, failures) = self
            .throttle
            .begin(&key, now, now.plus_seconds(-86_400))
            .await
            .map_err(Failure::from)?;
        let count = u32::try_from(failures.len()).unwrap_or(u32::MAX);
        if let Some(until) = failures
            .last()
            .and_then(|last| accountd_domain::login_locked_until(count, *last))
            .filter(|until| *until > now)
        {
            settled(self.throttle.forget(attempt).await)?;
            tracing::info!("password refused: soft lock");
            return Err(LoginError::Locked {
                retry_after_seconds: now.seconds_until_ceil(until),
            });
        }
        let hash = user.and_then(|u| u.password_hash.clone());
        let ok = match self.ports.hasher.verify(password.expose(), hash).await {
            Ok(ok) => ok,
            Err(e) => {
                // Not checked: not a failure.
                settled(self.throttle.forget(attempt).await)?;
                return Err(Failure::from(e).into());
            }
        };
        if ok && user.is_some() {
            settled(self.throttle.clear(&key).await)?;
        }
        Ok(ok)
    }

    /// Recent authentication (spec 4, "Recent authentication"): passes when
    /// `auth_time` is at most `reauth_seconds` old, answering it unchanged;
    /// otherwise only with a `current_password` that verifies (on the hash
    /// pool, under the login soft lock of the account's name), answering
    /// `now` as the new `auth_time`. A stale session without a password, or
    /// with a wrong one (one failure counted), is `Required`; a soft-locked
    /// account is `Locked`. A token without `auth_time` is never recent.
    pub async fn ensure_recent(
        &self,
        user: &User,
        auth_time: Option<Timestamp>,
        current_password: Option<&Secret>,
    ) -> Result<Option<Timestamp>, RecentAuthError> {
        let now = self.ports.clock.now();
        let recent = auth_time
            .is_some_and(|t| t <= now && now.as_millis() - t.as_millis() <= self.reauth_millis());
        if recent {
            return Ok(auth_time);
        }
        let Some(password) = current_password else {
            return Err(RecentAuthError::Required);
        };
        match self
            .check_password(user.username_str(), Some(user), password, now)
            .await
        {
            Ok(true) => Ok(Some(now)),
            Ok(false) => {
                tracing::info!(user.gid = %user.id, "reauthentication refused");
                let event = AuditEvent::new(AuditEventKind::LoginFailed, Some(user.id))
                    .outcome(AuditOutcome::Failure)
                    .word("reason", "wrong_password")
                    .word("via", "reauthentication");
                self.ports.record([event], self.ports.clock.now()).await?;
                Err(RecentAuthError::Required)
            }
            Err(LoginError::Locked {
                retry_after_seconds,
            }) => {
                if self.refusals.first(&format!("reauth:{}", user.id), now) {
                    let event = AuditEvent::new(AuditEventKind::LoginLocked, Some(user.id))
                        .outcome(AuditOutcome::Refused)
                        .word("via", "reauthentication");
                    self.ports.record([event], now).await?;
                }
                Err(RecentAuthError::Locked {
                    retry_after_seconds,
                })
            }
            Err(LoginError::UnknownUser) => Err(RecentAuthError::Required),
            Err(LoginError::Failure(f)) => Err(f.into()),
        }
    }

    fn reauth_millis(&self) -> i64 {
        self.reauth_seconds.saturating_mul(1000)
    }

    /// The active user a token belongs to, if the token is valid, unexpired
    /// and issued at the user's current credential version, with the
    /// token's `auth_time`.
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, AuthError> {
        let claims = match self.tokens.verify(token, self.ports.clock.now()) {
            Ok(c) => c,
            Err(TokenError::Invalid | TokenError::Expired) => return Err(AuthError::Denied),
            Err(TokenError::Unexpected(e)) => return Err(Failure::Unexpected(e).into()),
        };
        match self
            .ports
            .users
            .get(claims.user)
            .await
            .map_err(Failure::from)?
        {
            Some(u) if u.is_active() && u.credential_version == claims.version => {
                Ok(Authenticated {
                    user: u,
                    auth_time: claims.auth_time,
                })
            }
            _ => Err(AuthError::Denied),
        }
    }
}

/// The outcome of undoing or clearing login failures once the answer is
/// decided: a write refused as contended (a flood queued on the name) is
/// logged, not answered, so a right password never gets a 429 for it; the
/// failure then stays counted (the soft lock errs on the strict side).
fn settled(r: Result<(), accountd_ports::StoreError>) -> Result<(), Failure> {
    match r {
        Err(accountd_ports::StoreError::Contended { .. }) => {
            tracing::warn!("login failures not updated: the database was contended");
            Ok(())
        }
        r => r.map_err(Failure::from),
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
