use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Longest accepted address, in bytes (RFC 5321 path limit).
pub const MAX_EMAIL_BYTES: usize = 254;

/// A syntactically valid email address. Compared caselessly (see
/// [`Email::key`]); kept as typed for display and delivery.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// Why a text is not an [`Email`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Not an address of the form `local@domain`.
    #[error("The email must be a valid email address.")]
    Invalid,
    /// Longer than 254 bytes.
    #[error("The email may not be greater than 254 characters.")]
    TooLong,
}

impl Email {
    /// Parses an address (surrounding whitespace is trimmed). Display names
    /// (`Ann <ann@example.com>`) and addresses without a dot-free domain
    /// part are refused: the text must be a bare deliverable address.
    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let text = text.trim();
        if text.len() > MAX_EMAIL_BYTES {
            return Err(EmailError::TooLong);
        }
        if text.contains(['<', '>', ' ', '\r', '\n', '\t']) {
            return Err(EmailError::Invalid);
        }
        let parsed =
            email_address::EmailAddress::from_str(text).map_err(|_| EmailError::Invalid)?;
        // `email_address` accepts quoted local parts and IP-literal domains;
        // both are legal but almost always a mistake in a sign-up form.
        let domain = parsed.domain();
        if domain.starts_with('[') || parsed.local_part().starts_with('"') {
            return Err(EmailError::Invalid);
        }
        Ok(Self(text.to_owned()))
    }

    /// The stand-in recipient of a decoy mail (enumeration protection):
    /// an address of the reserved `.invalid` domain (RFC 2606). A decoy
    /// mail is stored as such and never sent.
    pub fn decoy() -> Self {
        Self("decoy@decoy.invalid".to_owned())
    }

    /// The address as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The caseless key under which addresses are compared (full Unicode
    /// case folding of the NFKC form, as for usernames: see
    /// [`crate::caseless_key`]). Mail never goes to a key or to a typed
    /// spelling that merely matches one: only to stored addresses.
    pub fn key(&self) -> String {
        crate::caseless_key(&self.0)
    }

    /// The part before the last `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or(self.0.as_str(), |(l, _)| l)
    }

    /// The address masked for logs: `a***@example.com`.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

/// Debug output is masked: addresses are personal data and never reach logs.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_addresses_parse_and_compare_case_insensitively() {
        let a = Email::parse("Ann.Lee+x@Example.COM").unwrap();
        let b = Email::parse("ann.lee+x@example.com").unwrap();
        assert_eq!(a.key(), b.key());
        assert_eq!(a.as_str(), "Ann.Lee+x@Example.COM");
        assert_eq!(a.local_part(), "Ann.Lee+x");
    }

    #[test]
    fn addresses_compare_unicode_caselessly_and_keep_their_spelling() {
        let stored = Email::parse("kate@kayak.com").unwrap();
        for typed in ["\u{212a}ate@kayak.com", "KATE@KAYAK.COM", "Kate@Kayak.com"] {
            let e = Email::parse(typed).unwrap();
            assert_eq!(e.key(), stored.key(), "{typed}");
            assert_eq!(e.as_str(), typed);
        }
        let a = Email::parse("stra\u{df}e@example.com").unwrap();
        let b = Email::parse("STRASSE@example.com").unwrap();
        assert_eq!(a.key(), b.key());
        assert_ne!(
            Email::parse("ann@example.com").unwrap().key(),
            Email::parse("anne@example.com").unwrap().key()
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@@example.com",
            "Ann <ann@example.com>",
            "ann@[127.0.0.1]",
            "\"a b\"@example.com",
            "ann@exa mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn over_long_addresses_are_refused() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn debug_output_masks_the_address() {
        let e = Email::parse("ann@example.com").unwrap();
        assert_eq!(format!("{e:?}"), "Email(a***@example.com)");
        assert!(!format!("{e:?}").contains("ann@"));
    }

    proptest! {
        #[test]
        fn parse_and_key_never_panic(s in "\\PC{0,300}") {
            if let Ok(e) = Email::parse(&s) {
                let key = e.key();
                prop_assert_eq!(crate::caseless_key(&key), key);
            }
        }

        #[test]
        fn the_key_of_an_address_is_the_key_of_its_upper_case(local in "\\p{L}{1,20}", domain in "[a-z]{1,20}\\.[a-z]{2,6}") {
            let text = format!("{local}@{domain}");
            if let (Ok(a), Ok(b)) = (Email::parse(&text), Email::parse(&text.to_uppercase())) {
                prop_assert_eq!(a.key(), b.key());
            }
        }

        #[test]
        fn simple_addresses_round_trip(local in "[a-z0-9]{1,20}", domain in "[a-z]{1,20}\\.[a-z]{2,6}") {
            let text = format!("{local}@{domain}");
            let e = Email::parse(&text).unwrap();
            prop_assert_eq!(e.as_str(), text.as_str());
            prop_assert_eq!(e.local_part(), local.as_str());
        }
    }
}
