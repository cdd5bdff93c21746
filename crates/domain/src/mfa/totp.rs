//! TOTP (RFC 6238 over RFC 4226's HOTP): HMAC-SHA-1, 6 digits, 30-second
//! steps from the Unix epoch, one step of drift either way. A code is good
//! once: the caller stores the step that matched and passes it back as the
//! last used step, and no step up to it is accepted again.

use std::fmt;

use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::{CodeFormat, Timestamp};

/// Length of a TOTP secret: 160 bits, RFC 4226's recommendation and the
/// length of an HMAC-SHA-1 block's output.
pub const TOTP_SECRET_BYTES: usize = 20;

/// Digits of a code.
pub const TOTP_DIGITS: usize = 6;

/// Length of a time step, in seconds.
pub const TOTP_STEP_SECONDS: i64 = 30;

/// Steps of clock drift accepted either way of the current step.
pub const TOTP_DRIFT_STEPS: i64 = 1;

/// RFC 3986's unreserved characters stay as they are; everything else in a
/// label or an issuer is percent-encoded (UTF-8), `:` and spaces included,
/// so the one literal `:` of a label is the one between issuer and account.
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A TOTP time step: whole 30-second periods since the Unix epoch (RFC
/// 6238's `T`). Stored as the last used step of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TotpStep(i64);

impl TotpStep {
    /// The step that holds the instant `now`.
    pub fn at(now: Timestamp) -> Self {
        Self(now.as_millis().div_euclid(TOTP_STEP_SECONDS * 1000))
    }

    /// A step as stored.
    pub const fn from_stored(step: i64) -> Self {
        Self(step)
    }

    /// The step number, for storage.
    pub const fn as_i64(self) -> i64 {
        self.0
    }

    /// The step `delta` steps away (saturating).
    #[must_use]
    pub const fn offset(self, delta: i64) -> Self {
        Self(self.0.saturating_add(delta))
    }
}

/// Why a typed TOTP code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpRejection {
    /// Not six ASCII digits once spaces are dropped (a 400-class input
    /// error, not a wrong code; spends no try).
    #[error("a TOTP code is six digits")]
    Malformed,
    /// Six digits, but not the code of any step in the drift window.
    #[error("wrong TOTP code")]
    Wrong,
    /// The code of a step in the window that is not after the last used
    /// step: a replay. Callers answer it exactly as [`TotpRejection::Wrong`]
    /// (and may audit it); it is told apart only for that.
    #[error("TOTP code already used")]
    Replayed,
}

/// A TOTP shared secret: 20 bytes drawn by the caller (the domain draws no
/// randomness). Neither `Debug` nor anything but the explicit accessors
/// ([`TotpSecret::expose_bytes`], [`TotpSecret::to_base32`],
/// [`TotpSecret::otpauth_url`]) shows it.
#[derive(Clone)]
pub struct TotpSecret([u8; TOTP_SECRET_BYTES]);

impl TotpSecret {
    /// Wraps 20 random bytes drawn by the caller (or opened from storage).
    pub fn from_bytes(bytes: [u8; TOTP_SECRET_BYTES]) -> Self {
        Self(bytes)
    }

    /// Wraps a stored secret; `None` unless exactly 20 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; TOTP_SECRET_BYTES]>::try_from(bytes).ok().map(Self)
    }

    /// The raw bytes, to be sealed for storage.
    pub fn expose_bytes(&self) -> &[u8; TOTP_SECRET_BYTES] {
        &self.0
    }

    /// The secret as RFC 4648 base32 without padding (32 characters, upper
    /// case): the `secret` field of `totp/begin`, typed by hand into an app.
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    /// The key URI an authenticator app reads from the QR code:
    /// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`,
    /// issuer and account percent-encoded as UTF-8 (everything but RFC
    /// 3986's unreserved characters, so a space is `%20` and a `:` in a
    /// name is `%3A`). The issuer should not be empty.
    pub fn otpauth_url(&self, issuer: &str, account: &str) -> String {
        let issuer = utf8_percent_encode(issuer, URL_COMPONENT).to_string();
        let account = utf8_percent_encode(account, URL_COMPONENT);
        format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECONDS}",
            self.to_base32()
        )
    }

    /// The code of the step holding `now`, as an authenticator app shows it
    /// (for tests of the layers above, and for tools); `None` before the
    /// epoch.
    pub fn code_at(&self, now: Timestamp) -> Option<String> {
        let digits = self.code_for(TotpStep::at(now))?;
        Some(digits.iter().map(|d| char::from(*d)).collect())
    }

    /// Checks a typed code at `now` against the steps `now - 1`, `now` and
    /// `now + 1`, of which only those after `last_used` (the step stored at
    /// the previous success; `None` if TOTP was never used) count. Returns
    /// the step that matched (the latest one, should two match), which the
    /// caller stores as the new last used step in the same write that
    /// completes the login or the confirmation.
    ///
    /// Input: whitespace anywhere is dropped, then exactly six ASCII digits
    /// are required ([`TotpRejection::Malformed`] otherwise). Every step of
    /// the window is compared, each in constant time.
    pub fn verify(
        &self,
        input: &str,
        now: Timestamp,
        last_used: Option<TotpStep>,
    ) -> Result<TotpStep, TotpRejection> {
        let typed = normalize_totp_input(input).ok_or(TotpRejection::Malformed)?;
        let current = TotpStep::at(now);
        let mut matched_fresh: Option<TotpStep> = None;
        let mut matched_used = false;
        for delta in -TOTP_DRIFT_STEPS..=TOTP_DRIFT_STEPS {
            let step = current.offset(delta);
            let Some(expected) = self.code_for(step) else {
                continue;
            };
            let equal: bool = expected.ct_eq(typed.as_bytes()).into();
            let fresh = last_used.is_none_or(|last| step > last);
            if equal && fresh {
                matched_fresh = Some(step);
            } else if equal {
                matched_used = true;
            }
        }
        match (matched_fresh, matched_used) {
            (Some(step), _) => Ok(step),
            (None, true) => Err(TotpRejection::Replayed),
            (None, false) => Err(TotpRejection::Wrong),
        }
    }

    /// HOTP(secret, step) as six ASCII digits (RFC 4226, section 5.3);
    /// `None` for a step before the epoch.
    fn code_for(&self, step: TotpStep) -> Option<[u8; TOTP_DIGITS]> {
        let counter = u64::try_from(step.as_i64()).ok()?;
        let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(&self.0).ok()?;
        mac.update(&counter.to_be_bytes());
        let hash: [u8; 20] = mac.finalize().into_bytes().into();
        let offset = usize::from(hash[19] & 0x0F);
        let word = [
            hash[offset] & 0x7F,
            hash[offset + 1],
            hash[offset + 2],
            hash[offset + 3],
        ];
        let mut value = u32::from_be_bytes(word) % 1_000_000;
        let mut out = [b'0'; TOTP_DIGITS];
        for slot in out.iter_mut().rev() {
            // `value % 10` is below 10, so the cast keeps it.
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        Some(out)
    }
}

/// Drops whitespace (authenticator apps show `123 456`), then requires the
/// six ASCII digits of [`CodeFormat::Digits6`].
fn normalize_totp_input(input: &str) -> Option<String> {
    let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    CodeFormat::Digits6.normalize(&compact)
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 6238 Appendix B's SHA-1 seed, the ASCII of "12345678901234567890".
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_slice(b"12345678901234567890").unwrap()
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_millis(seconds * 1000)
    }

    fn code(seconds: i64) -> String {
        rfc_secret().code_at(at(seconds)).unwrap()
    }

    #[test]
    fn codes_are_rfc_6238_appendix_b_sha1_vectors_cut_to_six_digits() {
        let s = rfc_secret();
        for (t, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(s.code_at(at(t)).as_deref(), Some(expected), "T = {t}");
        }
    }

    #[test]
    fn a_step_is_thirty_seconds_from_the_epoch() {
        assert_eq!(TotpStep::at(at(0)).as_i64(), 0);
        assert_eq!(TotpStep::at(at(29)).as_i64(), 0);
        assert_eq!(TotpStep::at(Timestamp::from_millis(29_999)).as_i64(), 0);
        assert_eq!(TotpStep::at(at(30)).as_i64(), 1);
        assert_eq!(TotpStep::at(at(59)).as_i64(), 1);
        assert_eq!(TotpStep::at(at(1_111_111_109)).as_i64(), 37_037_036);
        assert_eq!(TotpStep::at(at(-1)).as_i64(), -1);
        assert_eq!(rfc_secret().code_at(at(-1)), None);
    }

    #[test]
    fn the_current_step_is_accepted_and_returned() {
        let now = at(1_111_111_109);
        assert_eq!(
            rfc_secret().verify("081804", now, None),
            Ok(TotpStep::from_stored(37_037_036))
        );
    }

    #[test]
    fn one_step_of_drift_either_way_is_accepted_and_the_matching_step_returned() {
        let now = at(1_111_111_109);
        let s = rfc_secret();
        assert_eq!(
            s.verify(&code(1_111_111_109 - 30), now, None),
            Ok(TotpStep::from_stored(37_037_035))
        );
        assert_eq!(
            s.verify(&code(1_111_111_109 + 30), now, None),
            Ok(TotpStep::from_stored(37_037_037))
        );
    }

    #[test]
    fn two_steps_of_drift_either_way_are_refused_as_wrong() {
        let now = at(1_111_111_109);
        let s = rfc_secret();
        assert_eq!(
            s.verify(&code(1_111_111_109 - 60), now, None),
            Err(TotpRejection::Wrong)
        );
        assert_eq!(
            s.verify(&code(1_111_111_109 + 60), now, None),
            Err(TotpRejection::Wrong)
        );
        assert_eq!(s.verify("000000", now, None), Err(TotpRejection::Wrong));
    }

    #[test]
    fn a_replay_in_the_same_step_is_refused() {
        let now = at(1_111_111_109);
        let s = rfc_secret();
        let used = s.verify("081804", now, None).unwrap();
        assert_eq!(
            s.verify("081804", now.plus_seconds(5), Some(used)),
            Err(TotpRejection::Replayed)
        );
    }

    #[test]
    fn an_earlier_step_is_refused_after_a_later_one_was_used() {
        let now = at(1_111_111_109);
        let s = rfc_secret();
        let later = s.verify(&code(1_111_111_109 + 30), now, None).unwrap();
        assert_eq!(later.as_i64(), 37_037_037);
        assert_eq!(
            s.verify("081804", now, Some(later)),
            Err(TotpRejection::Replayed)
        );
        assert_eq!(
            s.verify(&code(1_111_111_109 - 30), now, Some(later)),
            Err(TotpRejection::Replayed)
        );
    }

    #[test]
    fn the_next_step_is_accepted_after_the_current_one_was_used() {
        let now = at(1_111_111_109);
        let s = rfc_secret();
        let used = s.verify("081804", now, None).unwrap();
        assert_eq!(
            s.verify(&code(1_111_111_109 + 30), now.plus_seconds(30), Some(used)),
            Ok(TotpStep::from_stored(37_037_037))
        );
        assert_eq!(
            s.verify("081804", now, Some(TotpStep::from_stored(37_037_035))),
            Ok(used)
        );
    }

    #[test]
    fn spaces_are_dropped_and_anything_but_six_ascii_digits_is_malformed() {
        let now = at(1_111_111_109);
        let s = rfc_secret();
        assert_eq!(
            s.verify("081 804", now, None).map(TotpStep::as_i64),
            Ok(37_037_036)
        );
        assert_eq!(
            s.verify(" 08 18 04\t", now, None).map(TotpStep::as_i64),
            Ok(37_037_036)
        );
        for bad in [
            "",
            "08180",
            "0818045",
            "08180a",
            "081-804",
            "٠٨١٨٠٤",
            "+81804",
            "  ",
        ] {
            assert_eq!(
                s.verify(bad, now, None),
                Err(TotpRejection::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_secret_is_base32_without_padding() {
        assert_eq!(rfc_secret().to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            TotpSecret::from_bytes([0xFF; 20]).to_base32(),
            "77777777777777777777777777777777"
        );
        assert_eq!(TotpSecret::from_bytes([0; 20]).to_base32().len(), 32);
    }

    #[test]
    fn the_otpauth_url_percent_encodes_issuer_and_account() {
        assert_eq!(
            rfc_secret().otpauth_url("accountd", "ann"),
            "otpauth://totp/accountd:ann?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=accountd&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(
            rfc_secret().otpauth_url("Acme: Accounts", "Zoë O'Neil: admin"),
            "otpauth://totp/Acme%3A%20Accounts:Zo%C3%AB%20O%27Neil%3A%20admin\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%3A%20Accounts\
             &algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(
            rfc_secret().otpauth_url("a&b=c", "x?y#z/ü~._-"),
            "otpauth://totp/a%26b%3Dc:x%3Fy%23z%2F%C3%BC~._-\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=a%26b%3Dc\
             &algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn a_stored_secret_must_be_twenty_bytes_and_debug_never_shows_it() {
        assert!(TotpSecret::from_slice(&[1; 19]).is_none());
        assert!(TotpSecret::from_slice(&[1; 21]).is_none());
        let s = TotpSecret::from_slice(&[0x41; 20]).unwrap();
        assert_eq!(s.expose_bytes(), &[0x41; 20]);
        assert_eq!(format!("{s:?}"), "TotpSecret(***)");
    }

    proptest! {
        #[test]
        fn the_code_shown_now_is_accepted_once(
            secret in any::<[u8; 20]>(),
            seconds in 0i64..4_000_000_000,
        ) {
            let s = TotpSecret::from_bytes(secret);
            let now = at(seconds);
            let shown = s.code_at(now).unwrap();
            prop_assert_eq!(shown.len(), 6);
            let step = s.verify(&shown, now, None).unwrap();
            prop_assert!(step >= TotpStep::at(now));
            prop_assert!(s.verify(&shown, now, Some(step)).is_err());
        }

        #[test]
        fn verification_never_panics(input in "\\PC{0,12}", seconds in -100i64..100) {
            let _ = rfc_secret().verify(&input, at(seconds), None);
        }
    }
}
