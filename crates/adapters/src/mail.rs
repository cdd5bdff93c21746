//! Mailers: SMTP through lettre, and the console mailer of the zero-config start.

use accountd_domain::OutgoingMail;
use accountd_ports::{MailError, Mailer};
use async_trait::async_trait;
use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::fmt;
use std::io::Write;
use std::time::Duration;

/// Why a mail configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    /// `ACCOUNTD_SMTP_URL` is not a usable `smtp://` or `smtps://` URL.
    #[error("not a valid smtp:// or smtps:// URL: {0}")]
    Url(String),
    /// `ACCOUNTD_MAIL_FROM` is not a mailbox.
    #[error("not a valid mailbox (like \"accountd <no-reply@example.com>\"): {0}")]
    From(String),
}

/// Parses `ACCOUNTD_MAIL_FROM`.
pub fn parse_from(text: &str) -> Result<Mailbox, MailConfigError> {
    text.parse::<Mailbox>()
        .map_err(|e| MailConfigError::From(e.to_string()))
}

fn build(from: &Mailbox, mail: &OutgoingMail) -> Result<Message, MailError> {
    let to: Mailbox = mail
        .to
        .as_str()
        .parse()
        .map_err(|e| MailError::Permanent(format!("recipient not deliverable: {e}")))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.text.clone())
        .map_err(|e| MailError::Permanent(format!("message not buildable: {e}")))
}

/// Sends over SMTP (`smtp://[user:pass@]host[:port][?tls=required|opportunistic]`
/// or `smtps://…`), reusing connections.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer").finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Builds the transport; connects lazily, on the first message.
    pub fn new(url: &str, from: Mailbox) -> Result<Self, MailConfigError> {
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
            return Err(MailConfigError::Url(
                "must start with smtp:// or smtps://".into(),
            ));
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailConfigError::Url(e.to_string()))?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = build(&self.from, mail)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
            Err(e) => Err(MailError::Transient(e.to_string())),
        }
    }
}

/// Prints every message (headers and text body) to standard output instead
/// of delivering it: the zero-config start's mailer.
#[derive(Debug, Clone)]
pub struct ConsoleMailer {
    from: Mailbox,
}

impl ConsoleMailer {
    /// A console mailer that shows `from` as the sender.
    pub fn new(from: Mailbox) -> Self {
        Self { from }
    }

    /// The text printed for `mail`.
    pub fn render(&self, mail: &OutgoingMail) -> String {
        format!(
            "----- mail (console mailer: not delivered) -----\n\
             From: {}\nTo: {}\nSubject: {}\n\n{}\n\
             ----- end of mail -----\n",
            self.from, mail.to, mail.subject, mail.text
        )
    }
}

#[async_trait]
impl Mailer for ConsoleMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let text = self.render(mail);
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| MailError::Transient(format!("cannot write to standard output: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accountd_domain::Email;

    fn mail() -> OutgoingMail {
        OutgoingMail {
            to: Email::parse("ann@example.com").unwrap(),
            subject: "Your password reset code".into(),
            text: "Hello ann,\n\n482901\n".into(),
            not_after: None,
        }
    }

    #[test]
    fn the_console_rendering_shows_headers_and_the_code_on_its_own_line() {
        let m = ConsoleMailer::new(parse_from("accountd <no-reply@localhost>").unwrap());
        let text = m.render(&mail());
        assert!(text.contains("From: accountd <no-reply@localhost>\n"));
        assert!(text.contains("To: ann@example.com\n"));
        assert!(text.contains("Subject: Your password reset code\n"));
        assert!(text.lines().any(|l| l == "482901"));
    }

    // lettre's connection pool needs a runtime, even to be dropped.
    #[tokio::test]
    async fn bad_smtp_urls_and_senders_are_refused() {
        let from = parse_from("a <a@b.c>").unwrap();
        assert!(SmtpMailer::new("http://x", from.clone()).is_err());
        assert!(SmtpMailer::new("smtp://", from.clone()).is_err());
        assert!(SmtpMailer::new("smtp://127.0.0.1:2525", from).is_ok());
        assert!(parse_from("not a mailbox").is_err());
    }
}
