//! Mail templates. Every code mail has a plain-text body in which the code
//! stands alone on its own line; no other line consists of six characters
//! alone, so people and scripts can find it. Templates exist for `en`; any
//! other language falls back to `en`.

use accountd_domain::{Email, OneTimeCode, OutgoingMail, Timestamp, User};

/// Languages with templates of their own.
pub const LANGUAGES: &[&str] = &["en", "de", "nl"];

fn minutes(ttl_seconds: i64) -> String {
    match (ttl_seconds + 59) / 60 {
        1 => "1 minute".to_owned(),
        n => format!("{n} minutes"),
    }
}

fn greeting(username: &str) -> String {
    if username.is_empty() {
        "Hello there,".to_owned()
    } else {
        format!("Hello {username},")
    }
}

/// The forgotPassword code mail, to one address of `user`.
pub fn forgot_password_code(
    user: &User,
    to: &Email,
    code: &OneTimeCode,
    ttl_seconds: i64,
    expires_at: Timestamp,
) -> OutgoingMail {
    let minutes = minutes(ttl_seconds);
    let text = format!(
        "{greeting}\n\
         \n\
         someone asked to reset the password of your account.\n\
         To choose a new password, enter this code:\n\
         \n\
         {code}\n\
         \n\
         The code is valid for {minutes} and can be used once.\n\
         If you did not ask for it, ignore this message: your password\n\
         stays as it is.\n",
        greeting = greeting(user.username_str()),
        code = code.expose(),
    );
    OutgoingMail {
        to: to.clone(),
        subject: "Your password reset code".to_owned(),
        text,
        not_after: Some(expires_at),
    }
}

/// The Unicat sign-up code mail.
pub fn signup_code(
    username: &str,
    to: &Email,
    code: &OneTimeCode,
    ttl_seconds: i64,
    expires_at: Timestamp,
) -> OutgoingMail {
    let minutes = minutes(ttl_seconds);
    let text = format!(
        "{greeting}\n\
         \n\
         to finish creating your account, enter this verification code:\n\
         \n\
         {code}\n\
         \n\
         The code is valid for {minutes} and can be used once.\n\
         If you did not sign up, ignore this message.\n",
        greeting = greeting(username),
        code = code.expose(),
    );
    OutgoingMail {
        to: to.clone(),
        subject: "Your verification code".to_owned(),
        text,
        not_after: Some(expires_at),
    }
}

/// The Unicat reset code mail, listing every account the code can reset.
pub fn reset_code(
    usernames: &[String],
    to: &Email,
    code: &OneTimeCode,
    ttl_seconds: i64,
    expires_at: Timestamp,
) -> OutgoingMail {
    let minutes = minutes(ttl_seconds);
    // "Account: " keeps every name line longer than six characters.
    let accounts: String = usernames
        .iter()
        .map(|n| format!("Account: {n}\n"))
        .collect();
    let text = format!(
        "Hello there,\n\
         \n\
         someone asked to reset the password of the following account(s):\n\
         \n\
         {accounts}\
         \n\
         To choose a new password, enter this verification code:\n\
         \n\
         {code}\n\
         \n\
         The code is valid for {minutes} and can be used once.\n\
         If you did not ask for it, ignore this message: your password\n\
         stays as it is.\n",
        code = code.expose(),
    );
    OutgoingMail {
        to: to.clone(),
        subject: "Your password reset code".to_owned(),
        text,
        not_after: Some(expires_at),
    }
}

/// The "your password was changed" notice, to one address of `user`.
pub fn password_changed(user: &User, to: &Email) -> OutgoingMail {
    let text = format!(
        "{greeting}\n\
         \n\
         the password of your account was just changed, and every session\n\
         that was signed in before was signed out.\n\
         \n\
         If you did not do this, reset your password at once and tell your\n\
         administrator.\n",
        greeting = greeting(user.username_str()),
    );
    OutgoingMail {
        to: to.clone(),
        subject: "Your password was changed".to_owned(),
        text,
        not_after: None,
    }
}

/// The email-change code mail, to the new address `to` of `user`.
pub fn email_change_code(
    user: &User,
    to: &Email,
    code: &OneTimeCode,
    ttl_seconds: i64,
    expires_at: Timestamp,
) -> OutgoingMail {
    let minutes = minutes(ttl_seconds);
    let text = format!(
        "{greeting}\n\
         \n\
         someone asked to make this the address of your account.\n\
         To confirm the change, enter this verification code:\n\
         \n\
         {code}\n\
         \n\
         The code is valid for {minutes} and can be used once.\n\
         If you did not ask for it, ignore this message: nothing changes.\n",
        greeting = greeting(user.username_str()),
        code = code.expose(),
    );
    OutgoingMail {
        to: to.clone(),
        subject: "Confirm your new email address".to_owned(),
        text,
        not_after: Some(expires_at),
    }
}

/// The notice to the old address `to` after the account's address became
/// `new_email`, with the link that undoes the change (valid
/// `valid_seconds`).
pub fn email_changed(
    user: &User,
    to: &Email,
    new_email: &Email,
    revert_link: &str,
    valid_seconds: i64,
) -> OutgoingMail {
    let days = (valid_seconds + 86_399) / 86_400;
    let text = format!(
        "{greeting}\n\
         \n\
         the email address of your account was changed to\n\
         {new_email}.\n\
         \n\
         If you did not do this, open the link below within {days} day(s)\n\
         to undo the change and sign every session out:\n\
         \n\
         {revert_link}\n",
        greeting = greeting(user.username_str()),
        new_email = new_email.as_str(),
    );
    OutgoingMail {
        to: to.clone(),
        subject: "Your email address was changed".to_owned(),
        text,
        not_after: None,
    }
}

/// The mail to the restored address `to` once an email change was undone.
pub fn email_reverted(user: &User, to: &Email) -> OutgoingMail {
    let text = format!(
        "{greeting}\n\
         \n\
         the change of your account's email address was undone: this\n\
         address is the account's address again, and every session was\n\
         signed out.\n\
         \n\
         If someone else changed it, they may know your password: choose a\n\
         new one now with \"Forgot password\" at sign-in.\n",
        greeting = greeting(user.username_str()),
    );
    OutgoingMail {
        to: to.clone(),
        subject: "The change of your email address was undone".to_owned(),
        text,
        not_after: None,
    }
}

/// The last notice of a deleted account, to an address `to` it had
/// (`user` as it was before the deletion).
pub fn account_deleted(user: &User, to: &Email) -> OutgoingMail {
    let text = format!(
        "{greeting}\n\
         \n\
         your account was deleted, with its name, its addresses and its\n\
         memberships. Its username stays reserved.\n\
         \n\
         If you did not do this, tell your administrator at once.\n",
        greeting = greeting(user.username_str()),
    );
    OutgoingMail {
        to: to.clone(),
        subject: "Your account was deleted".to_owned(),
        text,
        not_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accountd_domain::{CodeFormat, PasswordHash, UserId, UserStatus, Username};

    fn user(name: &str) -> User {
        User {
            id: UserId::from_random_bytes([1; 16]),
            username: Some(Username::parse(name).unwrap()),
            emails: vec![Email::parse("ann@example.com").unwrap()],
            status: UserStatus::Active,
            credential_version: 1,
            password_hash: Some(PasswordHash::new("x".into())),
            name: String::new(),
            language: "en".into(),
            timezone: "UTC".into(),
            created_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn the_code_stands_alone_on_exactly_one_line_whatever_the_username() {
        let code = CodeFormat::Digits6.code_from_draws(&[482_901]).unwrap();
        for name in ["a", "ab", "abcdef", "Jürgen", "x.y-z_0"] {
            let u = user(name);
            let m = forgot_password_code(&u, &u.emails[0], &code, 900, Timestamp::from_millis(5));
            let six: Vec<&str> = m
                .text
                .lines()
                .map(str::trim)
                .filter(|l| l.chars().count() == 6)
                .collect();
            assert_eq!(six, vec!["482901"], "username {name}");
            assert!(m.text.contains("valid for 15 minutes"));
            assert_eq!(m.not_after, Some(Timestamp::from_millis(5)));
        }
    }

    #[test]
    fn unicat_code_mails_have_the_code_alone_on_one_line_and_list_the_accounts() {
        let code = CodeFormat::Crockford6
            .code_from_draws(&[1, 2, 3, 4, 5, 6])
            .unwrap();
        let to = Email::parse("ann@example.com").unwrap();
        let names = vec!["abcd".to_owned(), "abcdef".to_owned(), "x".to_owned()];
        let reset = reset_code(&names, &to, &code, 900, Timestamp::from_millis(9));
        let signup = signup_code("abcdef", &to, &code, 900, Timestamp::from_millis(9));
        for m in [&reset, &signup] {
            let six: Vec<&str> = m
                .text
                .lines()
                .map(str::trim)
                .filter(|l| l.chars().count() == 6)
                .collect();
            assert_eq!(six, vec![code.expose()]);
            assert_eq!(m.not_after, Some(Timestamp::from_millis(9)));
        }
        for n in &names {
            assert!(reset.text.contains(&format!("Account: {n}\n")));
        }
    }

    #[test]
    fn the_change_notice_has_no_six_character_line_and_no_expiry() {
        let u = user("abcdef");
        let m = password_changed(&u, &u.emails[0]);
        assert!(m.text.lines().all(|l| l.trim().chars().count() != 6));
        assert_eq!(m.not_after, None);
        assert_eq!(m.subject, "Your password was changed");
    }
}
