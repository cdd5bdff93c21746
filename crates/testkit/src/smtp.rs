//! SMTP servers for tests, on 127.0.0.1: [`SmtpCapture`] receives and keeps
//! every message (mailin-embedded), parsed into a [`Mail`] by `mail-parser`;
//! [`SilentSmtp`] accepts connections and never answers.

use crate::fixtures::is_crockford_code;
use mailin_embedded::{response, Handler, Response};
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a mail may take to arrive when SMTP is up.
pub const MAIL_WAIT: Duration = Duration::from_secs(10);

/// A port on 127.0.0.1 that nothing listens on now, drawn from below the
/// kernel's ephemeral range, so that no port-0 bind or outgoing connection
/// of a parallel test gets it before [`SmtpCapture::start_on`] takes it.
pub fn unused_port() -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| {
            t.split_whitespace()
                .next()
                .and_then(|p| p.parse::<u16>().ok())
        })
        .unwrap_or(32_768);
    let (lo, hi) = if ephemeral_low > 12_000 {
        (10_000, ephemeral_low - 1)
    } else {
        (61_000, 65_000)
    };
    for _ in 0..200 {
        let port = rand::random_range(lo..=hi);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {lo}..={hi}");
}

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope sender (`MAIL FROM`), lower-case, without brackets.
    pub from: String,
    /// The envelope recipients (`RCPT TO`), lower-case, without brackets.
    pub recipients: Vec<String>,
    /// Header `Subject`, decoded.
    pub subject: String,
    /// The addresses of header `To`, as written.
    pub to: Vec<String>,
    /// The decoded text body (transfer encoding and charset undone), with
    /// `\n` line ends.
    pub text: String,
    /// The message as received.
    pub raw: String,
}

impl Mail {
    /// Parses the message `data` that arrived from the envelope sender
    /// `from` for `recipients`. Panics when `data` is not a message.
    pub fn parse(from: String, recipients: Vec<String>, data: &[u8]) -> Self {
        let message = mail_parser::MessageParser::default()
            .parse(data)
            .unwrap_or_else(|| panic!("not a message: {:?}", String::from_utf8_lossy(data)));
        let to = message
            .to()
            .map(|a| {
                a.iter()
                    .filter_map(|addr| addr.address())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let text = message
            .body_text(0)
            .map(|t| t.replace("\r\n", "\n"))
            .unwrap_or_default();
        Self {
            from,
            recipients,
            subject: message.subject().unwrap_or_default().to_owned(),
            to,
            text,
            raw: String::from_utf8_lossy(data).into_owned(),
        }
    }

    /// Whether `address` is an envelope recipient.
    pub fn is_to(&self, address: &str) -> bool {
        self.recipients
            .iter()
            .any(|r| r.eq_ignore_ascii_case(address))
    }

    /// The code: the one line of the text body that is exactly six digits
    /// once trimmed. Panics when there is not exactly one such line.
    pub fn code(&self) -> String {
        let lines: Vec<&str> = self
            .text
            .lines()
            .map(str::trim)
            .filter(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        assert_eq!(lines.len(), 1, "exactly one code line in:\n{}", self.text);
        lines[0].to_owned()
    }

    /// The Unicat verification code: the one line of the text body that
    /// is exactly six Crockford base32 characters (digits and upper-case
    /// letters without I, L, O, U) once trimmed. Panics when there is not
    /// exactly one such line.
    pub fn unicat_code(&self) -> String {
        let lines: Vec<&str> = self
            .text
            .lines()
            .map(str::trim)
            .filter(|l| is_crockford_code(l))
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "exactly one Crockford code line in:\n{}",
            self.text
        );
        lines[0].to_owned()
    }

    /// The Unicat sign-up code mail.
    pub fn is_signup_mail(&self) -> bool {
        self.subject == "Your verification code"
    }

    pub fn is_code_mail(&self) -> bool {
        self.subject == "Your password reset code"
    }

    pub fn is_change_notice(&self) -> bool {
        self.subject == "Your password was changed"
    }
}

#[derive(Debug, Default)]
struct Inbox {
    mails: Mutex<Vec<Mail>>,
    arrived: Condvar,
}

/// The SMTP session state of one connection (the handler is cloned per
/// connection) plus the shared inbox.
#[derive(Debug, Clone)]
struct Capture {
    inbox: Arc<Inbox>,
    from: String,
    recipients: Vec<String>,
    data: Vec<u8>,
}

fn bare_address(a: &str) -> String {
    a.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_ascii_lowercase()
}

impl Handler for Capture {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = bare_address(from);
        self.recipients = to.iter().map(|t| bare_address(t)).collect();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = Mail::parse(
            std::mem::take(&mut self.from),
            std::mem::take(&mut self.recipients),
            &std::mem::take(&mut self.data),
        );
        self.inbox.mails.lock().unwrap().push(mail);
        self.inbox.arrived.notify_all();
        response::OK
    }
}

/// An SMTP server on 127.0.0.1 capturing every message. It serves until
/// the test process ends (mailin-embedded has no shutdown).
#[derive(Debug, Clone)]
pub struct SmtpCapture {
    pub port: u16,
    inbox: Arc<Inbox>,
}

impl SmtpCapture {
    /// On a free port.
    pub fn start() -> Self {
        Self::serve(TcpListener::bind("127.0.0.1:0").expect("bind an SMTP port"))
    }

    /// On `port` (e.g. one a server was already told to use). The port may
    /// have been released a moment ago (a silent server just closed it), so
    /// a bind refused as in use is retried for up to 5 seconds.
    pub fn start_on(port: u16) -> Self {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match TcpListener::bind((IpAddr::from([127, 0, 0, 1]), port)) {
                Ok(listener) => return Self::serve(listener),
                Err(e)
                    if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("bind SMTP port {port}: {e}"),
            }
        }
    }

    fn serve(listener: TcpListener) -> Self {
        let port = listener.local_addr().unwrap().port();
        let inbox = Arc::new(Inbox::default());
        let handler = Capture {
            inbox: inbox.clone(),
            from: String::new(),
            recipients: Vec::new(),
            data: Vec::new(),
        };
        std::thread::spawn(move || {
            let mut server = mailin_embedded::Server::new(handler);
            server
                .with_name("smtp.test")
                .with_num_threads(32)
                .with_tcp_listener(listener);
            if let Err(e) = server.serve() {
                eprintln!("[smtp {port}] stopped: {e}");
            }
        });
        Self { port, inbox }
    }

    /// Every message received so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.inbox.mails.lock().unwrap().clone()
    }

    /// Waits until at least `n` received messages satisfy `which`, and
    /// returns them all (in arrival order). Panics after `timeout`.
    pub fn wait_for_n(
        &self,
        n: usize,
        timeout: Duration,
        which: impl Fn(&Mail) -> bool,
    ) -> Vec<Mail> {
        let deadline = Instant::now() + timeout;
        let mut mails = self.inbox.mails.lock().unwrap();
        loop {
            let found: Vec<Mail> = mails.iter().filter(|m| which(m)).cloned().collect();
            if found.len() >= n {
                return found;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "{n} mail(s) expected within {timeout:?}, {} matching; received: {:#?}",
                found.len(),
                *mails
            );
            mails = self
                .inbox
                .arrived
                .wait_timeout(mails, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// The first message satisfying `which`, waiting up to `timeout`.
    pub fn wait_for(&self, timeout: Duration, which: impl Fn(&Mail) -> bool) -> Mail {
        self.wait_for_n(1, timeout, which).remove(0)
    }

    /// The Unicat code of the first sign-up mail to `to` (waiting [`MAIL_WAIT`]).
    pub fn signup_code_for(&self, to: &str) -> String {
        self.wait_for(MAIL_WAIT, |m| m.is_signup_mail() && m.is_to(to))
            .unicat_code()
    }

    /// The code of the first code mail to `to` (waiting [`MAIL_WAIT`]).
    pub fn code_for(&self, to: &str) -> String {
        self.wait_for(MAIL_WAIT, |m| m.is_code_mail() && m.is_to(to))
            .code()
    }
}

/// A listener that accepts SMTP connections and never answers: a sender
/// stays stuck in its attempt (holding its outbox lease) until it times out.
#[derive(Debug)]
pub struct SilentSmtp {
    pub port: u16,
    connected: Arc<(Mutex<usize>, Condvar)>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SilentSmtp {
    /// On a port of [`unused_port`]'s range, picked and bound in one step
    /// (retrying on a port taken meanwhile), so no other test can take it
    /// between the check and the bind.
    pub fn start() -> Self {
        for _ in 0..20 {
            let port = unused_port();
            if let Ok(listener) = TcpListener::bind((IpAddr::from([127, 0, 0, 1]), port)) {
                return Self::serve(listener, port);
            }
        }
        panic!("no port could be bound for the silent SMTP server");
    }

    pub fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind((IpAddr::from([127, 0, 0, 1]), port))
            .unwrap_or_else(|e| panic!("bind port {port}: {e}"));
        Self::serve(listener, port)
    }

    fn serve(listener: TcpListener, port: u16) -> Self {
        listener.set_nonblocking(true).unwrap();
        let connected = Arc::new((Mutex::new(0), Condvar::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (c, st) = (connected.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !st.load(std::sync::atomic::Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        held.push(stream);
                        *c.0.lock().unwrap() += 1;
                        c.1.notify_all();
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Self {
            port,
            connected,
            stop,
            thread: Some(thread),
        }
    }

    /// Waits (bounded) until a sender has connected.
    pub fn wait_connected(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut n = self.connected.0.lock().unwrap();
        while *n == 0 {
            let now = Instant::now();
            assert!(now < deadline, "no SMTP connection within {timeout:?}");
            n = self.connected.1.wait_timeout(n, deadline - now).unwrap().0;
        }
    }

    /// Closes the listener and every held connection, freeing the port.
    pub fn close(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for SilentSmtp {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    fn parse(data: &str) -> Mail {
        Mail::parse(
            "noreply@example.com".into(),
            vec!["ann@example.com".into()],
            data.as_bytes(),
        )
    }

    #[test]
    fn a_quoted_printable_body_is_decoded_with_soft_breaks_joined() {
        let mail = parse(concat!(
            "From: accountd <noreply@example.com>\r\n",
            "To: Ann Lee <ann@example.com>\r\n",
            "Subject: Your password reset code\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n",
            "\r\n",
            "Hello Ann,\r\n",
            "\r\n",
            "    482901\r\n",
            "\r\n",
            "Caf=C3=A9 a=3Db, one long line that goes on and on and on and on and=\r\n",
            " on.\r\n",
        ));
        assert_eq!(mail.subject, "Your password reset code");
        assert_eq!(mail.to, ["ann@example.com"]);
        assert!(mail.is_code_mail());
        assert!(mail.is_to("ANN@example.com"));
        assert_eq!(
            mail.text,
            "Hello Ann,\n\n    482901\n\nCafé a=b, one long line that goes on and on and on and on and on.\n"
        );
        assert_eq!(mail.code(), "482901");
    }

    #[test]
    fn a_base64_body_and_an_encoded_subject_are_decoded() {
        // "Hello ann,\r\n\r\n10AMYZ\r\n" and "Your verification code".
        let mail = parse(concat!(
            "To: ann@example.com\r\n",
            "Subject: =?utf-8?b?WW91ciB2ZXJpZmljYXRpb24gY29kZQ==?=\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "\r\n",
            "SGVsbG8gYW5uLA0KDQoxMEFNWVoNCg==\r\n",
        ));
        assert!(mail.is_signup_mail(), "{:?}", mail.subject);
        assert_eq!(mail.text, "Hello ann,\n\n10AMYZ\n");
        assert_eq!(mail.unicat_code(), "10AMYZ");
    }

    #[test]
    #[should_panic(expected = "exactly one code line")]
    fn a_body_with_two_code_lines_has_no_code() {
        parse("Subject: x\r\n\r\n123456\r\n654321\r\n").code();
    }

    #[test]
    fn the_capture_server_keeps_a_message_sent_over_smtp() {
        let smtp = SmtpCapture::start();
        let stream = std::net::TcpStream::connect(("127.0.0.1", smtp.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        // Reads one reply (the last line of a multi-line one has a space
        // after the code) and returns its code.
        let mut reply = || {
            let mut line = String::new();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                if line.as_bytes().get(3) != Some(&b'-') {
                    return line[..3].to_owned();
                }
            }
        };
        assert_eq!(reply(), "220");
        for (command, code) in [
            ("EHLO client.test", "250"),
            ("MAIL FROM:<NoReply@Example.com>", "250"),
            ("RCPT TO:<Ann@Example.com>", "250"),
            ("DATA", "354"),
        ] {
            write!(writer, "{command}\r\n").unwrap();
            assert_eq!(reply(), code, "{command}");
        }
        writer
            .write_all(b"Subject: Your password was changed\r\n\r\nHello Ann,\r\n.\r\n")
            .unwrap();
        assert_eq!(reply(), "250");
        write!(writer, "QUIT\r\n").unwrap();

        let mail = smtp.wait_for(MAIL_WAIT, Mail::is_change_notice);
        assert_eq!(mail.from, "noreply@example.com");
        assert_eq!(mail.recipients, ["ann@example.com"]);
        assert_eq!(mail.text, "Hello Ann,\n");
        assert_eq!(smtp.mails().len(), 1);
    }
}
