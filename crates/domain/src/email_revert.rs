//! The revert link of an email change.
//!
//! When an account's primary address changes, the old address gets a
//! notice with a link that undoes the change. The link carries a 256-bit
//! token drawn by the caller; only its keyed MAC ([`EmailRevert::token_mac`],
//! domain-separated from every challenge MAC) is stored, with the account,
//! the address to restore (the primary address the change replaced) and the
//! one that replaced it. A token is usable once, until it expires; a revert
//! spends every token of the account.

use crate::{CodeMac, Email, MacKey, Timestamp, UserId};

/// One issued revert token, as stored (its MAC, never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailRevert {
    token_mac: CodeMac,
    user: UserId,
    restore: Email,
    replaced_by: Email,
    created_at: Timestamp,
    expires_at: Timestamp,
    spent_at: Option<Timestamp>,
}

impl EmailRevert {
    /// The MAC under which the token `token` is stored and found.
    pub fn token_mac(key: &MacKey, token: &str) -> CodeMac {
        key.mac(&[b"email-revert", token.as_bytes()])
    }

    /// A new, unspent token for `user`: a revert restores `restore`, the
    /// address `replaced_by` took the place of; valid `valid_seconds` from
    /// `now`.
    pub fn issue(
        key: &MacKey,
        token: &str,
        user: UserId,
        restore: Email,
        replaced_by: Email,
        now: Timestamp,
        valid_seconds: i64,
    ) -> Self {
        Self {
            token_mac: Self::token_mac(key, token),
            user,
            restore,
            replaced_by,
            created_at: now,
            expires_at: now.plus_seconds(valid_seconds),
            spent_at: None,
        }
    }

    /// A token as stored (for adapters).
    pub fn restore_stored(
        token_mac: CodeMac,
        user: UserId,
        restore: Email,
        replaced_by: Email,
        created_at: Timestamp,
        expires_at: Timestamp,
        spent_at: Option<Timestamp>,
    ) -> Self {
        Self {
            token_mac,
            user,
            restore,
            replaced_by,
            created_at,
            expires_at,
            spent_at,
        }
    }

    /// Whether a revert may use it at `now`: never spent, and `now` is
    /// before its expiry.
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.spent_at.is_none() && now < self.expires_at
    }

    /// The stored MAC of the token.
    pub fn mac(&self) -> &CodeMac {
        &self.token_mac
    }

    /// The account.
    pub fn user(&self) -> UserId {
        self.user
    }

    /// The address a revert restores as the primary address.
    pub fn restores(&self) -> &Email {
        &self.restore
    }

    /// The address that replaced it.
    pub fn replaced_by(&self) -> &Email {
        &self.replaced_by
    }

    /// When the token was issued.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// From this instant on the token is refused.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// When a revert spent it, if one did.
    pub fn spent_at(&self) -> Option<Timestamp> {
        self.spent_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Challenge;

    fn key() -> MacKey {
        MacKey::from_bytes([7; 32])
    }

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_millis(1_700_000_000_000).plus_seconds(secs)
    }

    fn revert() -> EmailRevert {
        EmailRevert::issue(
            &key(),
            "tok",
            UserId::from_random_bytes([1; 16]),
            Email::parse("old@example.com").unwrap(),
            Email::parse("new@example.com").unwrap(),
            t(0),
            60,
        )
    }

    #[test]
    fn a_new_token_is_stored_as_its_mac_and_usable_until_its_expiry_instant() {
        let r = revert();
        assert_eq!(r.mac(), &EmailRevert::token_mac(&key(), "tok"));
        assert_eq!(r.expires_at(), t(60));
        assert_eq!(r.created_at(), t(0));
        assert_eq!(r.restores().as_str(), "old@example.com");
        assert_eq!(r.replaced_by().as_str(), "new@example.com");
        assert!(r.is_usable(t(59)));
        assert!(!r.is_usable(t(60)));
    }

    #[test]
    fn a_spent_token_is_not_usable() {
        let r = revert();
        let spent = EmailRevert::restore_stored(
            *r.mac(),
            r.user(),
            r.restores().clone(),
            r.replaced_by().clone(),
            r.created_at(),
            r.expires_at(),
            Some(t(1)),
        );
        assert!(!spent.is_usable(t(2)));
        assert_eq!(spent.spent_at(), Some(t(1)));
    }

    #[test]
    fn a_token_mac_depends_on_the_token_and_differs_from_a_validation_code_mac() {
        assert_ne!(
            EmailRevert::token_mac(&key(), "tok"),
            EmailRevert::token_mac(&key(), "tok2")
        );
        assert_ne!(
            EmailRevert::token_mac(&key(), "tok"),
            Challenge::lookup_mac(&key(), crate::Purpose::ChangeEmail, "tok")
        );
    }
}
