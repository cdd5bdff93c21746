//! accountd's use cases.
//!
//! What belongs here: one service per capability ([`ForgotPassword`],
//! [`AddUser`], the mail [`OutboxDispatcher`]), written against the traits of
//! `accountd-ports`, each returning a domain result or its own error enum
//! (the refusals a caller acts on, plus the one shared [`Failure`]); the
//! mechanics every emailed-code flow shares (`challenge_flow`: limits,
//! drawing, trying a code, lost races), used by each flow with its own
//! [`ChallengeSettings`]; and the mail templates. Everything is unit-tested with mockall mocks of the
//! ports, failure paths included.
//!
//! What must not: HTTP (status codes, bodies), SQL, SMTP, or a runtime. The
//! services are plain `async fn`s; the binary decides where they run (only
//! tokio's task-local is used, for the client address of a request's audit
//! events: [`for_client`]).

mod add_user;
mod admission;
mod challenge_flow;
mod dispatcher;
mod failure;
mod forgot_password;
pub mod mail;
mod metrics;
mod ports;
mod refusals;
mod request;
mod secret;
#[cfg(test)]
mod test_writes;
pub mod unicat;

pub use add_user::{AddUser, AddUserError, AddUserInput};
pub use admission::Admission;
pub use challenge_flow::{ChallengeSettings, RateLimited};
pub use dispatcher::{DispatchSettings, OutboxDispatcher, PassReport};
pub use failure::Failure;
pub use forgot_password::{
    CheckCodeError, CheckCodeInput, ForgotPassword, ForgotPasswordSettings, ResetPasswordError,
    ResetPasswordInput, SendEmailError,
};
pub use ports::Ports;
pub use request::for_client;
pub use secret::Secret;
