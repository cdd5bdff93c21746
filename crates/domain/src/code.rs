use serde::{Deserialize, Serialize};
use std::fmt;
use subtle::ConstantTimeEq;

/// Crockford's base32 alphabet: digits and upper-case letters without I, L, O, U.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The shape of a mailed one-time code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodeFormat {
    /// Six decimal digits, uniform in 100000..=999999 (forgotPassword).
    Digits6,
    /// Six Crockford base32 characters, about 30 bits (Unicat).
    Crockford6,
}

impl CodeFormat {
    /// Normalises user input into the canonical form, or `None` when it
    /// cannot be a code of this format. For Crockford codes: upper-cased,
    /// spaces and hyphens dropped, `O` read as `0`, `I` and `L` as `1`.
    pub fn normalize(self, input: &str) -> Option<String> {
        match self {
            Self::Digits6 => {
                let t = input.trim();
                (t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.to_owned())
            }
            Self::Crockford6 => normalize_crockford(input, 6),
        }
    }

    /// The inclusive range from which a caller must draw one uniform value
    /// per code character (`Digits6`: one value for the whole code).
    pub fn draw_range(self) -> (u32, u32) {
        match self {
            Self::Digits6 => (100_000, 999_999),
            Self::Crockford6 => (0, 31),
        }
    }

    /// How many uniform draws from [`CodeFormat::draw_range`] a code needs.
    pub fn draws(self) -> usize {
        match self {
            Self::Digits6 => 1,
            Self::Crockford6 => 6,
        }
    }

    /// Builds a code from uniform draws (see [`CodeFormat::draw_range`]).
    /// Returns `None` when the draws are out of range or miscounted.
    pub fn code_from_draws(self, draws: &[u32]) -> Option<OneTimeCode> {
        let (lo, hi) = self.draw_range();
        if draws.len() != self.draws() || draws.iter().any(|d| *d < lo || *d > hi) {
            return None;
        }
        let text = match self {
            Self::Digits6 => draws.first()?.to_string(),
            Self::Crockford6 => draws
                .iter()
                .map(|d| CROCKFORD.get(*d as usize).map(|b| *b as char))
                .collect::<Option<String>>()?,
        };
        Some(OneTimeCode(text))
    }
}

/// Normalises user input into `len` canonical Crockford base32 characters,
/// or `None` when it cannot be such a code: upper-cased, spaces and hyphens
/// dropped, `O` read as `0`, `I` and `L` as `1`; any other character outside
/// the alphabet (`U`, punctuation, non-ASCII) refuses the input. Shared by
/// the mailed Crockford codes and the recovery codes of second factors.
pub(crate) fn normalize_crockford(input: &str, len: usize) -> Option<String> {
    let mut out = String::with_capacity(len);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
        if out.len() > len {
            return None;
        }
    }
    (out.len() == len).then_some(out)
}

/// The Crockford base32 character of the low five bits of `byte` (a uniform
/// byte gives a uniform character: 256 is a multiple of 32).
pub(crate) fn crockford_char(byte: u8) -> char {
    char::from(CROCKFORD[usize::from(byte & 0x1F)])
}

/// The validation code of a Unicat step-1 answer: 256 random bits drawn by
/// the caller, as URL-safe base64 without padding (43 characters).
pub fn validation_code_text(random: &[u8; 32]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
}

/// A freshly drawn one-time code, in canonical form, on its way into a mail.
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeCode(String);

impl OneTimeCode {
    /// The code, for the mail body and for MACing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode(***)")
    }
}

/// A keyed MAC (HMAC-SHA-256) of a code: the only form in which codes are
/// stored. Equality is constant-time.
#[derive(Clone, Copy, Eq)]
pub struct CodeMac([u8; 32]);

impl CodeMac {
    /// Wraps 32 MAC bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Wraps a stored MAC; `None` unless exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// The raw bytes, for storage.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for CodeMac {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for CodeMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeMac(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_digit_code_is_the_drawn_number() {
        let c = CodeFormat::Digits6.code_from_draws(&[482_901]).unwrap();
        assert_eq!(c.expose(), "482901");
        assert!(CodeFormat::Digits6.code_from_draws(&[99_999]).is_none());
        assert!(CodeFormat::Digits6.code_from_draws(&[1_000_000]).is_none());
    }

    #[test]
    fn a_crockford_code_maps_each_draw_to_the_alphabet() {
        let c = CodeFormat::Crockford6
            .code_from_draws(&[0, 9, 10, 17, 18, 31])
            .unwrap();
        assert_eq!(c.expose(), "09AHJZ");
        assert!(CodeFormat::Crockford6.code_from_draws(&[0, 1, 2]).is_none());
        assert!(CodeFormat::Crockford6
            .code_from_draws(&[0, 1, 2, 3, 4, 32])
            .is_none());
    }

    #[test]
    fn crockford_input_is_normalised_as_the_security_spec_says() {
        let f = CodeFormat::Crockford6;
        assert_eq!(f.normalize("ab-c 1o2").as_deref(), Some("ABC102"));
        assert_eq!(f.normalize("il0o9z").as_deref(), Some("11009Z"));
        assert_eq!(f.normalize("ABCDEU"), None, "U is not in the alphabet");
        assert_eq!(f.normalize("ABCDE"), None);
        assert_eq!(f.normalize("ABCDEFG"), None);
        assert_eq!(f.normalize("ÄBCDEF"), None);
    }

    #[test]
    fn digit_input_must_be_exactly_six_ascii_digits() {
        let f = CodeFormat::Digits6;
        assert_eq!(f.normalize("012345").as_deref(), Some("012345"));
        assert_eq!(f.normalize("12345"), None);
        assert_eq!(f.normalize("1234567"), None);
        assert_eq!(f.normalize("12345a"), None);
        assert_eq!(f.normalize("١٢٣٤٥٦"), None, "non-ASCII digits");
    }

    #[test]
    fn a_validation_code_is_43_url_safe_characters() {
        let v = validation_code_text(&[0xFB; 32]);
        assert_eq!(v.len(), 43);
        assert!(v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(v, validation_code_text(&[0xFA; 32]));
    }

    #[test]
    fn debug_output_never_shows_a_code_or_its_mac() {
        let c = CodeFormat::Digits6.code_from_draws(&[123_456]).unwrap();
        assert_eq!(format!("{c:?}"), "OneTimeCode(***)");
        assert_eq!(
            format!("{:?}", CodeMac::from_bytes([1; 32])),
            "CodeMac(***)"
        );
    }

    proptest! {
        #[test]
        fn crockford_normalisation_is_idempotent_and_never_panics(s in "\\PC{0,20}") {
            if let Some(n) = CodeFormat::Crockford6.normalize(&s) {
                prop_assert_eq!(n.len(), 6);
                prop_assert_eq!(CodeFormat::Crockford6.normalize(&n), Some(n.clone()));
            }
        }

        #[test]
        fn every_drawn_code_normalises_to_itself(draws in proptest::collection::vec(0u32..32, 6)) {
            let c = CodeFormat::Crockford6.code_from_draws(&draws).unwrap();
            prop_assert_eq!(CodeFormat::Crockford6.normalize(&c.expose().to_lowercase()), Some(c.expose().to_owned()));
        }
    }
}
