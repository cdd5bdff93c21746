//! Second factors (the accountd extension of `spec/mfa.md`), the pure part:
//! the recovery codes built from random bytes passed in, their display and
//! normalised forms and their MACs ([`RecoveryCode`],
//! [`match_recovery_code`]). What must not: drawing the codes or spending
//! one — the caller does those, through the ports, in the one write of its
//! use case.

mod recovery;

pub use recovery::{
    match_recovery_code, RecoveryCode, RecoveryCodeRejection, RECOVERY_CODES,
    RECOVERY_CODES_RANDOM_BYTES, RECOVERY_CODE_CHARS,
};
