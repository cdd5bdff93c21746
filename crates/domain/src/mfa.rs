//! Second factors: TOTP, recovery codes, and what an account's factors mean
//! at login (the accountd extension of `spec/mfa.md`).
//!
//! What belongs here, pure: the TOTP secret and its verification with the
//! time and the last used step passed in ([`TotpSecret::verify`]); the
//! recovery codes built from random bytes passed in, their display and
//! normalised forms and their MACs ([`RecoveryCode`],
//! [`match_recovery_code`]); the `methods` list of a 1005 answer
//! ([`AccountFactors`], [`MfaMethod`]); the `amr` values of a token and the
//! rule of which count as a second factor ([`Amr`],
//! [`amr_has_second_factor`]); and the limits of the spec as constants.
//! Passkeys (WebAuthn) are verified by a maintained crate outside the
//! domain; here they are only counted. What must not: reading a clock,
//! drawing the secret or the codes, storing the last used step or spending a
//! recovery code — the caller does those, through the ports, in the one
//! write of its use case.

mod recovery;
mod totp;

pub use recovery::{
    match_recovery_code, RecoveryCode, RecoveryCodeRejection, RECOVERY_CODES,
    RECOVERY_CODES_RANDOM_BYTES, RECOVERY_CODE_CHARS,
};
pub use totp::{
    TotpRejection, TotpSecret, TotpStep, TOTP_DIGITS, TOTP_DRIFT_STEPS, TOTP_SECRET_BYTES,
    TOTP_STEP_SECONDS,
};

use serde::{Deserialize, Serialize};

/// At most this many passkeys per account (an 11th → `too_many_passkeys`).
pub const MAX_PASSKEYS: usize = 10;

/// Wrong tries allowed per ceremony (TOTP `begin`, a WebAuthn ceremony) and
/// per `mfa_token`: the 5th wrong one spends it.
pub const MFA_MAX_WRONG_TRIES: u32 = 5;

/// Lifetime of a ceremony and of an `mfa_token`, in seconds (5 minutes).
pub const MFA_CEREMONY_SECONDS: i64 = 300;

/// Whether an account holding `passkeys` passkeys may register another.
pub fn may_add_passkey(passkeys: usize) -> bool {
    passkeys < MAX_PASSKEYS
}

/// One way to pass the second step of a login, as named in `methods`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaMethod {
    /// A WebAuthn assertion (`"passkey"`).
    Passkey,
    /// A TOTP code (`"totp"`).
    Totp,
    /// One of the recovery codes (`"recovery_code"`).
    RecoveryCode,
}

impl MfaMethod {
    /// The name in a `methods` list.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passkey => "passkey",
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
        }
    }

    /// The `amr` value a token gets when this method passed the second step.
    pub fn amr(self) -> Amr {
        match self {
            Self::Passkey => Amr::Hwk,
            Self::Totp => Amr::Otp,
            Self::RecoveryCode => Amr::Rec,
        }
    }
}

/// What an account has for a second step: its passkeys, whether TOTP is
/// on, how many recovery codes are left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountFactors {
    passkeys: usize,
    totp: bool,
    recovery_codes_left: usize,
}

impl AccountFactors {
    /// The factors of an account.
    pub fn new(passkeys: usize, totp: bool, recovery_codes_left: usize) -> Self {
        Self {
            passkeys,
            totp,
            recovery_codes_left,
        }
    }

    /// Whether the account has a second factor, so that a right password
    /// alone opens no session (the 1005 answer) and recent auth needs one:
    /// a passkey or TOTP. Recovery codes are not a factor of their own (they
    /// exist only beside one: removing the last factor removes them).
    pub fn has_factor(&self) -> bool {
        self.passkeys > 0 || self.totp
    }

    /// The `methods` of a 1005 answer or of a `reauthentication_required`,
    /// in the spec's order `passkey`, `totp`, `recovery_code`: each one the
    /// account has, `recovery_code` only while codes are left. Empty when
    /// the account has no factor.
    pub fn methods(&self) -> Vec<MfaMethod> {
        if !self.has_factor() {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(3);
        if self.passkeys > 0 {
            out.push(MfaMethod::Passkey);
        }
        if self.totp {
            out.push(MfaMethod::Totp);
        }
        if self.recovery_codes_left > 0 {
            out.push(MfaMethod::RecoveryCode);
        }
        out
    }

    /// Whether `method` may be used at the second step of this account.
    pub fn allows(&self, method: MfaMethod) -> bool {
        self.methods().contains(&method)
    }
}

/// An authentication method reference of a session token (RFC 8176 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Amr {
    /// A password (`"pwd"`).
    Pwd,
    /// A one-time password: TOTP (`"otp"`).
    Otp,
    /// A hardware-bound key: a passkey (`"hwk"`).
    Hwk,
    /// A recovery code (`"rec"`).
    Rec,
}

impl Amr {
    /// The value in a token's `amr` claim.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pwd => "pwd",
            Self::Otp => "otp",
            Self::Hwk => "hwk",
            Self::Rec => "rec",
        }
    }

    /// Parses a claim value; `None` for any other string.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pwd" => Some(Self::Pwd),
            "otp" => Some(Self::Otp),
            "hwk" => Some(Self::Hwk),
            "rec" => Some(Self::Rec),
            _ => None,
        }
    }

    /// Whether this method is a second factor (`otp`, `rec`, `hwk`).
    pub fn is_second_factor(self) -> bool {
        matches!(self, Self::Otp | Self::Hwk | Self::Rec)
    }
}

/// Whether a token whose `amr` is `amr` passed a second factor, as recent
/// auth of an account with a factor requires: it holds `otp`, `rec` or
/// `hwk` (a passkey with user verification counts as two factors, so
/// `["hwk"]` alone is enough).
pub fn amr_has_second_factor(amr: &[Amr]) -> bool {
    amr.iter().any(|a| a.is_second_factor())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(f: AccountFactors) -> Vec<&'static str> {
        f.methods().into_iter().map(MfaMethod::as_str).collect()
    }

    #[test]
    fn methods_list_what_the_account_has_in_the_specs_order() {
        assert_eq!(
            names(AccountFactors::new(2, true, 10)),
            ["passkey", "totp", "recovery_code"]
        );
        assert_eq!(
            names(AccountFactors::new(0, true, 3)),
            ["totp", "recovery_code"]
        );
        assert_eq!(
            names(AccountFactors::new(1, false, 1)),
            ["passkey", "recovery_code"]
        );
        assert_eq!(names(AccountFactors::new(1, true, 0)), ["passkey", "totp"]);
        assert_eq!(names(AccountFactors::new(0, true, 0)), ["totp"]);
    }

    #[test]
    fn an_account_without_passkey_or_totp_has_no_factor_even_with_codes_left() {
        let none = AccountFactors::new(0, false, 0);
        assert!(!none.has_factor());
        assert!(none.methods().is_empty());
        let codes_only = AccountFactors::new(0, false, 4);
        assert!(!codes_only.has_factor());
        assert!(codes_only.methods().is_empty());
        assert!(!codes_only.allows(MfaMethod::RecoveryCode));
        assert!(AccountFactors::new(1, false, 0).has_factor());
        assert!(AccountFactors::new(0, true, 0).has_factor());
    }

    #[test]
    fn a_method_is_allowed_only_when_listed() {
        let f = AccountFactors::new(0, true, 0);
        assert!(f.allows(MfaMethod::Totp));
        assert!(!f.allows(MfaMethod::Passkey));
        assert!(!f.allows(MfaMethod::RecoveryCode));
    }

    #[test]
    fn methods_serialise_as_their_names() {
        let json = serde_json::to_string(&AccountFactors::new(1, true, 1).methods()).unwrap();
        assert_eq!(json, r#"["passkey","totp","recovery_code"]"#);
    }

    #[test]
    fn amr_values_have_their_rfc_8176_names_and_parse_back() {
        for (a, s) in [
            (Amr::Pwd, "pwd"),
            (Amr::Otp, "otp"),
            (Amr::Hwk, "hwk"),
            (Amr::Rec, "rec"),
        ] {
            assert_eq!(a.as_str(), s);
            assert_eq!(Amr::parse(s), Some(a));
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<Amr>(&format!("\"{s}\"")).unwrap(), a);
        }
        assert_eq!(Amr::parse("PWD"), None);
        assert_eq!(Amr::parse("mfa"), None);
    }

    #[test]
    fn each_method_gives_its_amr() {
        assert_eq!(MfaMethod::Passkey.amr(), Amr::Hwk);
        assert_eq!(MfaMethod::Totp.amr(), Amr::Otp);
        assert_eq!(MfaMethod::RecoveryCode.amr(), Amr::Rec);
    }

    #[test]
    fn a_token_counts_as_second_factor_with_otp_rec_or_hwk_only() {
        assert!(!amr_has_second_factor(&[]));
        assert!(!amr_has_second_factor(&[Amr::Pwd]));
        assert!(amr_has_second_factor(&[Amr::Pwd, Amr::Otp]));
        assert!(amr_has_second_factor(&[Amr::Pwd, Amr::Rec]));
        assert!(amr_has_second_factor(&[Amr::Pwd, Amr::Hwk]));
        assert!(amr_has_second_factor(&[Amr::Hwk]));
    }

    #[test]
    fn the_limits_are_those_of_the_spec() {
        assert_eq!(MAX_PASSKEYS, 10);
        assert_eq!(RECOVERY_CODES, 10);
        assert_eq!(MFA_MAX_WRONG_TRIES, 5);
        assert_eq!(MFA_CEREMONY_SECONDS, 5 * 60);
        assert!(may_add_passkey(9));
        assert!(!may_add_passkey(10));
        assert!(!may_add_passkey(11));
    }
}
