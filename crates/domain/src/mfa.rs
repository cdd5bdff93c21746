//! Second factors (the accountd extension of `spec/mfa.md`), the pure part:
//! the TOTP secret and its verification with the time and the last used
//! step passed in ([`TotpSecret::verify`]); the recovery codes built from
//! random bytes passed in, their display and normalised forms and their
//! MACs ([`RecoveryCode`], [`match_recovery_code`]). What must not: reading
//! a clock, drawing the secret or the codes, storing the last used step or
//! spending a recovery code — the caller does those, through the ports, in
//! the one write of its use case.

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
