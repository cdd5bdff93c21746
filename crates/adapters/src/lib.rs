//! accountd's adapters: the implementations of `accountd-ports`.
//!
//! What belongs here: diesel + r2d2 repositories on PostgreSQL and SQLite
//! (one file per aggregate over diesel's `MultiConnection`, chosen from the
//! URL scheme, migrations embedded; a use case's change set applied in one
//! transaction), the lettre SMTP mailer
//! and the console mailer, the system clock, OS randomness and the bounded
//! bcrypt pool. Blocking work (diesel, bcrypt) never runs on an async worker.
//!
//! What must not: business rules (they are in `accountd-domain` and
//! `accountd-app`), reading the clock for a stored value (`now` comes from
//! the app), or HTTP.

pub mod db;
mod hasher;
mod jwt;
mod mail;
mod system;
#[cfg(feature = "test-support")]
pub mod test_support;

#[cfg(feature = "test-support")]
pub use db::OutboxSnapshot;
pub use db::{
    AuditFilter, AuditRecord, CollidingAccount, CollidingAddress, ConnectError, Database,
    DatabaseUrl, Migrated, OutboxBacklog, PurgeBefore, Purged, Refolded,
};
pub use hasher::BcryptPool;
pub use jwt::{Ed25519Key, JwtTokens, KeyError, SigningKeyRecord};
pub use lettre::message::Mailbox;
pub use mail::{parse_from, ConsoleMailer, MailConfigError, SmtpMailer};
pub use system::{OsRandom, SystemClock};
