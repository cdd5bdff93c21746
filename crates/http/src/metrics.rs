//! Request metrics: `accountd_http_requests_total{route,status}` and
//! `accountd_http_request_duration_seconds{route}`, recorded by
//! [`record`] (an actix `from_fn` middleware) through the `metrics`
//! facade. The `route` label is a name derived from the matched route
//! pattern ([`route_label`]), never the raw path: unknown routes share the
//! one label `unmatched`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use std::time::Instant;

/// The label of every request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// Counts the request and times it by route and status.
///
/// # Errors
/// Whatever the wrapped service answers (counted with its status).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let route = route_label(req.match_pattern().as_deref());
    let answer = next.call(req).await;
    let status = match &answer {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    metrics::counter!(
        "accountd_http_requests_total",
        "route" => route.clone(),
        "status" => status.as_str().to_owned(),
    )
    .increment(1);
    metrics::histogram!("accountd_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    answer
}

/// The metric name of a route pattern: the Unicat routes (`/api/...`)
/// become `unicat.` and their literal segments joined by dots
/// (`/api/p/{project}/members/get` is `unicat.p.members.get`), the
/// forgotPassword routes `forgot_password.` and the snake-cased step
/// (`forgot_password.send_email`), `/health/*` and `/metrics` keep their
/// segments (`health.ready`, `metrics`), and the pages get `page.`
/// (`page.invite.decline`); `/.well-known/jwks.json` is `jwks`.
/// Parameters (`{project}`) are left out; no pattern at all is
/// [`UNMATCHED`].
pub fn route_label(pattern: Option<&str>) -> String {
    let Some(pattern) = pattern else {
        return UNMATCHED.to_owned();
    };
    if pattern == crate::jwks::PATH {
        return "jwks".to_owned();
    }
    let (family, rest) = if let Some(rest) = pattern.strip_prefix("/api/auth/forgotPassword") {
        ("forgot_password", rest)
    } else if let Some(rest) = pattern.strip_prefix("/api") {
        ("unicat", rest)
    } else if pattern.starts_with("/health") || pattern.starts_with("/metrics") {
        ("", pattern)
    } else {
        ("page", pattern)
    };
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .map(snake_case)
        .collect();
    if segments.is_empty() {
        return UNMATCHED.to_owned();
    }
    let family = (!family.is_empty()).then(|| family.to_owned());
    family
        .into_iter()
        .chain(segments)
        .collect::<Vec<_>>()
        .join(".")
}

/// `sendEmail` → `send_email`, `revert-email` → `revert_email`; anything but
/// ASCII letters, digits and `_` becomes `_`.
fn snake_case(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len() + 4);
    for c in segment.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{middleware::from_fn, test as actix_test, web, App, HttpResponse};

    #[test]
    fn route_patterns_become_fixed_names_without_their_parameters() {
        for (pattern, label) in [
            (Some("/api/login"), "unicat.login"),
            (
                Some("/api/account/update_email"),
                "unicat.account.update_email",
            ),
            (Some("/api/p/{project}/members/get"), "unicat.p.members.get"),
            (Some("/api/members/get"), "unicat.members.get"),
            (
                Some("/api/auth/forgotPassword/sendEmail"),
                "forgot_password.send_email",
            ),
            (
                Some("/api/auth/forgotPassword/resetPassword"),
                "forgot_password.reset_password",
            ),
            (Some("/health/ready"), "health.ready"),
            (Some("/metrics"), "metrics"),
            (Some("/.well-known/jwks.json"), "jwks"),
            (Some("/account/revert-email"), "page.account.revert_email"),
            (Some("/invite/decline"), "page.invite.decline"),
            (Some("/"), UNMATCHED),
            (None, UNMATCHED),
        ] {
            assert_eq!(route_label(pattern), label, "{pattern:?}");
        }
    }

    /// What actix reports as the pattern of a request, as the middleware
    /// sees it: the route's pattern, never the path; `None` off the routes.
    #[actix_web::test]
    async fn the_middleware_sees_the_pattern_not_the_path() {
        let app = actix_test::init_service(
            App::new()
                .wrap(from_fn(
                    |req: ServiceRequest, next: Next<actix_web::body::BoxBody>| async move {
                        let label = route_label(req.match_pattern().as_deref());
                        let res = next.call(req).await?;
                        Ok(res.map_body(move |_, _| actix_web::body::BoxBody::new(label)))
                    },
                ))
                .service(
                    web::scope("/api")
                        .route("/login", web::post().to(HttpResponse::Ok))
                        .route("/p/{project}/members/get", web::post().to(HttpResponse::Ok)),
                )
                .default_service(web::to(HttpResponse::NotFound)),
        )
        .await;
        for (path, label) in [
            ("/api/login", "unicat.login"),
            ("/api/p/abc123/members/get", "unicat.p.members.get"),
            ("/api/p/abc123/nothing", UNMATCHED),
            ("/api/no/such/route", UNMATCHED),
            ("/elsewhere", UNMATCHED),
        ] {
            let req = actix_test::TestRequest::post().uri(path).to_request();
            let body = actix_test::call_and_read_body(&app, req).await;
            assert_eq!(body, label.as_bytes(), "{path}");
        }
    }
}
