//! Mail templates, in every language of [`LANGUAGES`].
//!
//! Each mail has one template file per language,
//! `crates/app/templates/<language>/<mail>.txt`, embedded at compile time
//! (a translator edits the file and rebuilds). Its first line is
//! `Subject: <subject>`, then an empty line, then the plain-text body; the
//! whole file is a [minijinja](https://docs.rs/minijinja) template, so the
//! subject may use the variables too. Undefined variables are errors, and
//! nothing is HTML-escaped.
//!
//! Every code mail has a plain-text body in which the code stands alone on
//! its own line; no other line consists of six characters alone, so people
//! and scripts can find it. A rendering that breaks this rule, or fails,
//! is logged and replaced by the `en` template, then by a fixed English
//! text, so a mail function never fails; the tests render every template
//! of every language, so neither fallback is expected to run.
//!
//! Language: [`template_language`] maps an account's `options.language`
//! to one with templates (else `en`); [`accept_language`] picks the sign-up
//! language from an `Accept-Language` header.

use accountd_domain::{Email, OneTimeCode, OutgoingMail, Timestamp, User};
use minijinja::{context, AutoEscape, Environment, UndefinedBehavior, Value};
use std::sync::LazyLock;

/// The language every lookup falls back to.
pub const FALLBACK_LANGUAGE: &str = "en";

/// The mails, by template file name (without `.txt`).
const MAILS: [&str; 10] = [
    "forgot_password_code",
    "signup_code",
    "reset_code",
    "password_changed",
    "email_change_code",
    "email_changed",
    "email_reverted",
    "account_deleted",
    "project_transferred",
    "invitation",
];

/// The templates of one language: `(mail, source)` for every mail of
/// [`MAILS`], in that order. A missing file fails the build.
macro_rules! language {
    ($lang:literal) => {
        (
            $lang,
            [
                language!(@mail $lang, "forgot_password_code"),
                language!(@mail $lang, "signup_code"),
                language!(@mail $lang, "reset_code"),
                language!(@mail $lang, "password_changed"),
                language!(@mail $lang, "email_change_code"),
                language!(@mail $lang, "email_changed"),
                language!(@mail $lang, "email_reverted"),
                language!(@mail $lang, "account_deleted"),
                language!(@mail $lang, "project_transferred"),
                language!(@mail $lang, "invitation"),
            ],
        )
    };
    (@mail $lang:literal, $mail:literal) => {
        (
            $mail,
            include_str!(concat!("../templates/", $lang, "/", $mail, ".txt")),
        )
    };
}

/// Declares [`LANGUAGES`] and embeds their templates from one list, so a
/// language is added in one place.
macro_rules! languages {
    ($($lang:literal),+ $(,)?) => {
        /// Languages with templates of their own (every mail in each).
        pub const LANGUAGES: &[&str] = &[$($lang),+];

        /// Every embedded template, by language.
        const TEMPLATES: &[(&str, [(&str, &str); MAILS.len()])] = &[$(language!($lang)),+];
    };
}

languages!("en", "de", "nl");

/// The template environment, built once. A template that does not parse is
/// logged and left out (its mails fall back); the tests parse them all.
static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    for (lang, mails) in TEMPLATES {
        for (mail, source) in mails {
            let name = format!("{lang}/{mail}.txt");
            if let Err(error) = env.add_template_owned(name.clone(), *source) {
                tracing::error!(template = %name, %error, "mail template does not parse");
            }
        }
    }
    env
});

/// The language with templates for an account's `options.language`:
/// itself when [`LANGUAGES`] has it (case-insensitively), else `en`.
pub fn template_language(language: &str) -> &'static str {
    LANGUAGES
        .iter()
        .copied()
        .find(|l| l.eq_ignore_ascii_case(language.trim()))
        .unwrap_or(FALLBACK_LANGUAGE)
}

/// The language of a sign-up mail: the first tag of `header` (an
/// `Accept-Language` value, ordered by its `q` weights, ties in the order
/// given) whose primary subtag (`de` of `de-AT`, case-insensitively) is one
/// of `ui_languages` and has templates; else `en`. `*`, tags weighted
/// `q=0` and malformed entries are ignored.
pub fn accept_language(header: Option<&str>, ui_languages: &[String]) -> &'static str {
    let Some(header) = header else {
        return FALLBACK_LANGUAGE;
    };
    preferred_languages(header)
        .iter()
        .filter(|tag| ui_languages.iter().any(|u| u.eq_ignore_ascii_case(tag)))
        .find_map(|tag| LANGUAGES.iter().copied().find(|l| l == tag))
        .unwrap_or(FALLBACK_LANGUAGE)
}

/// The primary subtags of an `Accept-Language` value, lower-cased, most
/// wanted first (stable on equal weights), without `*`, `q=0` entries and
/// malformed ones.
pub fn preferred_languages(header: &str) -> Vec<String> {
    let mut weighted: Vec<(f32, String)> = header
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.split(';');
            let tag = parts.next()?.trim();
            let primary = tag.split('-').next()?;
            let well_formed = !primary.is_empty()
                && primary.len() <= 8
                && primary.bytes().all(|b| b.is_ascii_alphabetic())
                && tag
                    .split('-')
                    .all(|sub| !sub.is_empty() && sub.bytes().all(|b| b.is_ascii_alphanumeric()));
            if !well_formed {
                return None;
            }
            let mut q = 1.0_f32;
            for param in parts {
                let (key, value) = param.split_once('=')?;
                if key.trim().eq_ignore_ascii_case("q") {
                    q = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))?;
                }
            }
            (q > 0.0).then(|| (q, primary.to_ascii_lowercase()))
        })
        .collect();
    weighted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut tags: Vec<String> = Vec::new();
    for (_, tag) in weighted {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

/// A rendered subject and body.
#[derive(PartialEq, Eq)]
struct Rendered {
    subject: String,
    text: String,
}

/// Debug output leaves out the body, which may hold a code.
impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered")
            .field("subject", &self.subject)
            .field("text", &"***")
            .finish()
    }
}

/// Renders `mail` in `language` (one of [`LANGUAGES`]), else in `en`;
/// `None` when neither renders (or keeps the code rule for `code`).
fn render(language: &str, mail: &str, ctx: &Value, code: Option<&str>) -> Option<Rendered> {
    let mut tried = Vec::with_capacity(2);
    for lang in [template_language(language), FALLBACK_LANGUAGE] {
        if tried.contains(&lang) {
            continue;
        }
        tried.push(lang);
        match render_in(lang, mail, ctx, code) {
            Ok(r) => return Some(r),
            Err(problem) => {
                tracing::error!(template = %format!("{lang}/{mail}.txt"), %problem, "mail template failed; falling back");
            }
        }
    }
    None
}

/// Renders one template. The error names the problem, never the values.
fn render_in(lang: &str, mail: &str, ctx: &Value, code: Option<&str>) -> Result<Rendered, String> {
    let template = ENV
        .get_template(&format!("{lang}/{mail}.txt"))
        .map_err(|e| e.to_string())?;
    let out = template.render(ctx).map_err(|e| e.to_string())?;
    let rendered = split_subject(&out)?;
    if let Some(code) = code {
        if !keeps_the_code_rule(&rendered.text, code) {
            return Err("the code is not the only line of six characters".to_owned());
        }
    }
    Ok(rendered)
}

/// Splits a rendered template into its `Subject: ` line and the body after
/// the empty line; the body ends with exactly one line end.
fn split_subject(out: &str) -> Result<Rendered, String> {
    let out = out.replace("\r\n", "\n");
    let (first, body) = out
        .split_once('\n')
        .ok_or("no line break after the subject line")?;
    let subject = first
        .strip_prefix("Subject:")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or("the first line is not `Subject: ...`")?;
    let body = body
        .strip_prefix('\n')
        .ok_or("no empty line after the subject line")?;
    let text = format!("{}\n", body.trim_end_matches('\n'));
    Ok(Rendered {
        subject: subject.to_owned(),
        text,
    })
}

/// The rule of every code mail: the lines consisting of six characters
/// (once trimmed) are exactly one, the code.
pub fn keeps_the_code_rule(text: &str, code: &str) -> bool {
    let mut six = text
        .lines()
        .map(str::trim)
        .filter(|l| l.chars().count() == 6);
    six.next() == Some(code) && six.next().is_none()
}

fn minutes(ttl_seconds: i64) -> i64 {
    (ttl_seconds + 59) / 60
}

fn days(seconds: i64) -> i64 {
    (seconds + 86_399) / 86_400
}

/// The last resort for a code mail no template rendered.
fn code_fallback(subject: &str, code: &str, ttl_seconds: i64) -> Rendered {
    Rendered {
        subject: subject.to_owned(),
        text: format!(
            "Your verification code:\n\n{code}\n\nIt is valid for {} minute(s) and can be used once.\n",
            minutes(ttl_seconds)
        ),
    }
}

/// The last resort for a notice no template rendered.
fn notice_fallback(subject: &str, text: &str) -> Rendered {
    Rendered {
        subject: subject.to_owned(),
        text: format!("{text}\n"),
    }
}

fn outgoing(r: Rendered, to: &Email, not_after: Option<Timestamp>) -> OutgoingMail {
    OutgoingMail {
        to: to.clone(),
        subject: r.subject,
        text: r.text,
        not_after,
    }
}

/// The forgotPassword code mail, to one address of `user`, in the user's
/// language.
pub fn forgot_password_code(
    user: &User,
    to: &Email,
    code: &OneTimeCode,
    ttl_seconds: i64,
    expires_at: Timestamp,
) -> OutgoingMail {
    forgot_password_mail(
        &user.language,
        user.username_str(),
        to,
        code,
        ttl_seconds,
        expires_at,
    )
}

/// The forgotPassword code mail for `username`, in `language`: the one
/// rendering of a real mail and of a decoy's row.
fn forgot_password_mail(
    language: &str,
    username: &str,
    to: &Email,
    code: &OneTimeCode,
    ttl_seconds: i64,
    expires_at: Timestamp,
) -> OutgoingMail {
    let ctx = context! {
        username => username,
        code => code.expose(),
        minutes => minutes(ttl_seconds),
    };
    let r = render(language, "forgot_password_code", &ctx, Some(code.expose()))
        .unwrap_or_else(|| code_fallback("Your password reset code", code.expose(), ttl_seconds));
    outgoing(r, to, Some(expires_at))
}

/// The outbox row of a forgotPassword decoy (enumeration protection): the
/// code mail rendered for the typed name in the fallback language, to
/// [`Email::decoy`]; written as a decoy row, never sent.
pub fn forgot_password_decoy(
    username: &str,
    code: &OneTimeCode,
    ttl_seconds: i64,
    expires_at: Timestamp,
) -> OutgoingMail {
    forgot_password_mail(
        FALLBACK_LANGUAGE,
        username,
        &Email::decoy(),
        code,
        ttl_seconds,
        expires_at,
    )
}

/// The Unicat sign-up code mail, in `language` (see [`accept_language`]).
pub fn signup_code(
    language: &str,
    username: &str,
    to: &Email,
    code: &OneTimeCode,
    ttl_seconds: i64,
    expires_at: Timestamp,
) -> OutgoingMail {
    let ctx = context! {
        username => username,
        code => code.expose(),
        minutes => minutes(ttl_seconds),
    };
    let r = render(language, "signup_code", &ctx, Some(code.expose()))
        .unwrap_or_else(|| code_fallback("Your verification code", code.expose(), ttl_seconds));
    outgoing(r, to, Some(expires_at))
}

/// The Unicat reset code mail, in `language`, listing every account the
/// code can reset.
pub fn reset_code(
    language: &str,
    usernames: &[String],
    to: &Email,
    code: &OneTimeCode,
    ttl_seconds: i64,
    expires_at: Timestamp,
) -> OutgoingMail {
    let ctx = context! {
        usernames => usernames,
        code => code.expose(),
        minutes => minutes(ttl_seconds),
    };
    let r = render(language, "reset_code", &ctx, Some(code.expose()))
        .unwrap_or_else(|| code_fallback("Your password reset code", code.expose(), ttl_seconds));
    outgoing(r, to, Some(expires_at))
}

/// The "your password was changed" notice, to one address of `user`.
pub fn password_changed(user: &User, to: &Email) -> OutgoingMail {
    let ctx = context! { username => user.username_str() };
    let r = render(&user.language, "password_changed", &ctx, None).unwrap_or_else(|| {
        notice_fallback(
            "Your password was changed",
            "The password of your account was changed.",
        )
    });
    outgoing(r, to, None)
}

/// The email-change code mail, to the new address `to` of `user`.
pub fn email_change_code(
    user: &User,
    to: &Email,
    code: &OneTimeCode,
    ttl_seconds: i64,
    expires_at: Timestamp,
) -> OutgoingMail {
    let ctx = context! {
        username => user.username_str(),
        code => code.expose(),
        minutes => minutes(ttl_seconds),
    };
    let r = render(
        &user.language,
        "email_change_code",
        &ctx,
        Some(code.expose()),
    )
    .unwrap_or_else(|| code_fallback("Confirm your new email address", code.expose(), ttl_seconds));
    outgoing(r, to, Some(expires_at))
}

/// The notice to the old address `to` after the account's address became
/// `new_email`, with the link that undoes the change (valid
/// `valid_seconds`, said in whole days, rounded up).
pub fn email_changed(
    user: &User,
    to: &Email,
    new_email: &Email,
    revert_link: &str,
    valid_seconds: i64,
) -> OutgoingMail {
    let ctx = context! {
        username => user.username_str(),
        new_email => new_email.as_str(),
        revert_link => revert_link,
        days => days(valid_seconds),
    };
    let r = render(&user.language, "email_changed", &ctx, None).unwrap_or_else(|| Rendered {
        subject: "Your email address was changed".to_owned(),
        text: format!(
            "The email address of your account was changed to {}.\nTo undo the change:\n\n{revert_link}\n",
            new_email.as_str()
        ),
    });
    outgoing(r, to, None)
}

/// The mail to the restored address `to` once an email change was undone.
pub fn email_reverted(user: &User, to: &Email) -> OutgoingMail {
    let ctx = context! { username => user.username_str() };
    let r = render(&user.language, "email_reverted", &ctx, None).unwrap_or_else(|| {
        notice_fallback(
            "The change of your email address was undone",
            "The change of your account's email address was undone.",
        )
    });
    outgoing(r, to, None)
}

/// The last notice of a deleted account, to an address `to` it had
/// (`user` as it was before the deletion).
pub fn account_deleted(user: &User, to: &Email) -> OutgoingMail {
    let ctx = context! { username => user.username_str() };
    let r = render(&user.language, "account_deleted", &ctx, None).unwrap_or_else(|| {
        notice_fallback("Your account was deleted", "Your account was deleted.")
    });
    outgoing(r, to, None)
}

/// The notice of a transfer to `recipient`: `received` for the new owner
/// (`other` is the old owner's name), else for the old one (`other` is the
/// new owner's).
pub fn project_transferred(
    recipient: &User,
    to: &Email,
    project: &str,
    other: &str,
    received: bool,
) -> OutgoingMail {
    let ctx = context! {
        username => recipient.username_str(),
        project => project,
        other => other,
        received => received,
    };
    let r = render(&recipient.language, "project_transferred", &ctx, None).unwrap_or_else(|| {
        notice_fallback(
            "A project changed its owner",
            &format!("The project \"{project}\" changed its owner."),
        )
    });
    outgoing(r, to, None)
}

/// The invitation to `invitee` (at `to`) into `project` from `inviter`,
/// in `language` (the caller picks it: the invitee's, or for a placeholder
/// the project's first language with templates): how to accept (log in;
/// a placeholder: sign up with this address), how long it is valid (whole
/// days, rounded up) and the decline link.
pub fn invitation(
    language: &str,
    invitee: &User,
    to: &Email,
    project: &str,
    inviter: &str,
    decline_link: &str,
    valid_seconds: i64,
) -> OutgoingMail {
    let ctx = context! {
        username => invitee.username_str(),
        address => to.as_str(),
        project => project,
        inviter => inviter,
        decline_link => decline_link,
        days => days(valid_seconds),
    };
    let r = render(language, "invitation", &ctx, None).unwrap_or_else(|| Rendered {
        subject: format!("You are invited to the project {project}"),
        text: format!(
            "{inviter} invites you to the project \"{project}\". Log in, or sign up with this address, to accept.\nTo decline:\n\n{decline_link}\n"
        ),
    });
    outgoing(r, to, None)
}

#[cfg(test)]
#[path = "mail_tests.rs"]
mod tests;
