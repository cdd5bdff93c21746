//! The `Accept-Language` header of `signup_request` reaches the service and
//! picks the language of the sign-up mail.

use super::*;

/// A sign-up step 1 that succeeds and whose one mail has `subject`.
fn mails_with_subject(w: &mut World, subject: &'static str) {
    w.ip_allowed().finds("ann", None);
    w.issuance("challenges:email:ann@example.com", RateDecision::Allowed);
    w.hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok(old_hash()));
    w.draws();
    w.changes
        .expect_apply()
        .withf(move |set, _| matches!(set.mails(), [m] if m.subject == subject))
        .times(1)
        .returning(|_, _| Ok(Applied::Committed));
}

const ANSWER: &str = r#"{"success":true,"result":{"validation_code":"KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio"},"data":{}}"#;

#[actix_rt::test]
async fn signup_request_mails_the_code_in_the_first_accept_language_that_is_a_ui_language() {
    let a = call(
        |w| mails_with_subject(w, "Je verificatiecode"),
        post_json(SIGNUP_REQUEST, &signup_request_body())
            .insert_header((header::ACCEPT_LANGUAGE, "fr-FR, nl-NL;q=0.9, de;q=0.8")),
    )
    .await;

    assert_answer(&a, 200, ANSWER);
}

#[actix_rt::test]
async fn signup_request_joins_repeated_accept_language_headers_in_order() {
    let a = call_with(
        |w| mails_with_subject(w, "Ihr Bestätigungscode"),
        post_json(SIGNUP_REQUEST, &signup_request_body()),
        |h| {
            h.append(header::ACCEPT_LANGUAGE, "fr".parse().unwrap());
            h.append(
                header::ACCEPT_LANGUAGE,
                "de-AT;q=0.5, en;q=0.4".parse().unwrap(),
            );
        },
    )
    .await;

    assert_answer(&a, 200, ANSWER);
}

#[actix_rt::test]
async fn signup_request_without_a_ui_language_in_accept_language_mails_in_english() {
    for accept in [None, Some("fr-FR,*;q=0.5"), Some(";;garbage")] {
        let req = post_json(SIGNUP_REQUEST, &signup_request_body());
        let req = match accept {
            Some(v) => req.insert_header((header::ACCEPT_LANGUAGE, v)),
            None => req,
        };
        let a = call(|w| mails_with_subject(w, "Your verification code"), req).await;
        assert_answer(&a, 200, ANSWER);
    }
}
