//! Arbitrary request bodies (JSON, or a form when the first byte is odd)
//! through every forgotPassword route's validation: each refusal is the
//! 422 field map (every value a list of messages) or a `msg` body, never a
//! panic, and never echoes a typed value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    for r in accountd_http::fuzzing::forgot_password_refusals(body, first & 1 == 1) {
        assert!((400..500).contains(&r.status), "{}: {}", r.route, r.status);
        let Ok(Value::Object(answer)) = serde_json::from_slice::<Value>(&r.body) else {
            panic!("{}: the body is not a JSON object", r.route);
        };
        if r.status == 422 && !answer.contains_key("msg") {
            assert!(!answer.is_empty(), "{}", r.route);
            for (field, messages) in &answer {
                assert!(
                    ["code", "username", "new_password"].contains(&field.as_str()),
                    "{}: {field}",
                    r.route
                );
                let Some(messages) = messages.as_array() else {
                    panic!("{}: {field} is not a list", r.route);
                };
                assert_eq!(messages.len(), 1, "{}: {field}", r.route);
                // Fixed texts only: the attribute's name, never its value.
                let text = messages[0].as_str().unwrap_or_default();
                assert!(text.starts_with("The "), "{}: {text}", r.route);
            }
        } else {
            assert!(
                answer.get("msg").is_some_and(Value::is_string),
                "{}",
                r.route
            );
        }
    }
});
