//! `signup_request` and `signup`.

use super::session::Session;
use super::{Invalid, Reason, Sessions, UnicatSettings};
use crate::challenge_flow::{ChallengeFlow, NotConsumed, Refused};
use crate::{mail, Failure, Ports, RateLimited, Secret};
use accountd_domain::{
    Change, Email, MacKey, NewUser, Purpose, Subject, TimeZone, UserId, Username,
};

/// What `signup_request` is given.
#[derive(Debug, Clone)]
pub struct SignupRequestInput {
    /// The requested name.
    pub username: String,
    /// The password, in clear.
    pub password: Secret,
    /// The address to verify.
    pub email: String,
    /// The request's `Accept-Language` header, which picks the mail's
    /// language (see [`mail::accept_language`]).
    pub accept_language: Option<String>,
}

/// What `signup` is given: the step-1 fields again and both codes.
#[derive(Debug, Clone)]
pub struct SignupInput {
    /// The name of step 1.
    pub username: String,
    /// The password of step 1, in clear.
    pub password: Secret,
    /// The address of step 1.
    pub email: String,
    /// What step 1 answered.
    pub validation_code: Secret,
    /// What the mail carried.
    pub verification_code: Secret,
}

/// Why `signup_request` issued nothing.
#[derive(Debug, thiserror::Error)]
pub enum SignupRequestError {
    /// A value was refused.
    #[error("invalid: {0:?}")]
    Invalid(Invalid),
    /// An issuance limit was reached.
    #[error("too many requests")]
    TooManyRequests(#[from] RateLimited),
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Why `signup` created no account.
#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    /// A value was refused (including every code failure).
    #[error("invalid: {0:?}")]
    Invalid(Invalid),
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// The sign-up use cases.
#[derive(Debug, Clone)]
pub struct Signup {
    ports: Ports,
    sessions: Sessions,
    flow: ChallengeFlow,
    timezone: TimeZone,
    ui_languages: Vec<String>,
}

impl Signup {
    /// Builds the service.
    pub fn new(
        ports: Ports,
        sessions: Sessions,
        mac_key: MacKey,
        settings: UnicatSettings,
    ) -> Self {
        Self {
            flow: ChallengeFlow::new(ports.clone(), mac_key, settings.challenge, Purpose::Signup),
            ports,
            sessions,
            timezone: settings.default_timezone,
            ui_languages: settings.ui_languages,
        }
    }

    /// Step 1: checks every field (in the order username, password, email),
    /// hashes the password, and issues a challenge bound to all three; mails
    /// the verification code to `email`; returns the validation code.
    #[tracing::instrument(skip_all, fields(route = "unicat.signup_request"))]
    pub async fn request(
        &self,
        input: SignupRequestInput,
        client: &str,
    ) -> Result<String, SignupRequestError> {
        let now = self.ports.clock.now();
        let s = self.flow.settings();
        self.flow.limit_client(client, now).await??;

        let username = Username::parse(&input.username).map_err(|e| {
            SignupRequestError::Invalid(Invalid::new(
                "username",
                Reason::UsernameInvalid,
                e.to_string(),
            ))
        })?;
        if self
            .ports
            .users
            .find_by_username_ci(username.as_str())
            .await
            .map_err(Failure::from)?
            .is_some()
        {
            return Err(SignupRequestError::Invalid(Invalid::new(
                "username",
                Reason::UsernameUnavailable,
                "The username is already taken.",
            )));
        }
        let email = Email::parse(&input.email);
        let emails: Vec<Email> = email.iter().cloned().collect();
        let password = s
            .password_policy
            .check(input.password.expose(), Some(username.as_str()), &emails)
            .map_err(|r| SignupRequestError::Invalid(Invalid::password("password", r)))?;
        let email = email.map_err(|e| {
            SignupRequestError::Invalid(Invalid::new("email", Reason::EmailInvalid, e.to_string()))
        })?;

        self.flow
            .limit_issuance(
                &format!("challenges:{}", Subject::email_key(&email)),
                None,
                Some(client),
                now,
            )
            .await??;
        let password_hash = self
            .ports
            .hasher
            .hash(&password)
            .await
            .map_err(Failure::from)?;
        let subject = Subject::Signup {
            username: username.clone(),
            email: email.clone(),
            password_hash,
        };

        let (drawn, validation_code) = self.flow.draw_with_validation_code()?;
        let challenge = self
            .flow
            .challenge(&drawn, Some(&validation_code), subject, now);
        let language = mail::accept_language(input.accept_language.as_deref(), &self.ui_languages);
        let mails = vec![mail::signup_code(
            language,
            username.as_str(),
            &email,
            &drawn.code,
            s.code_ttl_seconds,
            challenge.expires_at(),
        )];
        self.flow
            .issue(challenge, mails, Some(client), None)
            .await?;
        tracing::info!(to = %email.masked(), "signup code issued");
        Ok(validation_code)
    }

    /// Step 2: every field must match step 1 (username exactly, email
    /// case-insensitively, password against the stored hash); then the
    /// verification code. A right code consumes the challenge, creates the
    /// account and claims the invitations of the verified address in one
    /// transaction (the session then lists them); a wrong one counts a
    /// failure.
    #[tracing::instrument(skip_all, fields(route = "unicat.signup"))]
    pub async fn complete(&self, input: SignupInput) -> Result<Session, SignupError> {
        let now = self.ports.clock.now();
        let at = self.flow.by_validation_code(input.validation_code.expose());
        let challenge = self.flow.open(&at, now).await?.map_err(refused)?;
        let Subject::Signup {
            username: want_name,
            email: want_email,
            password_hash,
        } = challenge.subject().clone()
        else {
            return Err(refused(Refused::Missing));
        };
        let mismatch = |field| {
            SignupError::Invalid(Invalid::new(
                field,
                Reason::RequestMismatch,
                "The request does not match the sign-up request.",
            ))
        };
        if want_name.as_str() != input.username {
            return Err(mismatch("username"));
        }
        if !self
            .ports
            .hasher
            .verify(input.password.expose(), Some(password_hash.clone()))
            .await
            .map_err(Failure::from)?
        {
            // A password that does not verify against step 1 counts one
            // try like a wrong code (security rules), so a validation code
            // cannot buy bcrypt work without limit. The answer stays
            // `request_mismatch` while the challenge takes tries.
            return Err(match self.flow.fail(&challenge, &at, now).await? {
                Refused::Wrong { .. } => mismatch("password"),
                closed => refused(closed),
            });
        }
        if Email::parse(&input.email).map(|e| e.key()).ok() != Some(want_email.key()) {
            return Err(mismatch("email"));
        }

        self.flow
            .try_code(&challenge, &at, input.verification_code.expose(), now)
            .await?
            .map_err(refused)?;

        let user = NewUser {
            id: UserId::from_random_bytes(self.ports.random.bytes16()),
            username: want_name,
            emails: vec![want_email.clone()],
            name: String::new(),
            password_hash,
            language: "en".to_owned(),
            timezone: self.timezone.as_str().to_owned(),
            created_at: now,
        };
        let created = user.into_user();
        // The code proved the address: the invitations its placeholder holds
        // move to the new account in the same transaction (spec 5, "Sign-up
        // claims invitations"); a later sign-up of the address finds none.
        let written = self
            .flow
            .consume(&challenge, &at, self.ports.clock.now(), |set| {
                set.with(Change::CreateUser(created.clone()))
                    .with(Change::ClaimInvitations {
                        email: want_email.clone(),
                        user: created.id,
                    })
                    .audit(accountd_domain::AuditEvent::new(
                        accountd_domain::AuditEventKind::Signup,
                        Some(created.id),
                    ))
            })
            .await?;
        match written {
            Ok(()) => {}
            Err(NotConsumed::UsernameTaken) => {
                return Err(SignupError::Invalid(Invalid::new(
                    "username",
                    Reason::UsernameUnavailable,
                    "The username was taken meanwhile.",
                )))
            }
            Err(NotConsumed::Refused(r)) => return Err(refused(r)),
        }
        tracing::info!(user.gid = %created.id, "signup");
        Ok(self.sessions.open(created, Some(now)).await?)
    }
}

fn refused(r: Refused) -> SignupError {
    SignupError::Invalid(Invalid::refused(r))
}

#[cfg(test)]
#[path = "signup_tests.rs"]
mod tests;
