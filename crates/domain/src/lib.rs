//! The pure core of accountd.
//!
//! What belongs here: validated value types (`UserId`, `Username`, `Email`,
//! `Password`, one-time codes), the password policy, the user aggregate, the
//! outgoing-mail value, key derivation from the server secret, and the
//! **challenge state machine** shared by every two-step flow (forgotPassword,
//! and the Unicat signup, reset and email-change flows), the revert token of
//! an email change ([`EmailRevert`], stored only as a MAC), and the
//! **change set** ([`ChangeSet`]) in which a use case describes everything
//! it writes, with the guards that keep parallel requests exact, and the
//! audit events ([`AuditEvent`]) it records in the same transaction; and
//! the pure part of second factors: TOTP ([`TotpSecret`]), recovery codes
//! ([`RecoveryCode`]), an account's login `methods` ([`AccountFactors`])
//! and a token's `amr` ([`Amr`]).
//!
//! What must not: I/O, async, reading a clock or drawing randomness. Time is
//! passed in as a [`Timestamp`]; random values are passed in by the caller.
//! This crate never depends on diesel, actix, tokio, lettre, bcrypt or rand
//! (a test in the `accountd` crate keeps it so), so other Rust services can
//! embed it without pulling in a web server or a database driver.

mod audit;
mod caseless;
mod challenge;
mod change;
mod code;
mod email;
mod email_revert;
mod ids;
mod limit;
mod lockout;
mod mail;
pub mod membership;
mod mfa;
mod password;
mod project;
mod secret;
mod time;
mod timezone;
mod user;
mod username;

pub use audit::{AuditDetails, AuditEvent, AuditEventKind, AuditOutcome, AuditValue};
pub use caseless::caseless_key;
pub use challenge::{
    Attempt, Challenge, ChallengeError, ChallengePolicy, ChallengeState, Purpose, Subject,
};
pub use change::{Change, ChangeSet, Conflict};
pub use code::{validation_code_text, CodeFormat, CodeMac, OneTimeCode};
pub use email::{Email, EmailError};
pub use email_revert::EmailRevert;
pub use ids::{ChallengeId, UserId};
pub use limit::Limit;
pub use lockout::{login_locked_until, FREE_LOGIN_FAILURES, MAX_LOGIN_DELAY_SECONDS};
pub use mail::OutgoingMail;
pub use membership::{Invitation, MemberError};
pub use mfa::{
    amr_has_second_factor, match_recovery_code, may_add_passkey, AccountFactors, Amr, MfaMethod,
    RecoveryCode, RecoveryCodeRejection, TotpRejection, TotpSecret, TotpStep, MAX_PASSKEYS,
    MFA_CEREMONY_SECONDS, MFA_MAX_WRONG_TRIES, RECOVERY_CODES, RECOVERY_CODES_RANDOM_BYTES,
    RECOVERY_CODE_CHARS, TOTP_DIGITS, TOTP_DRIFT_STEPS, TOTP_SECRET_BYTES, TOTP_STEP_SECONDS,
};
pub use password::{Password, PasswordHash, PasswordPolicy, PasswordRejection, MAX_PASSWORD_BYTES};
pub use project::{
    may_see_notification_email, may_see_row, project_access, transfer, Membership,
    MembershipStatus, Notifications, Project, ProjectAccess, ProjectError, ProjectId, ProjectName,
    ProjectNameError, ProjectStatus, ProjectView, Role, Transfer, DEFAULT_PROJECT_NAME,
    MAX_PROJECT_NAME_CHARS,
};
pub use secret::{MacKey, SecretError, ServerSecret};
pub use time::Timestamp;
pub use timezone::TimeZone;
pub use user::{NewUser, User, UserStatus};
pub use username::{Username, UsernameError};
