//! Entry points for the fuzz targets (`fuzz/` at the repository root), not
//! part of the API: the one body parser of both families and each family's
//! reading of every route's parameters, without a server, answering what a
//! client would be answered. A target feeds them arbitrary bytes and checks
//! that every refusal is a 4xx in the family's envelope (never a panic).

use crate::body;
use actix_web::body::MessageBody;
use actix_web::HttpResponse;

/// A route's refusal of a body: its status and the body bytes sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The route (its handler's module name).
    pub route: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The response body.
    pub body: Vec<u8>,
}

pub(crate) fn refusal(route: &'static str, response: HttpResponse) -> Refusal {
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .try_into_bytes()
        .map(|b| b.to_vec())
        .unwrap_or_default();
    Refusal {
        route,
        status,
        body,
    }
}

/// What every Unicat route that reads a body answers to `bytes` (sent as a
/// form when `form`, as JSON otherwise): the refusals only, one per route
/// whose parameters the body does not give.
#[doc(hidden)]
pub fn unicat_refusals(bytes: &[u8], form: bool) -> Vec<Refusal> {
    crate::unicat::fuzzing::refusals(&body::parse_bytes(bytes, form))
}

/// What every forgotPassword route answers to `bytes`, as
/// [`unicat_refusals`] does.
#[doc(hidden)]
pub fn forgot_password_refusals(bytes: &[u8], form: bool) -> Vec<Refusal> {
    crate::forgot_password::fuzzing::refusals(&body::parse_bytes(bytes, form))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(refusals: &[Refusal]) -> Vec<(&'static str, u16, String)> {
        refusals
            .iter()
            .map(|r| {
                (
                    r.route,
                    r.status,
                    String::from_utf8_lossy(&r.body).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn a_malformed_body_is_refused_by_every_unicat_route_in_its_envelope() {
        let refusals = unicat_refusals(b"{not json", false);
        assert!(refusals.len() >= 20, "{}", refusals.len());
        for (route, status, body) in texts(&refusals) {
            assert_eq!(status, 400, "{route}");
            assert_eq!(
                body,
                r#"{"success":false,"result":{"code":400,"message":"Bad request","info":{"parameter":"body","reason":"malformed_body"}},"data":{}}"#,
                "{route}"
            );
        }
    }

    #[test]
    fn a_login_body_satisfies_login_and_not_signup() {
        let refusals = unicat_refusals(br#"{"username":"ann","password":"pw"}"#, false);
        let routes: Vec<_> = refusals.iter().map(|r| r.route).collect();
        assert!(!routes.contains(&"login"), "{routes:?}");
        let signup = texts(&refusals)
            .into_iter()
            .find(|(route, ..)| *route == "signup")
            .map(|(_, status, body)| (status, body));
        assert_eq!(
            signup,
            Some((
                400,
                r#"{"success":false,"result":{"code":400,"message":"Bad request","info":{"parameter":"email","reason":"missing"}},"data":{}}"#
                    .to_owned()
            ))
        );
    }

    #[test]
    fn forgot_password_routes_answer_their_422_maps() {
        let refusals = forgot_password_refusals(b"username=ann&code=12", true);
        assert_eq!(
            texts(&refusals),
            vec![
                ("check_code", 422, r#"{"code":["The code must be 6 digits."]}"#.to_owned()),
                (
                    "reset_password",
                    422,
                    r#"{"code":["The code must be 6 digits."],"new_password":["The new password field is required."]}"#
                        .to_owned()
                ),
            ]
        );
    }
}
