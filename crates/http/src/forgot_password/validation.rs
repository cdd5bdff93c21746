//! The forgotPassword request rules, as DatePoll (Laravel) applies them:
//! every failing field listed, keys in rule order (`code`, `username`,
//! `new_password`), one message per field, `required` first; and
//! [`Validated`], the extractor that reads a route's body and applies them.

use super::ForgotPasswordError;
use crate::body::{self, BodyError};
use actix_web::{dev, FromRequest, HttpRequest};
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;

/// The fields of the family, in rule order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Code,
    Username,
    NewPassword,
}

impl Field {
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Username => "username",
            Self::NewPassword => "new_password",
        }
    }

    /// The attribute in messages: the key with `_` replaced by a space.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Username => "username",
            Self::NewPassword => "new password",
        }
    }
}

/// Longest username, in characters.
const USERNAME_MAX: usize = 190;
/// Shortest new password at the validation stage (the policy follows).
const NEW_PASSWORD_MIN: usize = 6;

/// The validated values. `Debug` leaves the code and password out.
#[derive(Default)]
pub(crate) struct Valid {
    pub code: String,
    pub username: String,
    pub new_password: String,
}

impl std::fmt::Debug for Valid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Valid")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A map of field → messages, in rule order (the 422 body).
pub(crate) type Failures = Map<String, Value>;

/// Laravel's `required`: missing, null, a string of only whitespace, or an
/// empty array or object.
fn is_missing(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    }
}

fn check(field: Field, v: Option<&Value>, nul: bool) -> Result<String, String> {
    let attr = field.attribute();
    if is_missing(v) {
        return Err(format!("The {attr} field is required."));
    }
    // U+0000 (see `crate::body`): refused before it can reach a query.
    if nul {
        return Err(format!("The {attr} format is invalid."));
    }
    match (field, v) {
        (Field::Code, Some(Value::String(s))) => {
            let t = s.trim();
            if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
                Ok(t.to_owned())
            } else {
                Err(format!("The {attr} must be 6 digits."))
            }
        }
        (Field::Code, Some(Value::Number(n))) => {
            let t = n.to_string();
            if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
                Ok(t)
            } else {
                Err(format!("The {attr} must be 6 digits."))
            }
        }
        (Field::Code, _) => Err(format!("The {attr} must be 6 digits.")),
        (Field::Username, Some(Value::String(s))) => {
            let t = s.trim();
            if t.chars().count() > USERNAME_MAX {
                Err(format!(
                    "The {attr} may not be greater than {USERNAME_MAX} characters."
                ))
            } else {
                Ok(t.to_owned())
            }
        }
        (Field::NewPassword, Some(Value::String(s))) => {
            if s.chars().count() < NEW_PASSWORD_MIN {
                Err(format!(
                    "The {attr} must be at least {NEW_PASSWORD_MIN} characters."
                ))
            } else {
                Ok(s.clone())
            }
        }
        (Field::Username | Field::NewPassword, _) => Err(format!("The {attr} must be a string.")),
    }
}

/// Applies the rules of `fields` (given in rule order) to `body`.
/// The top-level fields `nul` hold U+0000 (see `crate::body`).
pub(crate) fn validate(
    body: &Map<String, Value>,
    nul: &[String],
    fields: &[Field],
) -> Result<Valid, Failures> {
    let mut valid = Valid::default();
    let mut failures = Failures::new();
    for &field in fields {
        let tainted = nul.iter().any(|t| t == field.key());
        match check(field, body.get(field.key()), tainted) {
            Ok(v) => match field {
                Field::Code => valid.code = v,
                Field::Username => valid.username = v,
                Field::NewPassword => valid.new_password = v,
            },
            Err(message) => {
                failures.insert(
                    field.key().to_owned(),
                    Value::Array(vec![Value::String(message)]),
                );
            }
        }
    }
    if failures.is_empty() {
        Ok(valid)
    } else {
        Err(failures)
    }
}

/// A route's body: the fields it validates, in rule order, and what it
/// makes of the valid values.
pub(crate) trait FromValid: Sized + 'static {
    /// The route's fields, in rule order.
    const FIELDS: &'static [Field];

    /// The route's input from the valid values.
    fn from_valid(valid: Valid) -> Self;
}

/// A route's validated body: 413 over the cap; a malformed body is an empty
/// one (every field missing); 422 with the failures map, in which a field
/// holding U+0000 is "The … format is invalid." (a NUL in a field the
/// route does not read is ignored with the field: it reaches nothing).
#[derive(Debug)]
pub(crate) struct Validated<T>(pub T);

impl<T: FromValid> FromRequest for Validated<T> {
    type Error = ForgotPasswordError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ForgotPasswordError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let body = body::take(req, payload);
        Box::pin(async move { Ok(Self(from_body(body.await?)?)) })
    }
}

/// A route's input from its read body, by the rules of [`Validated`].
pub(crate) fn from_body<T: FromValid>(
    body: Result<Map<String, Value>, BodyError>,
) -> Result<T, ForgotPasswordError> {
    let (body, nul) = match body {
        Ok(map) => (map, Vec::new()),
        Err(BodyError::Nul(nul)) => (nul.fields, nul.tainted),
        Err(BodyError::Malformed) => (Map::new(), Vec::new()),
        Err(BodyError::TooLarge) => return Err(ForgotPasswordError::PayloadTooLarge),
        Err(BodyError::TimedOut) => return Err(ForgotPasswordError::RequestTimeout),
    };
    let valid = validate(&body, &nul, T::FIELDS).map_err(ForgotPasswordError::Invalid)?;
    Ok(T::from_valid(valid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL: &[Field] = &[Field::Code, Field::Username, Field::NewPassword];

    fn run(body: Value) -> String {
        let Value::Object(map) = body else {
            panic!("object")
        };
        match validate(&map, &[], ALL) {
            Ok(v) => format!("ok {} {} {}", v.code, v.username, v.new_password),
            Err(f) => Value::Object(f).to_string(),
        }
    }

    #[test]
    fn every_missing_field_is_listed_in_rule_order() {
        assert_eq!(
            run(json!({})),
            r#"{"code":["The code field is required."],"username":["The username field is required."],"new_password":["The new password field is required."]}"#
        );
    }

    #[test]
    fn null_blank_and_empty_containers_count_as_missing() {
        assert_eq!(
            run(json!({"code": null, "username": "   ", "new_password": []})),
            r#"{"code":["The code field is required."],"username":["The username field is required."],"new_password":["The new password field is required."]}"#
        );
    }

    #[test]
    fn a_code_must_be_six_digits_as_text_or_number() {
        assert_eq!(
            run(json!({"code": 482901, "username": "ann", "new_password": "abcdef"})),
            "ok 482901 ann abcdef"
        );
        assert_eq!(
            run(json!({"code": " 012345 ", "username": "ann", "new_password": "abcdef"})),
            "ok 012345 ann abcdef"
        );
        for bad in [
            json!("12345"),
            json!("1234567"),
            json!("12a456"),
            json!(1234567),
            json!(-12345),
            json!(482901.5),
            json!(true),
            json!(["482901"]),
        ] {
            assert_eq!(
                run(json!({"code": bad, "username": "ann", "new_password": "abcdef"})),
                r#"{"code":["The code must be 6 digits."]}"#,
                "{bad}"
            );
        }
    }

    #[test]
    fn non_strings_where_strings_are_expected_are_refused() {
        assert_eq!(
            run(json!({"code": "482901", "username": 42, "new_password": {"a": 1}})),
            r#"{"username":["The username must be a string."],"new_password":["The new password must be a string."]}"#
        );
    }

    #[test]
    fn lengths_are_counted_in_characters() {
        let name = "ü".repeat(190);
        assert!(
            run(json!({"code": "482901", "username": name, "new_password": "ääääää"}))
                .starts_with("ok")
        );
        assert_eq!(
            run(json!({"code": "482901", "username": "ü".repeat(191), "new_password": "äääää"})),
            r#"{"username":["The username may not be greater than 190 characters."],"new_password":["The new password must be at least 6 characters."]}"#
        );
    }
}
