use crate::{Email, Timestamp};
use std::fmt;

/// One message to one recipient, as queued in the outbox.
///
/// `not_after` is set for mail that carries a one-time code: once the code
/// has expired, sending it late is pointless and the dispatcher drops it.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The recipient.
    pub to: Email,
    /// The subject line.
    pub subject: String,
    /// The plain-text body (may hold a code: never logged).
    pub text: String,
    /// Drop instead of sending after this instant.
    pub not_after: Option<Timestamp>,
}

/// Debug output masks the recipient and leaves out the body.
impl fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("text", &"***")
            .field("not_after", &self.not_after)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_body() {
        let m = OutgoingMail {
            to: Email::parse("ann@example.com").unwrap(),
            subject: "Your code".into(),
            text: "\n482901\n".into(),
            not_after: None,
        };
        let shown = format!("{m:?}");
        assert!(!shown.contains("482901"));
        assert!(!shown.contains("ann@"));
    }
}
