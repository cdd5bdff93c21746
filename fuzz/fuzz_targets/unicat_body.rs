//! Arbitrary request bodies (JSON, or a form when the first byte is odd)
//! through every Unicat route's reading of its parameters: each refusal is
//! a 4xx in the Unicat envelope, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    for r in accountd_http::fuzzing::unicat_refusals(body, first & 1 == 1) {
        assert!((400..500).contains(&r.status), "{}: {}", r.route, r.status);
        let Ok(Value::Object(answer)) = serde_json::from_slice::<Value>(&r.body) else {
            panic!("{}: the body is not a JSON object", r.route);
        };
        assert_eq!(
            answer.get("success"),
            Some(&Value::Bool(false)),
            "{}",
            r.route
        );
        assert_eq!(
            answer.get("data"),
            Some(&Value::Object(Default::default())),
            "{}",
            r.route
        );
        let result = answer.get("result").and_then(Value::as_object);
        assert_eq!(
            result.and_then(|r| r.get("code")).and_then(Value::as_u64),
            Some(u64::from(r.status)),
            "{}",
            r.route
        );
        assert!(
            result
                .and_then(|r| r.get("message"))
                .is_some_and(Value::is_string),
            "{}",
            r.route
        );
        assert!(
            result
                .and_then(|r| r.get("info"))
                .is_some_and(Value::is_object),
            "{}",
            r.route
        );
    }
});
