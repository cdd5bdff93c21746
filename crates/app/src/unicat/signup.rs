//! `signup_request` and `signup`.

use super::session::Session;
use super::{
    draw, from_limit_error, ip_limit, issuance_limits, limit, refusal_after_lost_race, try_code,
    Invalid, LimitError, Reason, Sessions, UnicatSettings,
};
use crate::{mail, Failure, Ports};
use accountd_domain::{
    Challenge, ChallengeEffect, ChallengePolicy, CodeMac, Email, MacKey, NewUser, Purpose, Subject,
    Timestamp, UserId, Username,
};
use accountd_ports::ConsumeOutcome;

/// Why `signup_request` issued nothing.
#[derive(Debug, thiserror::Error)]
pub enum SignupRequestError {
    /// A value was refused.
    #[error("invalid: {0:?}")]
    Invalid(Invalid),
    /// An issuance limit was reached.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds to wait.
        retry_after_seconds: i64,
    },
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

from_limit_error!(SignupRequestError);

/// The sign-up use cases.
#[derive(Debug, Clone)]
pub struct Signup {
    ports: Ports,
    sessions: Sessions,
    mac_key: MacKey,
    settings: UnicatSettings,
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
            ports,
            sessions,
            mac_key,
            settings,
        }
    }

    /// Step 1: checks every field (in the order username, password, email),
    /// hashes the password, and issues a challenge bound to all three; mails
    /// the verification code to `email`; returns the validation code.
    #[tracing::instrument(skip_all, fields(route = "unicat.signup_request"))]
    pub async fn request(
        &self,
        username: &str,
        password: &str,
        email: &str,
        client: &str,
    ) -> Result<String, SignupRequestError> {
        let now = self.ports.clock.now();
        let s = &self.settings;
        limit(
            &self.ports,
            &format!("step1:ip:{client}"),
            &ip_limit(s),
            now,
        )
        .await?;

        let username = Username::parse(username).map_err(|e| {
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
        let email = Email::parse(email);
        let emails: Vec<Email> = email.iter().cloned().collect();
        let password = s
            .password_policy
            .check(password, Some(username.as_str()), &emails)
            .map_err(|r| SignupRequestError::Invalid(Invalid::password("password", r)))?;
        let email = email.map_err(|e| {
            SignupRequestError::Invalid(Invalid::new("email", Reason::EmailInvalid, e.to_string()))
        })?;

        limit(
            &self.ports,
            &format!("challenges:{}", Subject::email_key(&email)),
            &issuance_limits(s),
            now,
        )
        .await?;
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

        let drawn = draw(&self.ports, &self.mac_key, Purpose::Signup)?;
        let challenge = Challenge::issue(
            drawn.id,
            Purpose::Signup,
            subject,
            &drawn.code,
            &self.mac_key,
            ChallengePolicy::unicat(s.code_ttl_seconds, s.max_failures),
            now,
        )
        .with_lookup(drawn.lookup);
        let mails = vec![mail::signup_code(
            username.as_str(),
            &email,
            &drawn.code,
            s.code_ttl_seconds,
            challenge.expires_at(),
        )];
        self.ports
            .challenges
            .issue(challenge, mails)
            .await
            .map_err(Failure::from)?;
        tracing::info!(to = %email.masked(), "signup code issued");
        Ok(drawn.validation_code)
    }

    /// Step 2: every field must match step 1 (username exactly, email
    /// case-insensitively, password against the stored hash); then the
    /// verification code. A right code consumes the challenge and creates the
    /// account in one transaction; a wrong one counts a failure.
    #[tracing::instrument(skip_all, fields(route = "unicat.signup"))]
    pub async fn complete(
        &self,
        username: &str,
        password: &str,
        email: &str,
        validation_code: &str,
        verification_code: &str,
    ) -> Result<Session, SignupError> {
        let now = self.ports.clock.now();
        let lookup = Challenge::lookup_mac(&self.mac_key, Purpose::Signup, validation_code);
        let Some(challenge) = self
            .ports
            .challenges
            .find_by_lookup(Purpose::Signup, lookup)
            .await
            .map_err(Failure::from)?
        else {
            return Err(SignupError::Invalid(Invalid::code_invalid(0)));
        };
        challenge
            .ensure_open(now)
            .map_err(|e| SignupError::Invalid(Invalid::from_challenge(e)))?;
        let Subject::Signup {
            username: want_name,
            email: want_email,
            password_hash,
        } = challenge.subject().clone()
        else {
            return Err(SignupError::Invalid(Invalid::code_invalid(0)));
        };
        let mismatch = |field| {
            SignupError::Invalid(Invalid::new(
                field,
                Reason::RequestMismatch,
                "The request does not match the sign-up request.",
            ))
        };
        if want_name.as_str() != username {
            return Err(mismatch("username"));
        }
        if !self
            .ports
            .hasher
            .verify(password, Some(password_hash.clone()))
            .await
            .map_err(Failure::from)?
        {
            return Err(mismatch("password"));
        }
        if Email::parse(email).map(|e| e.key()).ok() != Some(want_email.key()) {
            return Err(mismatch("email"));
        }

        if let Err(refusal) = try_code(
            &self.ports,
            &self.mac_key,
            &challenge,
            lookup,
            verification_code,
            now,
        )
        .await?
        {
            return Err(SignupError::Invalid(refusal));
        }

        let user = NewUser {
            id: UserId::from_random_bytes(self.ports.random.bytes16()),
            username: want_name,
            emails: vec![want_email],
            name: String::new(),
            password_hash,
            language: "en".to_owned(),
            timezone: "UTC".to_owned(),
            created_at: now,
        };
        let created = user.clone().into_user();
        match self
            .ports
            .challenges
            .consume(
                challenge.id(),
                self.ports.clock.now(),
                ChallengeEffect::CreateUser(user),
                Vec::new(),
            )
            .await
            .map_err(Failure::from)?
        {
            ConsumeOutcome::Applied => {}
            ConsumeOutcome::UsernameTaken => {
                return Err(SignupError::Invalid(Invalid::new(
                    "username",
                    Reason::UsernameUnavailable,
                    "The username was taken meanwhile.",
                )))
            }
            ConsumeOutcome::NotOpen => return Err(self.after_lost_race(lookup, now).await?),
        }
        tracing::info!(user.gid = %created.id, "signup");
        Ok(self.sessions.open(created).await?)
    }

    async fn after_lost_race(
        &self,
        lookup: CodeMac,
        now: Timestamp,
    ) -> Result<SignupError, Failure> {
        refusal_after_lost_race(&self.ports, Purpose::Signup, lookup, now)
            .await
            .map(SignupError::Invalid)
    }
}

#[cfg(test)]
#[path = "signup_tests.rs"]
mod tests;
