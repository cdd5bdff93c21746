//! The fixtures that the tests of several accountd crates share, in one
//! dev-only place: the test MAC key, passwords the default policy accepts
//! (and one it refuses), fixed instants, user builders, small helpers for
//! codes and parallel calls, and an SMTP server on 127.0.0.1 that captures
//! every message (parsed with `mail-parser`).
//!
//! Belongs here: a value or helper that the tests of more than one crate
//! use. Does not belong here: anything the product runs, or a fixture only
//! one test file needs. This crate is only ever a `[dev-dependencies]`
//! entry (the architecture test checks that no crate depends on it
//! normally), and among the workspace's crates it depends on
//! `accountd-domain` alone, so the tests of every other crate can use it
//! without a dependency cycle.
//!
//! Every helper here is test code: a broken expectation panics, which is
//! how the calling test fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod fixtures;
pub mod smtp;

pub use fixtures::*;
pub use smtp::{unused_port, Mail, SilentSmtp, SmtpCapture, MAIL_WAIT};
