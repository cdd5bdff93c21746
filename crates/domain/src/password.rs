use crate::Email;
use serde::{Deserialize, Serialize};
use std::fmt;

/// bcrypt reads at most 72 bytes; longer passwords are refused, never
/// silently truncated.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// Shortest username or email local part that a password may not *contain*
/// (shorter ones may only not *equal* it): a two-letter name would forbid
/// most passwords.
const MIN_CONTAINED_CHARS: usize = 3;

/// The password rules, identical for every route that sets a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
    min_score: u8,
}

/// Why a candidate password was refused. The `Display` text is the sentence
/// shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    /// Fewer characters than the policy's minimum.
    #[error("The password must be at least {min} characters.")]
    TooShort {
        /// The minimum, in characters.
        min: usize,
    },
    /// More than 72 bytes.
    #[error("The password may not be greater than {max} bytes.")]
    TooLong {
        /// The maximum, in bytes.
        max: usize,
    },
    /// Equal to or containing the username.
    #[error("The password must not contain the username.")]
    ContainsUsername,
    /// Equal to or containing the local part of one of the account's email addresses.
    #[error("The password must not contain the email address.")]
    ContainsEmail,
    /// The strength estimator scores it below the policy's minimum.
    #[error("The password is too easy to guess.")]
    Weak {
        /// Short hints from the estimator, possibly empty.
        suggestions: Vec<String>,
    },
}

impl PasswordPolicy {
    /// The default: at least 8 characters, zxcvbn score at least 3.
    pub const DEFAULT: Self = Self {
        min_chars: 8,
        min_score: 3,
    };

    /// A policy with the given minimum length (characters, at least 1) and
    /// minimum zxcvbn score (clamped to 0..=4).
    pub fn new(min_chars: usize, min_score: u8) -> Self {
        Self {
            min_chars: min_chars.max(1),
            min_score: min_score.min(4),
        }
    }

    /// The minimum length in characters.
    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// Checks `candidate` for an account called `username` with `emails`.
    /// Rules in order: length, byte limit, username, email local parts,
    /// strength. The first failing rule is reported.
    pub fn check(
        &self,
        candidate: &str,
        username: Option<&str>,
        emails: &[Email],
    ) -> Result<Password, PasswordRejection> {
        if candidate.chars().count() < self.min_chars {
            return Err(PasswordRejection::TooShort {
                min: self.min_chars,
            });
        }
        if candidate.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordRejection::TooLong {
                max: MAX_PASSWORD_BYTES,
            });
        }
        let lowered = candidate.to_lowercase();
        if username.is_some_and(|u| contains_personal(&lowered, u)) {
            return Err(PasswordRejection::ContainsUsername);
        }
        if emails
            .iter()
            .any(|e| contains_personal(&lowered, e.local_part()))
        {
            return Err(PasswordRejection::ContainsEmail);
        }
        if self.min_score > 0 {
            let mut inputs: Vec<&str> = emails.iter().map(Email::local_part).collect();
            inputs.extend(username);
            let estimate = zxcvbn::zxcvbn(candidate, &inputs);
            if u8::from(estimate.score()) < self.min_score {
                let suggestions = estimate
                    .feedback()
                    .map(|f| {
                        f.warning()
                            .map(|w| w.to_string())
                            .into_iter()
                            .chain(f.suggestions().iter().map(ToString::to_string))
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default();
                return Err(PasswordRejection::Weak { suggestions });
            }
        }
        Ok(Password(candidate.to_owned()))
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

fn contains_personal(lowered_password: &str, personal: &str) -> bool {
    let personal = personal.to_lowercase();
    if personal.is_empty() {
        return false;
    }
    if personal.chars().count() < MIN_CONTAINED_CHARS {
        return lowered_password == personal;
    }
    lowered_password.contains(&personal)
}

/// A plaintext password that passed the policy. Only ever held in memory on
/// its way to the hasher; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// The plaintext, for the hasher.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A password hash in bcrypt's modular crypt format. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored hash.
    pub fn new(encoded: String) -> Self {
        Self(encoded)
    }

    /// The encoded hash, for storage and verification.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STRONG: &str = "correct horse battery staple";

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    #[test]
    fn a_long_unusual_password_passes() {
        let p = PasswordPolicy::DEFAULT
            .check(STRONG, Some("ann"), &[email("ann@example.com")])
            .unwrap();
        assert_eq!(p.expose(), STRONG);
    }

    #[test]
    fn a_password_shorter_than_the_minimum_is_too_short_counting_characters() {
        let policy = PasswordPolicy::new(8, 0);
        assert_eq!(
            policy.check("äöüäöüä", None, &[]),
            Err(PasswordRejection::TooShort { min: 8 })
        );
        assert!(policy.check("äöüäöüäö", None, &[]).is_ok());
    }

    #[test]
    fn more_than_72_bytes_is_too_long_and_never_truncated() {
        let policy = PasswordPolicy::new(8, 0);
        assert!(policy.check(&"a".repeat(72), None, &[]).is_ok());
        assert_eq!(
            policy.check(&"a".repeat(73), None, &[]),
            Err(PasswordRejection::TooLong { max: 72 })
        );
        // 25 three-byte characters: 25 characters but 75 bytes.
        assert_eq!(
            policy.check(&"€".repeat(25), None, &[]),
            Err(PasswordRejection::TooLong { max: 72 })
        );
    }

    #[test]
    fn a_password_containing_the_username_in_any_case_is_refused() {
        let policy = PasswordPolicy::new(8, 0);
        assert_eq!(
            policy.check("xxJohnDoe42xx", Some("johndoe42"), &[]),
            Err(PasswordRejection::ContainsUsername)
        );
    }

    #[test]
    fn a_password_containing_an_email_local_part_is_refused() {
        let policy = PasswordPolicy::new(8, 0);
        assert_eq!(
            policy.check(
                "my-ann.lee-secret",
                Some("zed"),
                &[email("x@y.org"), email("Ann.Lee@example.com")]
            ),
            Err(PasswordRejection::ContainsEmail)
        );
    }

    #[test]
    fn very_short_personal_words_are_only_refused_when_equal() {
        let policy = PasswordPolicy::new(2, 0);
        assert!(policy.check("plum-tree-river", Some("pl"), &[]).is_ok());
        assert_eq!(
            policy.check("PL", Some("pl"), &[]),
            Err(PasswordRejection::ContainsUsername)
        );
    }

    #[test]
    fn a_weak_password_is_refused_with_the_estimators_suggestions() {
        match PasswordPolicy::DEFAULT.check("password1", None, &[]) {
            Err(PasswordRejection::Weak { suggestions }) => {
                assert!(!suggestions.is_empty());
            }
            other => panic!("expected Weak, got {other:?}"),
        }
    }

    #[test]
    fn score_zero_switches_the_strength_rule_off() {
        assert!(PasswordPolicy::new(8, 0)
            .check("password1", None, &[])
            .is_ok());
    }

    #[test]
    fn debug_output_never_shows_a_password_or_hash() {
        let p = PasswordPolicy::new(1, 0)
            .check("hunter2-secret", None, &[])
            .unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
        let h = PasswordHash::new("$2b$12$abcdefghijklmnopqrstuv".into());
        assert_eq!(format!("{h:?}"), "PasswordHash(***)");
    }

    proptest! {
        #[test]
        fn check_never_panics_and_never_accepts_over_72_bytes(s in "\\PC{0,100}") {
            if let Ok(p) = PasswordPolicy::new(1, 0).check(&s, Some("ann"), &[]) {
                prop_assert!(p.expose().len() <= 72);
            }
        }
    }
}
