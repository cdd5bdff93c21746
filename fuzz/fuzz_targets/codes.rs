//! Arbitrary text as a one-time code of each format: normalising never
//! panics, and what it gives is a canonical code (six characters of the
//! format's alphabet) that normalises to itself.
#![no_main]

use accountd_domain::CodeFormat;
use libfuzzer_sys::fuzz_target;

const CROCKFORD: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fuzz_target!(|text: &str| {
    for format in [CodeFormat::Digits6, CodeFormat::Crockford6] {
        let Some(code) = format.normalize(text) else {
            continue;
        };
        assert_eq!(code.chars().count(), 6, "{format:?}");
        match format {
            CodeFormat::Digits6 => assert!(code.bytes().all(|b| b.is_ascii_digit())),
            CodeFormat::Crockford6 => assert!(code.chars().all(|c| CROCKFORD.contains(c))),
        }
        assert_eq!(
            format.normalize(&code).as_deref(),
            Some(code.as_str()),
            "{format:?}"
        );
    }
});
