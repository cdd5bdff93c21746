//! accountd's use cases.
//!
//! What belongs here: one service per capability ([`ForgotPassword`],
//! [`AddUser`], the mail [`OutboxDispatcher`]), written against the traits of
//! `accountd-ports`, each returning a domain result or its own error enum;
//! and the mail templates. Everything is unit-tested with mockall mocks of the
//! ports, failure paths included.
//!
//! What must not: HTTP (status codes, bodies), SQL, SMTP, or a runtime. The
//! services are plain `async fn`s; the binary decides where they run.

/// `From<StoreError>` for use-case errors with `Unavailable` and `Unexpected`.
macro_rules! from_store_error {
    ($($t:ty),*) => {$(
        impl From<accountd_ports::StoreError> for $t {
            fn from(e: accountd_ports::StoreError) -> Self {
                match e {
                    accountd_ports::StoreError::Unavailable(e) => Self::Unavailable(e),
                    accountd_ports::StoreError::Unexpected(e) => Self::Unexpected(e),
                }
            }
        }
    )*};
}
pub(crate) use from_store_error;

/// `From<HashError>` for use-case errors with `Overloaded` and `Unexpected`.
macro_rules! from_hash_error {
    ($($t:ty),*) => {$(
        impl From<accountd_ports::HashError> for $t {
            fn from(e: accountd_ports::HashError) -> Self {
                match e {
                    accountd_ports::HashError::Overloaded { retry_after_seconds } => {
                        Self::Overloaded { retry_after_seconds }
                    }
                    accountd_ports::HashError::Unexpected(e) => Self::Unexpected(e),
                }
            }
        }
    )*};
}
pub(crate) use from_hash_error;

mod add_user;
mod dispatcher;
mod forgot_password;
pub mod mail;
mod ports;
pub mod unicat;

pub use add_user::{AddUser, AddUserError, AddUserInput};
pub use dispatcher::{DispatchSettings, OutboxDispatcher, PassReport};
pub use forgot_password::{
    CheckCodeError, ForgotPassword, ForgotPasswordSettings, ResetPasswordError, SendEmailError,
};
pub use ports::Ports;
