//! End-to-end tests of the mail language through the real binary and a
//! real SMTP listener: the sign-up mail follows the request's
//! `Accept-Language`.

use crate::support::{Server, TestDb};
use accountd_testkit::{SmtpCapture, MAIL_WAIT, STRONG};
use serde_json::json;

fn signup_request_in(server: &Server, email: &str, accept_language: &str) -> String {
    let reply = server.post_json_with(
        "/api/signup_request",
        &json!({"username": "noor", "password": STRONG, "email": email}),
        &[("Accept-Language", accept_language)],
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()["result"]["validation_code"]
        .as_str()
        .unwrap_or_else(|| panic!("a validation code in {reply:?}"))
        .to_owned()
}

fn a_dutch_accept_language_gets_the_dutch_sign_up_mail_with_the_code_alone_on_its_line(
    db: &TestDb,
) {
    let smtp = SmtpCapture::start();
    let server = crate::support::Setup::new(db).smtp(smtp.port).start();
    let email = "noor@example.nl";

    let validation_code = signup_request_in(&server, email, "nl-NL,nl;q=0.9,en;q=0.8");
    let mail = smtp.wait_for(MAIL_WAIT, |m| m.is_to(email));
    assert_eq!(mail.subject, "Je verificatiecode");
    let code = mail.unicat_code();
    let code_lines: Vec<&str> = mail.text.lines().filter(|l| l.contains(&code)).collect();
    assert_eq!(code_lines, [code.as_str()], "the code alone on its line");
    // The transfer encoding of a non-ASCII body may add a final line end.
    assert_eq!(
        mail.text.trim_end(),
        format!(
            "Beste noor,\n\
             \n\
             Voer deze verificatiecode in om het aanmaken van je account af te ronden:\n\
             \n\
             {code}\n\
             \n\
             De code is 15 minuten geldig en kan één keer worden gebruikt.\n\
             Heb je je niet aangemeld? Dan kun je dit bericht negeren."
        )
    );

    // The code of the Dutch mail completes the sign-up.
    let reply = server.post_json(
        "/api/signup",
        &json!({
            "username": "noor",
            "password": STRONG,
            "email": email,
            "validation_code": validation_code,
            "verification_code": code,
        }),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["success"], json!(true), "{reply:?}");
}
on_both_backends!(
    a_dutch_accept_language_gets_the_dutch_sign_up_mail_with_the_code_alone_on_its_line
);

fn an_accept_language_without_a_ui_language_gets_the_english_sign_up_mail(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let server = crate::support::Setup::new(db).smtp(smtp.port).start();
    let email = "noor@example.fr";

    signup_request_in(&server, email, "fr-FR,fr;q=0.9");
    let mail = smtp.wait_for(MAIL_WAIT, |m| m.is_to(email));
    assert!(mail.is_signup_mail(), "subject {:?}", mail.subject);
    assert!(mail.text.starts_with("Hello noor,\n"), "{}", mail.text);
}
on_both_backends!(an_accept_language_without_a_ui_language_gets_the_english_sign_up_mail);
