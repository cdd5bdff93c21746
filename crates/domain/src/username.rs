use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest accepted username, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;

/// A valid account name: 1 to 64 characters, each a letter (any script), a
/// digit, `.`, `-` or `_`. Matching is case-sensitive where the Unicat API
/// says so, but uniqueness is caseless (full Unicode case folding of the
/// NFKC form): see [`Username::key`]. The spelling is kept for display.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

/// Why a text is not a [`Username`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Empty text.
    #[error("The username must not be empty.")]
    Empty,
    /// More than 64 characters.
    #[error("The username may not be longer than {max} characters.")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// A character that is not a letter, a digit, `.`, `-` or `_`.
    #[error("The username may only contain letters, digits, '.', '-' and '_'.")]
    InvalidCharacter,
}

impl Username {
    /// Parses a username. No trimming: surrounding spaces are an error.
    pub fn parse(text: &str) -> Result<Self, UsernameError> {
        if text.is_empty() {
            return Err(UsernameError::Empty);
        }
        if text.chars().count() > MAX_USERNAME_CHARS {
            return Err(UsernameError::TooLong {
                max: MAX_USERNAME_CHARS,
            });
        }
        if !text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(UsernameError::InvalidCharacter);
        }
        Ok(Self(text.to_owned()))
    }

    /// The name as typed at signup.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The caseless key under which usernames are unique (no `Ann` beside
    /// `ann`, `ßam` beside `ssam`, `ſkim` beside `skim`) and matched
    /// case-insensitively: see [`crate::caseless_key`].
    pub fn key(&self) -> String {
        Self::key_of(&self.0)
    }

    /// The caseless key of any text, for case-insensitive lookups of
    /// names that were typed by a client and not (yet) validated.
    pub fn key_of(text: &str) -> String {
        crate::caseless_key(text)
    }

    /// A fixed-length digest (SHA-256, hex) of the case-folded typed text,
    /// for keys stored about names that may not exist: any length of input
    /// fits an index, and no typed text (sometimes a password typed into
    /// the wrong field) is stored in clear.
    pub fn typed_key(text: &str) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(Self::key_of(text).as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Username {
    type Error = UsernameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn letters_of_any_script_digits_dots_dashes_and_underscores_are_accepted() {
        for ok in ["ann", "Ann.B-c_9", "Jürgen", "ÅsaÖberg", "日本語", "x"] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn spaces_at_signs_and_punctuation_are_rejected() {
        for bad in ["ann b", " ann", "ann@x", "a/b", "a+b", "emoji🙂"] {
            assert_eq!(
                Username::parse(bad),
                Err(UsernameError::InvalidCharacter),
                "{bad}"
            );
        }
    }

    #[test]
    fn empty_and_over_long_names_are_rejected_counting_characters_not_bytes() {
        assert_eq!(Username::parse(""), Err(UsernameError::Empty));
        assert!(Username::parse(&"ü".repeat(64)).is_ok());
        assert_eq!(
            Username::parse(&"ü".repeat(65)),
            Err(UsernameError::TooLong { max: 64 })
        );
    }

    #[test]
    fn a_typed_key_is_a_case_folded_fixed_length_digest() {
        assert_eq!(Username::typed_key("Ann"), Username::typed_key("aNN"));
        assert_ne!(Username::typed_key("ann"), Username::typed_key("anne"));
        assert_eq!(Username::typed_key(&"x".repeat(10_000)).len(), 64);
        assert!(!Username::typed_key("ann").contains("ann"));
    }

    #[test]
    fn the_key_folds_case_so_ann_and_ann_collide() {
        let a = Username::parse("Ann").unwrap();
        let b = Username::parse("aNN").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn the_key_is_unicode_caseless_so_sigma_sharp_s_long_s_and_ligatures_collide() {
        for (a, b) in [
            ("ΣΑΣ", "σας"),
            ("ΣΑΣ", "σασ"),
            ("ßam", "ssam"),
            ("ſkim", "skim"),
            ("ﬁx", "FIX"),
            ("\u{212a}ate", "kate"),
        ] {
            let (x, y) = (Username::parse(a).unwrap(), Username::parse(b).unwrap());
            assert_eq!(x.key(), y.key(), "{a} / {b}");
            assert_eq!(Username::typed_key(a), Username::typed_key(b), "{a} / {b}");
            // The spelling chosen is kept.
            assert_eq!(x.as_str(), a);
        }
    }

    proptest! {
        #[test]
        fn the_key_of_a_name_is_the_key_of_its_upper_case(s in "[\\p{L}\\p{N}._-]{1,64}") {
            prop_assert_eq!(Username::key_of(&s.to_uppercase()), Username::key_of(&s));
            if let Ok(u) = Username::parse(&s) {
                prop_assert_eq!(u.key(), Username::key_of(&s));
                prop_assert_eq!(Username::key_of(&u.key()), u.key());
            }
        }

        #[test]
        fn parse_and_key_never_panic_on_any_text(s in any::<String>()) {
            let _ = Username::key_of(&s);
            let _ = Username::typed_key(&s);
            if let Ok(u) = Username::parse(&s) {
                let _ = u.key();
            }
        }

        #[test]
        fn parse_never_panics_and_accepts_exactly_the_rule(s in "\\PC{0,80}") {
            let expected = !s.is_empty()
                && s.chars().count() <= 64
                && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
            prop_assert_eq!(Username::parse(&s).is_ok(), expected);
        }

        #[test]
        fn a_parsed_name_round_trips(s in "[a-zA-Z0-9._-]{1,64}") {
            let u = Username::parse(&s).unwrap();
            prop_assert_eq!(u.as_str(), s.as_str());
        }
    }
}
