//! Values and helpers without I/O: key, passwords, instants, users, codes.

use accountd_domain::{Email, MacKey, PasswordHash, Timestamp, User, UserId, UserStatus, Username};

/// The password of the accounts the end-to-end tests create; passes the
/// default policy.
pub const PASSWORD: &str = "Quartz-Lantern-Meadow-97";
/// A new password that passes the default policy.
pub const NEW_PASSWORD: &str = "Velvet-Comet-Orchard-31";
/// A password the default policy (zxcvbn score >= 3) accepts.
pub const STRONG: &str = "correct horse battery staple";
/// Another password the default policy accepts, different from [`STRONG`].
pub const OTHER_STRONG: &str = "violet tractor sings quietly";
/// A password the default policy refuses as too easy to guess.
pub const WEAK: &str = "password1";

/// The instant `t(0)` in milliseconds since the epoch (2023-11-14T22:13:20Z).
pub const T0_MILLIS: i64 = 1_700_000_000_000;

/// The fixed instant `t(0)` plus `secs` seconds.
pub fn t(secs: i64) -> Timestamp {
    Timestamp::from_millis(T0_MILLIS).plus_seconds(secs)
}

/// The MAC key of the tests' services and challenges.
pub fn key() -> MacKey {
    MacKey::from_bytes([7; 32])
}

/// A valid address (panics on an invalid one).
pub fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

/// A stored password hash with this text.
pub fn hash(text: &str) -> PasswordHash {
    PasswordHash::new(text.to_owned())
}

/// A user id made of 16 times `byte`.
pub fn user_id(byte: u8) -> UserId {
    UserId::from_random_bytes([byte; 16])
}

/// Ann of the forgotPassword tests with `status` and `emails`: id
/// `user_id(1)`, username `Ann`, name `Ann Lee`, credential version 3, an
/// old hash, English, UTC, created a day before `t(0)`.
pub fn ann_with(status: UserStatus, emails: &[&str]) -> User {
    User {
        id: user_id(1),
        username: Some(Username::parse("Ann").unwrap()),
        emails: emails.iter().map(|e| email(e)).collect(),
        status,
        credential_version: 3,
        password_hash: Some(hash("$2b$04$oldhasholdhasholdhash")),
        name: "Ann Lee".into(),
        language: "en".into(),
        timezone: "UTC".into(),
        created_at: t(-86_400),
    }
}

/// [`ann_with`]: active, with two addresses.
pub fn ann() -> User {
    ann_with(
        UserStatus::Active,
        &["ann@example.com", "a.lee@work.example"],
    )
}

/// Whether `text` is six characters of the Crockford base32 alphabet
/// (digits and upper-case letters without I, L, O, U).
pub fn is_crockford_code(text: &str) -> bool {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    text.len() == 6 && text.bytes().all(|b| ALPHABET.contains(&b))
}

/// A six-digit code that is not `code`.
pub fn wrong_code(code: &str) -> String {
    if code == "111111" {
        "222222".to_owned()
    } else {
        "111111".to_owned()
    }
}

/// Runs `f(i)` for `i in 0..n` on `n` threads released together, and
/// returns the results in index order.
pub fn in_parallel<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = std::sync::Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (f, barrier) = (&f, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    f(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use accountd_domain::PasswordPolicy;

    #[test]
    fn the_strong_passwords_pass_the_default_policy_and_the_weak_one_does_not() {
        for password in [PASSWORD, NEW_PASSWORD, STRONG, OTHER_STRONG] {
            assert!(
                PasswordPolicy::DEFAULT
                    .check(password, Some("ann"), &[email("ann@example.com")])
                    .is_ok(),
                "{password:?} passes"
            );
        }
        assert!(PasswordPolicy::DEFAULT.check(WEAK, None, &[]).is_err());
    }

    #[test]
    fn a_wrong_code_is_six_digits_and_never_the_code() {
        for code in ["111111", "222222", "482901"] {
            let wrong = wrong_code(code);
            assert_ne!(wrong, code);
            assert!(wrong.len() == 6 && wrong.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn crockford_codes_are_six_characters_of_the_alphabet() {
        assert!(is_crockford_code("10AMYZ"));
        for not in [
            "10AMY", "10AMYZ0", "10amyz", "10AMYI", "10AMYL", "10AMYO", "10AMYU",
        ] {
            assert!(!is_crockford_code(not), "{not:?}");
        }
    }

    #[test]
    fn in_parallel_returns_the_results_in_index_order() {
        assert_eq!(in_parallel(8, |i| i * 10), [0, 10, 20, 30, 40, 50, 60, 70]);
    }
}
