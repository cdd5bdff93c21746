//! Arbitrary passwords, usernames and addresses through the password
//! policy: it never panics, and what it accepts is within bcrypt's 72
//! bytes and at least the minimum length.
#![no_main]

use accountd_domain::{Email, PasswordPolicy};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    password: &'a str,
    username: Option<&'a str>,
    emails: Vec<&'a str>,
}

fuzz_target!(|input: Input<'_>| {
    let emails: Vec<Email> = input
        .emails
        .iter()
        .take(4)
        .filter_map(|e| Email::parse(e).ok())
        .collect();
    let policy = PasswordPolicy::DEFAULT;
    if let Ok(password) = policy.check(input.password, input.username, &emails) {
        assert_eq!(password.expose(), input.password);
        assert!(input.password.len() <= 72);
        assert!(input.password.chars().count() >= policy.min_chars());
    }
});
