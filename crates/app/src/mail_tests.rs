//! Unit tests of the mail templates: every template of every language
//! renders, keeps the code rule and says its plurals right; one whole mail
//! is pinned per language.

use super::*;
use accountd_domain::{CodeFormat, PasswordHash, UserId, UserStatus, Username};

fn user(name: &str, language: &str) -> User {
    User {
        id: UserId::from_random_bytes([1; 16]),
        username: (!name.is_empty()).then(|| Username::parse(name).unwrap()),
        emails: vec![Email::parse("ann@example.com").unwrap()],
        status: UserStatus::Active,
        credential_version: 1,
        password_hash: Some(PasswordHash::new("x".into())),
        name: String::new(),
        language: language.into(),
        timezone: "UTC".into(),
        created_at: Timestamp::from_millis(0),
    }
}

fn digits() -> OneTimeCode {
    CodeFormat::Digits6.code_from_draws(&[482_901]).unwrap()
}

fn crockford() -> OneTimeCode {
    CodeFormat::Crockford6
        .code_from_draws(&[1, 2, 3, 4, 5, 6])
        .unwrap()
}

fn to() -> Email {
    Email::parse("ann@example.com").unwrap()
}

const NAMES: [&str; 7] = ["", "a", "ab", "abcdef", "Jürgen", "x.y-z_0", "abcdefgh"];

/// Every code mail of `language` for `name`, as the mail functions build
/// them, with the code they carry.
fn code_mails(language: &str, name: &str, ttl: i64) -> Vec<(&'static str, OutgoingMail, String)> {
    let u = user(name, language);
    let at = Timestamp::from_millis(9);
    let names: Vec<String> = if name.is_empty() {
        vec!["abcdef".to_owned()]
    } else {
        vec![name.to_owned(), "abcdef".to_owned(), "x".to_owned()]
    };
    let (d, c) = (digits(), crockford());
    vec![
        (
            "forgot_password_code",
            forgot_password_code(&u, &to(), &d, ttl, at),
            d.expose().to_owned(),
        ),
        (
            "signup_code",
            signup_code(language, name, &to(), &c, ttl, at),
            c.expose().to_owned(),
        ),
        (
            "reset_code",
            reset_code(language, &names, &to(), &c, ttl, at),
            c.expose().to_owned(),
        ),
        (
            "email_change_code",
            email_change_code(&u, &to(), &c, ttl, at),
            c.expose().to_owned(),
        ),
    ]
}

/// Sample values for every variable any template uses.
fn sample_context(name: &str) -> Value {
    context! {
        username => name,
        usernames => vec!["ann".to_owned(), "abcdef".to_owned()],
        code => "482901",
        minutes => 15,
        days => 7,
        new_email => "new@example.com",
        revert_link => "https://accounts.example.com/api/revert_email?token=abc",
        project => "Atlas",
        other => "bob",
        received => true,
        inviter => "bob",
        address => "ann@example.com",
        decline_link => "https://accounts.example.com/invite/decline?invitee=a&project=b&token=c",
    }
}

#[test]
fn every_language_has_every_mail_and_every_template_renders() {
    let langs: Vec<&str> = TEMPLATES.iter().map(|(l, _)| *l).collect();
    assert_eq!(langs, LANGUAGES);
    for (lang, mails) in TEMPLATES {
        let names: Vec<&str> = mails.iter().map(|(m, _)| *m).collect();
        assert_eq!(names, MAILS, "{lang}");
        for mail in MAILS {
            for name in NAMES {
                let code = mail.ends_with("_code").then_some("482901");
                let r = render_in(lang, mail, &sample_context(name), code)
                    .unwrap_or_else(|e| panic!("{lang}/{mail}.txt: {e}"));
                assert!(!r.subject.is_empty(), "{lang}/{mail}");
                assert!(
                    r.text.ends_with('\n') && !r.text.ends_with("\n\n"),
                    "{lang}/{mail}"
                );
                assert!(
                    !r.text.contains("{{") && !r.text.contains("{%"),
                    "{lang}/{mail}"
                );
            }
        }
    }
}

#[test]
fn every_language_has_its_own_subjects_and_bodies() {
    for mail in MAILS {
        let rendered: Vec<Rendered> = LANGUAGES
            .iter()
            .map(|l| render_in(l, mail, &sample_context("ann"), None).unwrap())
            .collect();
        for (i, a) in rendered.iter().enumerate() {
            for b in &rendered[i + 1..] {
                assert_ne!(a.subject, b.subject, "{mail}");
                assert_ne!(a.text, b.text, "{mail}");
            }
        }
    }
}

#[test]
fn in_every_language_the_code_stands_alone_on_exactly_one_line_whatever_the_username() {
    for lang in LANGUAGES {
        for name in NAMES {
            for ttl in [60, 900, 3600] {
                for (mail, m, code) in code_mails(lang, name, ttl) {
                    let six: Vec<&str> = m
                        .text
                        .lines()
                        .map(str::trim)
                        .filter(|l| l.chars().count() == 6)
                        .collect();
                    assert_eq!(six, vec![code.as_str()], "{lang}/{mail} for {name:?}");
                    assert!(
                        m.text
                            .lines()
                            .any(|l| l.trim() == code && l.contains(&code)),
                        "{lang}/{mail}"
                    );
                    assert_eq!(m.not_after, Some(Timestamp::from_millis(9)));
                    // The template itself, not a fallback, made the mail.
                    assert_eq!(
                        m.subject,
                        render_in(lang, mail, &sample_context(name), None)
                            .unwrap()
                            .subject,
                        "{lang}/{mail}"
                    );
                }
            }
        }
    }
}

#[test]
fn minutes_are_singular_for_one_and_plural_otherwise_in_every_language() {
    let want = [
        ("en", "1 minute ", "15 minutes "),
        ("de", "1 Minute ", "15 Minuten "),
        ("nl", "1 minuut ", "15 minuten "),
    ];
    for (lang, one, many) in want {
        for (mail, m, _) in code_mails(lang, "ann", 60) {
            assert!(m.text.contains(one), "{lang}/{mail}:\n{}", m.text);
        }
        for (mail, m, _) in code_mails(lang, "ann", 900) {
            assert!(m.text.contains(many), "{lang}/{mail}:\n{}", m.text);
        }
    }
}

#[test]
fn revert_days_are_singular_for_one_and_plural_otherwise_in_every_language() {
    let want = [
        ("en", "within 1 day\n", "within 7 days\n"),
        ("de", "innerhalb von 1 Tag\n", "innerhalb von 7 Tagen\n"),
        ("nl", "binnen 1 dag de link", "binnen 7 dagen de link"),
    ];
    let new = Email::parse("new@example.com").unwrap();
    for (lang, one, many) in want {
        let u = user("ann", lang);
        let m = email_changed(&u, &to(), &new, "https://x.example/r?t=1", 86_400);
        assert!(m.text.contains(one), "{lang}:\n{}", m.text);
        let m = email_changed(&u, &to(), &new, "https://x.example/r?t=1", 7 * 86_400 - 5);
        assert!(m.text.contains(many), "{lang}:\n{}", m.text);
        assert!(m.text.contains("\nnew@example.com.\n"), "{lang}");
        assert!(m.text.contains("\nhttps://x.example/r?t=1\n"), "{lang}");
        assert_eq!(m.not_after, None);
    }
}

#[test]
fn the_reset_mail_lists_every_account_and_says_account_in_the_right_number() {
    let c = crockford();
    let at = Timestamp::from_millis(9);
    let one = vec!["ann".to_owned()];
    let two = vec!["ann".to_owned(), "anna".to_owned()];
    let cases = [
        (
            "en",
            "Account: ",
            "the following account:",
            "the following accounts:",
        ),
        (
            "de",
            "Konto: ",
            "des folgenden Kontos\n",
            "der folgenden Konten\n",
        ),
        (
            "nl",
            "Account: ",
            "het volgende account\n",
            "de volgende accounts\n",
        ),
    ];
    for (lang, prefix, singular, plural) in cases {
        let m = reset_code(lang, &one, &to(), &c, 900, at);
        assert!(m.text.contains(singular), "{lang}:\n{}", m.text);
        assert!(
            m.text.contains(&format!("\n\n{prefix}ann\n\n")),
            "{lang}:\n{}",
            m.text
        );
        let m = reset_code(lang, &two, &to(), &c, 900, at);
        assert!(m.text.contains(plural), "{lang}:\n{}", m.text);
        assert!(
            m.text
                .contains(&format!("\n\n{prefix}ann\n{prefix}anna\n\n")),
            "{lang}:\n{}",
            m.text
        );
    }
}

#[test]
fn the_signup_code_mail_reads_in_full_in_english() {
    let m = signup_code(
        "en",
        "bob",
        &to(),
        &crockford(),
        900,
        Timestamp::from_millis(9),
    );
    assert_eq!(m.subject, "Your verification code");
    assert_eq!(
        m.text,
        "Hello bob,\n\
         \n\
         to finish creating your account, enter this verification code:\n\
         \n\
         123456\n\
         \n\
         The code is valid for 15 minutes and can be used once.\n\
         If you did not sign up, ignore this message.\n"
    );
    assert_eq!(m.to, to());
}

#[test]
fn the_signup_code_mail_reads_in_full_in_german() {
    let m = signup_code(
        "de",
        "bob",
        &to(),
        &crockford(),
        900,
        Timestamp::from_millis(9),
    );
    assert_eq!(m.subject, "Ihr Bestätigungscode");
    assert_eq!(
        m.text,
        "Hallo bob,\n\
         \n\
         um die Einrichtung Ihres Kontos abzuschließen, geben Sie diesen\n\
         Bestätigungscode ein:\n\
         \n\
         123456\n\
         \n\
         Der Code ist 15 Minuten lang gültig und kann nur einmal verwendet werden.\n\
         Falls Sie sich nicht registriert haben, ignorieren Sie diese Nachricht.\n"
    );
}

#[test]
fn the_signup_code_mail_reads_in_full_in_dutch() {
    let m = signup_code(
        "nl",
        "bob",
        &to(),
        &crockford(),
        900,
        Timestamp::from_millis(9),
    );
    assert_eq!(m.subject, "Je verificatiecode");
    assert_eq!(
        m.text,
        "Beste bob,\n\
         \n\
         Voer deze verificatiecode in om het aanmaken van je account af te ronden:\n\
         \n\
         123456\n\
         \n\
         De code is 15 minuten geldig en kan één keer worden gebruikt.\n\
         Heb je je niet aangemeld? Dan kun je dit bericht negeren.\n"
    );
}

#[test]
fn the_password_changed_notice_reads_in_full_in_every_language() {
    let cases = [
        (
            "en",
            "Your password was changed",
            "Hello ann,\n\nthe password of your account was just changed, and every session\nthat was signed in before was signed out.\n\nIf you did not do this, reset your password at once and tell your\nadministrator.\n",
        ),
        (
            "de",
            "Ihr Passwort wurde geändert",
            "Hallo ann,\n\ndas Passwort Ihres Kontos wurde soeben geändert, und alle Sitzungen,\ndie zuvor angemeldet waren, wurden abgemeldet.\n\nFalls Sie das nicht selbst waren, setzen Sie Ihr Passwort sofort zurück\nund informieren Sie Ihre Administratorin oder Ihren Administrator.\n",
        ),
        (
            "nl",
            "Je wachtwoord is gewijzigd",
            "Beste ann,\n\nHet wachtwoord van je account is zojuist gewijzigd, en alle sessies\ndie eerder waren ingelogd, zijn uitgelogd.\n\nHeb je dit niet zelf gedaan? Stel dan meteen een nieuw wachtwoord in\nen laat het je beheerder weten.\n",
        ),
    ];
    for (lang, subject, text) in cases {
        let u = user("ann", lang);
        let m = password_changed(&u, &u.emails[0]);
        assert_eq!(m.subject, subject, "{lang}");
        assert_eq!(m.text, text, "{lang}");
        assert_eq!(m.not_after, None);
    }
}

#[test]
fn a_nameless_account_is_greeted_without_a_name_in_every_language() {
    let want = [
        ("en", "Hello there,\n"),
        ("de", "Guten Tag,\n"),
        ("nl", "Beste gebruiker,\n"),
    ];
    for (lang, greeting) in want {
        let u = user("", lang);
        for m in [
            password_changed(&u, &to()),
            email_reverted(&u, &to()),
            account_deleted(&u, &to()),
            project_transferred(&u, &to(), "Atlas", "bob", true),
            project_transferred(&u, &to(), "Atlas", "bob", false),
            forgot_password_code(&u, &to(), &digits(), 900, Timestamp::from_millis(1)),
        ] {
            assert!(m.text.starts_with(greeting), "{lang}:\n{}", m.text);
        }
    }
}

#[test]
fn an_account_language_without_templates_gets_english() {
    assert_eq!(template_language("fr"), "en");
    assert_eq!(template_language(""), "en");
    assert_eq!(template_language("DE"), "de");
    assert_eq!(template_language("nl"), "nl");
    let u = user("ann", "fr");
    let m = password_changed(&u, &to());
    assert_eq!(m.subject, "Your password was changed");
    assert!(m.text.starts_with("Hello ann,\n"));
}

#[test]
fn the_fixed_fallback_keeps_the_code_rule() {
    let r = code_fallback("Your verification code", "10AMYZ", 900);
    assert!(keeps_the_code_rule(&r.text, "10AMYZ"), "{}", r.text);
}

#[test]
fn the_code_rule_refuses_a_missing_code_and_a_second_six_character_line() {
    assert!(keeps_the_code_rule(
        "Hi Ann,\n\n  10AMYZ \n\nBye now.\n",
        "10AMYZ"
    ));
    assert!(!keeps_the_code_rule("Hi Ann,\n\nno code\n", "10AMYZ"));
    assert!(!keeps_the_code_rule("Hallo,\n\n10AMYZ\n", "10AMYZ"));
    assert!(!keeps_the_code_rule("10AMYZ\n10AMYZ\n", "10AMYZ"));
}

#[test]
fn accept_language_orders_tags_by_weight_keeping_ties_in_order() {
    assert_eq!(preferred_languages("nl-NL,nl;q=0.9,en;q=0.8"), ["nl", "en"]);
    assert_eq!(
        preferred_languages("en;q=0.5, de-AT, fr;q=0.5"),
        ["de", "en", "fr"]
    );
    assert_eq!(preferred_languages("DE-at;Q=0.7,*;q=0.9,nl;q=0"), ["de"]);
    assert_eq!(preferred_languages("en;q=2,de;q=x,nl;level,fr"), ["fr"]);
    assert_eq!(preferred_languages(""), Vec::<String>::new());
    assert_eq!(preferred_languages(" , ;q=1,-de,de-"), Vec::<String>::new());
    assert_eq!(preferred_languages("zh-Hant-TW, en-US;q=0.1"), ["zh", "en"]);
}

#[test]
fn the_signup_language_is_the_first_wanted_ui_language_with_templates_else_english() {
    let ui: Vec<String> = ["en", "de", "nl"].map(String::from).to_vec();
    assert_eq!(accept_language(Some("nl-NL,nl;q=0.9,en;q=0.8"), &ui), "nl");
    assert_eq!(accept_language(Some("fr-FR,de;q=0.3,en;q=0.2"), &ui), "de");
    assert_eq!(accept_language(Some("de-AT"), &ui), "de");
    assert_eq!(accept_language(Some("fr, *"), &ui), "en");
    assert_eq!(accept_language(Some("garbage;;=="), &ui), "en");
    assert_eq!(accept_language(None, &ui), "en");
    // Not a UI language of this deployment: skipped.
    let en_nl: Vec<String> = ["en", "nl"].map(String::from).to_vec();
    assert_eq!(accept_language(Some("de,nl;q=0.5"), &en_nl), "nl");
    // A UI language without templates (the config refuses it) is skipped.
    let with_fr: Vec<String> = ["fr", "de"].map(String::from).to_vec();
    assert_eq!(accept_language(Some("fr,de;q=0.5"), &with_fr), "de");
}

#[test]
fn a_rendering_that_breaks_the_code_rule_is_refused_so_the_mail_falls_back() {
    let ctx = sample_context("ann");
    assert!(render_in("de", "signup_code", &ctx, Some("482901")).is_ok());
    assert!(render_in("de", "signup_code", &ctx, Some("ZZZZZZ")).is_err());
    assert_eq!(render("de", "no_such_mail", &ctx, None), None);
}

#[test]
fn a_template_needs_a_subject_line_and_an_empty_line_before_the_body() {
    assert_eq!(
        split_subject("Subject:  Hi there \r\n\r\nBody\r\n\n\n"),
        Ok(Rendered {
            subject: "Hi there".to_owned(),
            text: "Body\n".to_owned()
        })
    );
    assert!(split_subject("Hi there\n\nBody\n").is_err());
    assert!(split_subject("Subject: \n\nBody\n").is_err());
    assert!(split_subject("Subject: Hi\nBody\n").is_err());
    assert!(split_subject("Subject: Hi").is_err());
}

#[test]
fn a_rendered_mail_never_shows_its_body_in_debug_output() {
    let r = render_in("en", "signup_code", &sample_context("ann"), Some("482901")).unwrap();
    let debug = format!("{r:?}");
    assert!(!debug.contains("482901"), "{debug}");
    assert!(debug.contains("Your verification code"), "{debug}");
}

#[test]
fn a_transfer_mail_tells_the_new_owner_and_the_old_one_apart_in_every_language() {
    for lang in LANGUAGES {
        let u = user("ann", lang);
        let received = project_transferred(&u, &to(), "Atlas", "bob", true);
        let given = project_transferred(&u, &to(), "Atlas", "bob", false);
        assert_ne!(received.subject, given.subject, "{lang}");
        for m in [&received, &given] {
            assert!(m.subject.contains("Atlas"), "{lang}: {}", m.subject);
            assert!(
                m.text.contains("Atlas") && m.text.contains("bob"),
                "{lang}:\n{}",
                m.text
            );
            assert!(
                m.text.lines().all(|l| l.trim().chars().count() != 6),
                "{lang}:\n{}",
                m.text
            );
            assert_eq!(m.not_after, None);
        }
    }
}

#[test]
fn an_invitation_names_the_project_and_the_inviter_says_how_to_accept_and_holds_the_link() {
    const LINK: &str = "https://accounts.example.com/invite/decline?invitee=i&project=p&token=t";
    for lang in LANGUAGES {
        let member = user("ann", lang);
        let placeholder = User {
            username: None,
            ..user("", lang)
        };
        let account = invitation(lang, &member, &to(), "Atlas", "bob", LINK, 604_800);
        let invited = invitation(lang, &placeholder, &to(), "Atlas", "bob", LINK, 604_800);
        for m in [&account, &invited] {
            assert!(
                m.subject.contains("Atlas") && m.subject.contains("bob"),
                "{lang}: {}",
                m.subject
            );
            assert!(m.text.contains(LINK), "{lang}:\n{}", m.text);
            assert!(
                m.text.contains("\"Atlas\"") || m.text.contains("„Atlas“"),
                "{lang}"
            );
            assert!(m.text.contains(" 7 "), "{lang}:\n{}", m.text);
            assert_eq!(m.to, to());
            assert_eq!(m.not_after, None);
        }
        // A placeholder is told to sign up with the address; an account only to log in.
        assert!(
            invited.text.contains(to().as_str()),
            "{lang}:\n{}",
            invited.text
        );
        assert!(
            !account.text.contains(to().as_str()),
            "{lang}:\n{}",
            account.text
        );
        assert_ne!(account.text, invited.text);
    }
    let en = invitation(
        "en",
        &User {
            username: None,
            ..user("", "en")
        },
        &to(),
        "Atlas",
        "bob",
        LINK,
        604_800,
    );
    assert_eq!(en.subject, "bob invites you to the project Atlas");
    assert_eq!(
        en.text,
        format!(
            "Hello there,\n\nbob invites you to join the project \"Atlas\".\n\nTo accept, sign up with this address ({}), or log in if you\nalready have an account with it, and accept the invitation.\nThe invitation is valid for 7 day(s).\n\nIf you do not want to join, decline the invitation here:\n\n{LINK}\n\nIf you do not know bob, you can ignore this mail.\n",
            to().as_str()
        )
    );
}
