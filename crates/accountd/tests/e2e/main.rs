//! accountd's one integration-test binary, one module per area. The
//! end-to-end modules drive the real `accountd` binary on a real port with
//! its own database (every scenario on SQLite and on PostgreSQL; the
//! PostgreSQL runs are skipped only when `TEST_DATABASE_URL` is unset) and
//! a real SMTP server in this process capturing the mail.
//!
//! - `support`: the harness (servers, `accountd user add`, replies,
//!   `on_both_backends!`);
//! - `forgot_password`: the forgotPassword family, the exact bodies
//!   (insta snapshots in `snapshots/`), health, the command line, signals;
//! - `unicat`: the Unicat account routes;
//! - `enumeration`: enumeration protection (decoys answered exactly as
//!   real challenges at every later step, no decoy mail sent), the
//!   issuance limits of a reset by email under every covered account, a
//!   sign-up password mismatch spending a try;
//! - `mail_language`: the language of the mail (`Accept-Language`);
//! - `email_change`: the email change, its revert link and page;
//! - `account`: `account/update`, `users/get` and `username`;
//! - `delete`: `account/delete` and what a deleted account can no longer do;
//! - `projects`: the project routes (create, get, update, delete,
//!   undelete, permanent_delete, transfer), the cap under parallel creates,
//!   parallel transfers leaving one owner;
//! - `claims`: a sign-up claims the unexpired invitations of its address
//!   (the first account of the address only);
//! - `invitations`: the invitee's routes (accept, decline, leave, the
//!   public decline and `init_invite`), the decline page, parallel accepts
//!   of one row, an accept racing a remove, a leave racing a transfer;
//! - `members`: the owner's side of invitations (invite by username and
//!   by email, the shared placeholder, every refusal, the pending cap and
//!   one row per address under parallel invites, the limits), remove and
//!   both forms of `members/get`;
//! - `lifecycle`: one invitation's whole life through the routes only
//!   (invite by email, decline by the link, resend, sign-up claiming it,
//!   accept, transfer, leave);
//! - `metrics`: `GET /metrics` (each metric moving with its event, route
//!   labels that are names, never paths) and the admin listener;
//! - `audit`: every audit event written by its route and read back with
//!   `accountd audit --json`, none by a refused change, the CLI's filters,
//!   text format and refusals;
//! - `access_log`: `X-Request-Id` echoed, one access-log line per request
//!   in the binary's log carrying it, and `ACCOUNTD_LOG` switching it off;
//! - `bad_input`: bad input on every account, project and member route gets its
//!   envelope and changes nothing;
//! - `hardening`: issue 10 at the edge, the pool, the files and the
//!   outbox (U+0000 in every text field of both families, doubled
//!   `Authorization`, stalled bodies, oversized heads, every PostgreSQL
//!   connection lost, owner-only files and secret, sealed outbox bodies);
//! - `jwks`: EdDSA tokens, `GET /.well-known/jwks.json` and `accountd keys
//!   rotate` (the old key kept, the algorithm pinned, a PEM key, HS256);
//! - `sdk`: the official `unicat` Python SDK against the binary;
//! - `architecture`: the layering of docs/ARCHITECTURE.md, checked against
//!   the real dependency graph (`cargo tree`).

// The whole target is test code, but clippy's `allow-*-in-tests` only
// covers `#[test]` functions, not the scenarios and helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

#[macro_use]
mod support;

mod access_log;
mod account;
mod architecture;
mod audit;
mod bad_input;
mod claims;
mod delete;
mod email_change;
mod enumeration;
mod forgot_password;
mod hardening;
mod invitations;
mod jwks;
mod lifecycle;
mod mail_language;
mod members;
mod metrics;
mod openapi;
mod projects;
mod sdk;
mod unicat;
