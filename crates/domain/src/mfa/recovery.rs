//! Recovery codes: ten codes of ten Crockford base32 characters (50 bits
//! each), shown once, stored only as keyed MACs, each usable once.
//!
//! Display decision: a code is shown as two groups of five joined by a
//! hyphen, `XXXXX-XXXXX` (e.g. `3F9QK-7ZD0M`), so it can be read out and
//! copied in halves. What is MACed and compared is the canonical form, the
//! ten characters without the hyphen; typed input is normalised like a
//! mailed Crockford code (upper-cased, spaces and hyphens dropped anywhere,
//! `O` read as `0`, `I` and `L` as `1`), so `3f9qk 7zdom` finds the same
//! code.

use std::fmt;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::code::{crockford_char, normalize_crockford};
use crate::{CodeMac, MacKey, UserId};

/// Recovery codes issued at once (a regeneration replaces all of them).
pub const RECOVERY_CODES: usize = 10;

/// Crockford base32 characters of one code.
pub const RECOVERY_CODE_CHARS: usize = 10;

/// Random bytes a caller draws for one set of codes: one byte per
/// character, of which the low five bits pick it (uniform, since 256 is a
/// multiple of 32).
pub const RECOVERY_CODES_RANDOM_BYTES: usize = RECOVERY_CODES * RECOVERY_CODE_CHARS;

/// Characters of the first group of the display form.
const GROUP: usize = 5;

/// The MAC label of recovery codes, distinct from every other MAC made
/// under the code MAC key (challenges, revert and invitation tokens).
const MAC_LABEL: &[u8] = b"mfa-recovery-code";

/// One recovery code in canonical form (ten Crockford characters, no
/// hyphen). Neither `Debug` nor any `Display` shows it; the explicit
/// [`RecoveryCode::expose`] and [`RecoveryCode::display_form`] do.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

/// Why a typed recovery code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryCodeRejection {
    /// Not ten Crockford characters once normalised.
    #[error("a recovery code is ten letters and digits")]
    Malformed,
    /// Well formed, but none of the account's unused codes.
    #[error("wrong recovery code")]
    Wrong,
}

impl RecoveryCode {
    /// A full set of [`RECOVERY_CODES`] codes from the caller's random
    /// bytes, ten bytes per code in order.
    pub fn generate(random: &[u8; RECOVERY_CODES_RANDOM_BYTES]) -> [Self; RECOVERY_CODES] {
        std::array::from_fn(|code| {
            Self::from_random_bytes(&std::array::from_fn(|char| {
                random[code * RECOVERY_CODE_CHARS + char]
            }))
        })
    }

    /// One code from ten random bytes (the low five bits of each pick a
    /// character).
    pub fn from_random_bytes(random: &[u8; RECOVERY_CODE_CHARS]) -> Self {
        Self(random.iter().map(|b| crockford_char(*b)).collect())
    }

    /// Normalises typed input (see the module documentation); `None` unless
    /// it is ten Crockford characters.
    pub fn parse(input: &str) -> Option<Self> {
        normalize_crockford(input, RECOVERY_CODE_CHARS).map(Self)
    }

    /// The canonical form: ten characters, no hyphen.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The form shown to the user once: `XXXXX-XXXXX`.
    pub fn display_form(&self) -> String {
        let (head, tail) = self.0.split_at(GROUP.min(self.0.len()));
        format!("{head}-{tail}")
    }

    /// The MAC under which the code of `user` is stored: the code MAC key
    /// ([`crate::ServerSecret::code_mac_key`]) over a label of its own, the
    /// account and the canonical form, so equal codes of two accounts are
    /// stored differently.
    pub fn mac(&self, key: &MacKey, user: UserId) -> CodeMac {
        key.mac(&[MAC_LABEL, user.as_uuid().as_bytes(), self.0.as_bytes()])
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(***)")
    }
}

/// Which of the stored, unused codes of `user` (their MACs, `stored`) the
/// typed code is: its index in `stored`, the first if the same MAC is
/// stored twice. Every stored MAC is compared, each in constant time, and
/// the index is chosen without branching on a comparison. The caller spends
/// that code in the one write that completes the login.
pub fn match_recovery_code(
    key: &MacKey,
    user: UserId,
    stored: &[CodeMac],
    typed: &str,
) -> Result<usize, RecoveryCodeRejection> {
    let code = RecoveryCode::parse(typed).ok_or(RecoveryCodeRejection::Malformed)?;
    let mac = code.mac(key, user);
    let mut found = 0u64;
    let mut any = Choice::from(0);
    for (index, candidate) in stored.iter().enumerate() {
        let equal = candidate.as_bytes().ct_eq(mac.as_bytes());
        found = u64::conditional_select(&found, &(index as u64), equal & !any);
        any |= equal;
    }
    if bool::from(any) {
        // `found` is an index of `stored`, so it fits a usize.
        Ok(found as usize)
    } else {
        Err(RecoveryCodeRejection::Wrong)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> MacKey {
        MacKey::from_bytes([7; 32])
    }

    fn ann() -> UserId {
        UserId::from_random_bytes([1; 16])
    }

    fn bob() -> UserId {
        UserId::from_random_bytes([2; 16])
    }

    fn random() -> [u8; RECOVERY_CODES_RANDOM_BYTES] {
        std::array::from_fn(|i| i as u8)
    }

    #[test]
    fn a_set_is_ten_codes_each_from_its_ten_bytes() {
        let codes = RecoveryCode::generate(&random());
        let canon: Vec<&str> = codes.iter().map(RecoveryCode::expose).collect();
        assert_eq!(
            canon,
            [
                "0123456789",
                "ABCDEFGHJK",
                "MNPQRSTVWX",
                "YZ01234567",
                "89ABCDEFGH",
                "JKMNPQRSTV",
                "WXYZ012345",
                "6789ABCDEF",
                "GHJKMNPQRS",
                "TVWXYZ0123",
            ]
        );
    }

    #[test]
    fn only_the_low_five_bits_of_a_byte_pick_the_character() {
        let c = RecoveryCode::from_random_bytes(&[0x20, 0x3F, 0xE0, 0xFF, 0x41, 0, 31, 1, 2, 3]);
        assert_eq!(c.expose(), "0Z0Z10Z123");
    }

    #[test]
    fn a_code_is_shown_as_two_groups_of_five() {
        let c = RecoveryCode::from_random_bytes(&[3, 15, 9, 23, 19, 7, 31, 13, 0, 20]);
        assert_eq!(c.expose(), "3F9QK7ZD0M");
        assert_eq!(c.display_form(), "3F9QK-7ZD0M");
    }

    #[test]
    fn typed_codes_are_normalised_like_verification_codes() {
        for typed in [
            "3F9QK-7ZD0M",
            "3f9qk-7zd0m",
            "3F9QK7ZD0M",
            "3f9qk 7zdom",
            " 3F9-QK7-ZD0-M ",
            "3F9QK-7ZDOM",
        ] {
            assert_eq!(
                RecoveryCode::parse(typed)
                    .as_ref()
                    .map(RecoveryCode::expose),
                Some("3F9QK7ZD0M"),
                "{typed:?}"
            );
        }
        assert_eq!(
            RecoveryCode::parse("il1LI-oO0ab")
                .as_ref()
                .map(RecoveryCode::expose),
            Some("11111000AB")
        );
        for bad in [
            "",
            "3F9QK-7ZD0",
            "3F9QK-7ZD0MM",
            "3F9QK-7ZD0U",
            "3F9QK_7ZD0M",
            "3F9QK-7ZD0Ä",
        ] {
            assert!(RecoveryCode::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_typed_code_is_found_among_the_stored_macs() {
        let codes = RecoveryCode::generate(&random());
        let stored: Vec<CodeMac> = codes.iter().map(|c| c.mac(&key(), ann())).collect();
        assert_eq!(
            match_recovery_code(&key(), ann(), &stored, "MNPQR-STVWX"),
            Ok(2)
        );
        assert_eq!(
            match_recovery_code(&key(), ann(), &stored, "tvwxy z0l23"),
            Ok(9)
        );
        assert_eq!(
            match_recovery_code(&key(), ann(), &stored, "0123456789"),
            Ok(0)
        );
        assert_eq!(
            match_recovery_code(&key(), ann(), &stored[1..], "0123456789"),
            Err(RecoveryCodeRejection::Wrong),
            "a spent code is no longer stored"
        );
        assert_eq!(
            match_recovery_code(&key(), ann(), &stored, "ZZZZZ-ZZZZZ"),
            Err(RecoveryCodeRejection::Wrong)
        );
        assert_eq!(
            match_recovery_code(&key(), ann(), &stored, "MNPQR-STVW"),
            Err(RecoveryCodeRejection::Malformed)
        );
        assert_eq!(
            match_recovery_code(&key(), ann(), &[], "MNPQR-STVWX"),
            Err(RecoveryCodeRejection::Wrong)
        );
    }

    #[test]
    fn a_code_of_another_account_or_under_another_key_does_not_match() {
        let code = RecoveryCode::parse("MNPQR-STVWX").unwrap();
        let stored = [code.mac(&key(), ann())];
        assert_eq!(
            match_recovery_code(&key(), bob(), &stored, "MNPQR-STVWX"),
            Err(RecoveryCodeRejection::Wrong)
        );
        assert_eq!(
            match_recovery_code(&MacKey::from_bytes([8; 32]), ann(), &stored, "MNPQR-STVWX"),
            Err(RecoveryCodeRejection::Wrong)
        );
        assert_ne!(
            code.mac(&key(), ann()),
            key().mac(&[code.expose().as_bytes()])
        );
    }

    #[test]
    fn the_first_of_two_equal_stored_macs_is_the_match() {
        let code = RecoveryCode::parse("MNPQR-STVWX").unwrap();
        let other = RecoveryCode::parse("00000-00000").unwrap();
        let stored = [
            other.mac(&key(), ann()),
            code.mac(&key(), ann()),
            code.mac(&key(), ann()),
        ];
        assert_eq!(
            match_recovery_code(&key(), ann(), &stored, "MNPQRSTVWX"),
            Ok(1)
        );
    }

    #[test]
    fn debug_never_shows_a_recovery_code() {
        let c = RecoveryCode::parse("MNPQR-STVWX").unwrap();
        assert_eq!(format!("{c:?}"), "RecoveryCode(***)");
    }

    proptest! {
        #[test]
        fn every_generated_code_normalises_to_itself_and_matches_its_own_mac_only(
            random in proptest::collection::vec(any::<u8>(), RECOVERY_CODES_RANDOM_BYTES),
        ) {
            let random: [u8; RECOVERY_CODES_RANDOM_BYTES] = random.try_into().unwrap();
            let codes = RecoveryCode::generate(&random);
            let stored: Vec<CodeMac> = codes.iter().map(|c| c.mac(&key(), ann())).collect();
            for (i, c) in codes.iter().enumerate() {
                prop_assert_eq!(c.expose().len(), RECOVERY_CODE_CHARS);
                prop_assert_eq!(RecoveryCode::parse(c.expose()), Some(c.clone()));
                prop_assert_eq!(RecoveryCode::parse(&c.display_form()), Some(c.clone()));
                prop_assert_eq!(
                    RecoveryCode::parse(&c.display_form().to_lowercase()), Some(c.clone())
                );
                let first = codes.iter().position(|d| d == c).unwrap();
                prop_assert_eq!(match_recovery_code(&key(), ann(), &stored, &c.display_form()), Ok(first));
                prop_assert_eq!(
                    match_recovery_code(&key(), ann(), &stored[i..=i], c.expose()),
                    Ok(0)
                );
                let others: Vec<CodeMac> = codes
                    .iter()
                    .filter(|d| *d != c)
                    .map(|d| d.mac(&key(), ann()))
                    .collect();
                prop_assert_eq!(
                    match_recovery_code(&key(), ann(), &others, c.expose()),
                    Err(RecoveryCodeRejection::Wrong)
                );
            }
        }

        #[test]
        fn recovery_normalisation_is_idempotent_and_never_panics(s in "\\PC{0,24}") {
            if let Some(c) = RecoveryCode::parse(&s) {
                prop_assert_eq!(c.expose().len(), RECOVERY_CODE_CHARS);
                prop_assert_eq!(RecoveryCode::parse(c.expose()), Some(c.clone()));
            }
        }
    }
}
