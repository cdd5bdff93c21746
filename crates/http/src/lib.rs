//! accountd's HTTP layer on actix-web.
//!
//! What belongs here: the routes of both families (`unicat/` and
//! `forgot_password/`, one thin handler per route: extract, call the
//! service, answer, with `?` for refusals), each family's extractors (its
//! parameters, read and validated by the family's rules into the service's
//! input; the Unicat bearer-token `Caller`), each family's error type (an
//! actix `ResponseError` that builds the family's envelope) with its one
//! exhaustive mapping from every use-case error and from the shared
//! `Failure`, client-address extraction, request ids and the access log
//! (`access`: the middleware the binary wraps the app in), the limits on
//! a request's head (`head`: another such middleware), the health
//! endpoints, the token keys (`jwks`: `GET /.well-known/jwks.json`), and the few server-rendered HTML pages (`pages/`: the
//! email-change revert page and the invitation decline page), and the
//! OpenAPI document of all of them (`openapi`: `GET /api/openapi.json`,
//! built by utoipa from each handler's `#[utoipa::path]`).
//!
//! What must not: business rules (in `accountd-app` and `accountd-domain`)
//! or any adapter: this crate knows ports and use cases only.

mod access;
mod body;
mod cause;
mod client;
mod failure;
mod forgot_password;
#[doc(hidden)]
pub mod fuzzing;
mod head;
mod health;
mod jwks;
pub mod metrics;
pub mod openapi;
mod pages;
mod retry;
#[cfg(test)]
mod testing;
mod unicat;

use accountd_app::unicat::{
    AccountDeletion, Accounts, EmailChange, Invitations, Members, PasswordReset, Projects,
    Sessions, Signup,
};
use accountd_app::{Failure, ForgotPassword};
use accountd_ports::{HealthCheck, PublishedKeys};
use actix_web::{web, HttpRequest};
use std::fmt;
use std::sync::Arc;

pub use access::{access_log, ACCESS_TARGET, REQUEST_ID};
pub use client::parse_trusted_proxies;
pub use head::{head_limits, MAX_HEADER_FIELDS, MAX_HEAD_BYTES};
pub use ipnet::IpNet;

/// HTTP-level settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Request body cap in bytes (413 above it).
    pub max_body_bytes: usize,
    /// Time to receive a request body (408 after it).
    pub body_timeout: std::time::Duration,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
}

/// What the Unicat session payload shows besides stored data.
#[derive(Debug, Clone)]
pub struct UnicatInfo {
    /// `cc.version`: the server version string.
    pub version: String,
    /// `cc.languages`, serialized once: every session payload copies it.
    languages: Arc<serde_json::value::RawValue>,
}

impl UnicatInfo {
    /// `languages`: ISO 639-1 code and English name, in display order.
    pub fn new(version: String, languages: &[(String, String)]) -> Self {
        let map: serde_json::Map<String, serde_json::Value> = languages
            .iter()
            .map(|(code, name)| (code.clone(), serde_json::Value::String(name.clone())))
            .collect();
        // Serializing a map of strings cannot fail.
        let languages = serde_json::value::to_raw_value(&map).unwrap_or_default();
        Self {
            version,
            languages: Arc::from(languages),
        }
    }

    pub(crate) fn languages_json(&self) -> &serde_json::value::RawValue {
        &self.languages
    }
}

/// Everything the handlers need, shared by every worker.
#[derive(Clone)]
pub struct HttpState {
    /// The forgotPassword use cases.
    pub forgot_password: ForgotPassword,
    /// Unicat sign-up.
    pub signup: Signup,
    /// Unicat password reset.
    pub reset: PasswordReset,
    /// Login and token authentication.
    pub sessions: Sessions,
    /// Payload extras.
    pub unicat: UnicatInfo,
    /// Readiness of the storage.
    pub health: Arc<dyn HealthCheck>,
    /// HTTP settings.
    pub settings: HttpSettings,
    /// Unicat `account/delete`.
    pub account_deletion: AccountDeletion,
    /// Unicat email change and its revert.
    pub email_change: EmailChange,
    /// Unicat `account/update`, `users/get` and `username`.
    pub accounts: Accounts,
    /// Unicat `projects/*`.
    pub projects: Projects,
    /// The invitee's routes: `account/accept_invite`, `decline_invite`,
    /// `leave_project`, the public `decline_invite` and `init_invite`, and
    /// the decline page.
    pub invitations: Invitations,
    /// Unicat `p/{project}/members/*` and `members/get`.
    pub members: Members,
    /// The token keys `GET /.well-known/jwks.json` publishes.
    pub signing_keys: Arc<dyn PublishedKeys>,
}

impl fmt::Debug for HttpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The state [`configure`] registers, for the extractors.
pub(crate) fn state_of(req: &HttpRequest) -> Result<web::Data<HttpState>, Failure> {
    req.app_data::<web::Data<HttpState>>()
        .cloned()
        .ok_or_else(|| Failure::Unexpected(std::io::Error::other("no HttpState registered").into()))
}

/// The routes of the admin listener (`ACCOUNTD_ADMIN_BIND`): `/health/*`
/// (the binary adds `/metrics`); anything else answers 404 in the Unicat
/// envelope.
pub fn configure_admin(state: web::Data<HttpState>) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(state.clone())
            .configure(health::routes)
            .default_service(web::to(unicat::not_found));
    }
}

/// Registers every route; unknown routes answer 404 in the Unicat envelope.
pub fn configure(state: web::Data<HttpState>) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(state.clone())
            .configure(health::routes)
            .configure(jwks::routes)
            // Before the Unicat scope, which would take `/api/openapi.json`.
            .configure(openapi::routes)
            .configure(forgot_password::routes)
            .configure(unicat::routes)
            .configure(pages::routes)
            .default_service(web::to(unicat::not_found));
    }
}
