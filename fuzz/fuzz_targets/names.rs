//! Arbitrary text as a username and as an email address: parsing never
//! panics, a parsed value keeps the text as typed (an address trimmed),
//! keys are stable, an accepted address holds no control character or
//! space (it goes into mail headers), and a masked address shows only the
//! first character of its local part.
#![no_main]

use accountd_domain::{Email, Username};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(name) = Username::parse(text) {
        assert_eq!(name.as_str(), text);
        assert_eq!(name.key(), Username::key_of(text));
        assert_eq!(
            Username::key_of(&name.key()),
            name.key(),
            "folding twice changes nothing"
        );
    }
    let typed = Username::typed_key(text);
    assert_eq!(typed.len(), 64);
    assert!(typed.bytes().all(|b| b.is_ascii_hexdigit()));

    if let Ok(email) = Email::parse(text) {
        // Surrounding whitespace is trimmed; nothing else changes.
        let text = text.trim();
        assert_eq!(email.as_str(), text);
        // An accepted address can go into a mail header as it is.
        assert!(
            !text.chars().any(|c| c.is_control() || c.is_whitespace()),
            "{text:?}"
        );
        let Some((local, domain)) = text.rsplit_once('@') else {
            panic!("an address without @ was accepted");
        };
        assert_eq!(email.local_part(), local);
        let first: String = local.chars().take(1).collect();
        assert_eq!(email.masked(), format!("{first}***@{domain}"));
    }
});
