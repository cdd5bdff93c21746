//! The end-to-end harness: the real `accountd` binary on a real port, its
//! own database per test (SQLite file or fresh PostgreSQL database), and a
//! real SMTP server inside the test process that captures every message.
//!
//! - [`Setup`] holds what a server is started with (database, SMTP port,
//!   extra `ACCOUNTD_*` variables); it starts servers and runs
//!   `accountd user add` against the same database.
//! - [`Server`] is one running `accountd serve`: its stdout and stderr are
//!   collected (and forwarded to the test's output) by background threads;
//!   dropping it kills the process.
//! - [`SmtpCapture`] is an SMTP listener on 127.0.0.1 (a free port, or a
//!   chosen one, so it can be started after the server that will use it).

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

pub use accountd_adapters::test_support::TestDb;

use mailin_embedded::{response, Handler, Response};
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Server secret of every test server (>= 32 bytes).
pub const SECRET: &str = "accountd-end-to-end-test-secret-0123456789";
/// The password of users created by [`Setup::add_user`]: passes the default policy.
pub const PASSWORD: &str = "Quartz-Lantern-Meadow-97";
/// A new password that passes the default policy.
pub const NEW_PASSWORD: &str = "Velvet-Comet-Orchard-31";

pub const SEND_EMAIL: &str = "/api/auth/forgotPassword/sendEmail";
pub const CHECK_CODE: &str = "/api/auth/forgotPassword/checkCode";
pub const RESET_PASSWORD: &str = "/api/auth/forgotPassword/resetPassword";

/// How long a mail may take to arrive when SMTP is up.
pub const MAIL_WAIT: Duration = Duration::from_secs(10);
/// How long a server may take to print its listening line.
const START_WAIT: Duration = Duration::from_secs(45);
/// How long a server may take to exit after SIGTERM.
const STOP_WAIT: Duration = Duration::from_secs(40);

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_accountd")
}

/// A command for the binary with no inherited `ACCOUNTD_*` variable (so the
/// developer's environment cannot leak in) and `dir` as working directory.
pub fn clean_command(dir: &Path) -> Command {
    let mut cmd = Command::new(bin());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ACCOUNTD_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(dir);
    cmd
}

/// Lines of one output stream of a child, collected by a background thread.
#[derive(Debug, Default)]
pub struct Lines {
    state: Mutex<(Vec<String>, bool)>,
    changed: Condvar,
}

impl Lines {
    /// Reads `stream` line by line until EOF, forwarding each line to the
    /// test's own output (shown when the test fails) with `label`.
    fn collect(stream: impl std::io::Read + Send + 'static, label: String) -> Arc<Self> {
        let lines = Arc::new(Self::default());
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                eprintln!("[{label}] {line}");
                let mut state = sink.state.lock().unwrap();
                state.0.push(line);
                sink.changed.notify_all();
            }
            sink.state.lock().unwrap().1 = true;
            sink.changed.notify_all();
        });
        lines
    }

    /// Every line so far.
    pub fn all(&self) -> Vec<String> {
        self.state.lock().unwrap().0.clone()
    }

    /// Waits until some line satisfies `found`; `None` at EOF or timeout.
    fn wait_for(&self, timeout: Duration, found: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().unwrap();
        loop {
            if let Some(line) = state.0.iter().find(|l| found(l)) {
                return Some(line.clone());
            }
            let now = Instant::now();
            if state.1 || now >= deadline {
                return None;
            }
            state = self.changed.wait_timeout(state, deadline - now).unwrap().0;
        }
    }
}

/// What servers of one test are started with.
#[derive(Debug, Clone)]
pub struct Setup {
    pub database_url: String,
    pub env: Vec<(String, String)>,
    /// Variables of the defaults that are not set at all (see [`Setup::unset`]).
    pub unset: Vec<String>,
}

impl Setup {
    /// The test defaults on `db`: port 0, the test secret, bcrypt cost 4,
    /// mail printed to the console until [`Setup::smtp`] is called.
    pub fn new(db: &TestDb) -> Self {
        Self {
            database_url: db.url.clone(),
            env: Vec::new(),
            unset: Vec::new(),
        }
    }

    /// Sets (or replaces) one variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.unset.retain(|k| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Leaves `key` unset (e.g. `ACCOUNTD_SECRET`, to run on the secret
    /// generated in the data directory).
    pub fn unset(mut self, key: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.unset.push(key.to_owned());
        self
    }

    /// Mail goes to an SMTP server on 127.0.0.1:`port` (plain, no TLS).
    pub fn smtp(self, port: u16) -> Self {
        self.env("ACCOUNTD_SMTP_URL", &format!("smtp://127.0.0.1:{port}"))
    }

    fn command(&self, dir: &Path) -> Command {
        let mut cmd = clean_command(dir);
        cmd.env("ACCOUNTD_BIND", "127.0.0.1:0")
            .env("ACCOUNTD_DATABASE_URL", &self.database_url)
            .env("ACCOUNTD_SECRET", SECRET)
            .env("ACCOUNTD_DATA_DIR", dir.join("data"))
            .env("ACCOUNTD_BCRYPT_COST", "4")
            .env("ACCOUNTD_LOG", "info");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for k in &self.unset {
            cmd.env_remove(k);
        }
        cmd
    }

    /// Starts `accountd serve` and waits for its listening line.
    pub fn start(&self) -> Server {
        let dir = tempfile::tempdir().expect("a working directory");
        let mut child = self
            .command(dir.path())
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn accountd serve");
        let pid = child.id();
        let stdout = Lines::collect(
            child.stdout.take().unwrap(),
            format!("accountd {pid} stdout"),
        );
        let stderr = Lines::collect(
            child.stderr.take().unwrap(),
            format!("accountd {pid} stderr"),
        );
        const PREFIX: &str = "accountd listening on http://";
        let Some(line) = stdout.wait_for(START_WAIT, |l| l.starts_with(PREFIX)) else {
            let _ = child.kill();
            let status = child.wait();
            // Give the reader a moment to drain what the process said last.
            let _ = stderr.wait_for(Duration::from_secs(2), |_| false);
            panic!(
                "accountd did not start ({status:?}); stderr:\n{}",
                stderr.all().join("\n")
            );
        };
        let base_url = format!("http://{}", line[PREFIX.len()..].trim());
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        Server {
            child: Some(child),
            base_url,
            stdout,
            stderr,
            http,
            _dir: dir,
        }
    }

    /// Runs `accountd user add` on this database (password [`PASSWORD`] on
    /// standard input) and returns the printed gid.
    pub fn add_user(&self, username: &str, emails: &[&str]) -> String {
        let dir = tempfile::tempdir().expect("a working directory");
        let mut cmd = self.command(dir.path());
        cmd.args(["user", "add", "--username", username]);
        for e in emails {
            cmd.args(["--email", e]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn accountd user add");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().expect("accountd user add");
        assert!(
            out.status.success(),
            "accountd user add failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let gid = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert_eq!(gid.len(), 36, "a gid (uuid), got {gid:?}");
        gid
    }
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    fn from(r: reqwest::blocking::Response) -> Self {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.text().expect("a body");
        Self {
            status,
            headers,
            body,
        }
    }
}

/// One running `accountd serve`; killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub stdout: Arc<Lines>,
    pub stderr: Arc<Lines>,
    http: reqwest::blocking::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Waits (bounded) for a line of the server's log satisfying `found`.
    pub fn stderr_wait(&self, timeout: Duration, found: impl Fn(&str) -> bool) -> Option<String> {
        self.stderr.wait_for(timeout, found)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn get(&self, path: &str) -> Reply {
        Reply::from(self.http.get(self.url(path)).send().expect("GET"))
    }

    /// GETs `path` with extra request headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = self.http.get(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::from(req.send().expect("GET"))
    }

    /// POSTs `body` as JSON with extra request headers.
    pub fn post_json_with(
        &self,
        path: &str,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.http.post(self.url(path)).json(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::from(req.send().expect("POST"))
    }

    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> Reply {
        Reply::from(
            self.http
                .post(self.url(path))
                .json(body)
                .send()
                .expect("POST"),
        )
    }

    /// POSTs `body` as is, with `content_type` when given.
    pub fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::blocking::Body>,
    ) -> Reply {
        let mut req = self.http.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header(reqwest::header::CONTENT_TYPE, ct);
        }
        Reply::from(req.send().expect("POST"))
    }

    pub fn send_email(&self, username: &str) -> Reply {
        self.post_json(SEND_EMAIL, &serde_json::json!({ "username": username }))
    }

    pub fn check_code(&self, username: &str, code: &str) -> Reply {
        self.post_json(
            CHECK_CODE,
            &serde_json::json!({ "username": username, "code": code }),
        )
    }

    pub fn reset_password(&self, username: &str, code: &str, new_password: &str) -> Reply {
        self.post_json(
            RESET_PASSWORD,
            &serde_json::json!({ "username": username, "code": code, "new_password": new_password }),
        )
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    pub fn terminate(self) -> ExitStatus {
        self.signal_and_wait("TERM")
    }

    /// Sends SIGINT (Ctrl-C) and waits (bounded) for the exit.
    pub fn interrupt(self) -> ExitStatus {
        self.signal_and_wait("INT")
    }

    fn signal_and_wait(mut self, signal: &str) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
        let deadline = Instant::now() + STOP_WAIT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("accountd did not exit within {STOP_WAIT:?} of SIG{signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`: no chance to clean up.
    pub fn kill9(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().expect("SIGKILL");
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

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
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`), lower-case, without brackets.
    pub recipients: Vec<String>,
    /// Header `Subject`.
    pub subject: String,
    /// Header `To`.
    pub to_header: String,
    /// The decoded text body, with `\n` line ends.
    pub text: String,
    /// The message as received.
    pub raw: String,
}

impl Mail {
    fn parse(from: String, recipients: Vec<String>, data: &[u8]) -> Self {
        let raw = String::from_utf8_lossy(data).into_owned();
        let normalised = raw.replace("\r\n", "\n");
        let (head, body) = normalised.split_once("\n\n").unwrap_or((&normalised, ""));
        // Unfold continued header lines.
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
            } else if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let text = match header("content-transfer-encoding")
            .to_ascii_lowercase()
            .as_str()
        {
            "quoted-printable" => decode_quoted_printable(body),
            "base64" => String::from_utf8_lossy(&decode_base64(body)).replace("\r\n", "\n"),
            _ => body.to_owned(),
        };
        Self {
            from,
            recipients,
            subject: header("subject"),
            to_header: header("to"),
            text,
            raw,
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

/// Whether `text` is six characters of the Crockford base32 alphabet
/// (digits and upper-case letters without I, L, O, U).
pub fn is_crockford_code(text: &str) -> bool {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    text.len() == 6 && text.bytes().all(|b| ALPHABET.contains(&b))
}

fn decode_quoted_printable(text: &str) -> String {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn decode_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in text.bytes() {
        let Some(v) = ALPHABET.iter().position(|&a| a == b) else {
            continue;
        };
        acc = (acc << 6) | u32::try_from(v).unwrap();
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap());
        }
    }
    out
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

/// Runs the scenario `fn NAME(db: &TestDb)` once per backend, as the tests
/// `NAME::on_sqlite` and `NAME::on_postgres` (the latter skipped when
/// `TEST_DATABASE_URL` is unset). The module shares the function's name
/// (modules and functions live in different namespaces).
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            use super::support::TestDb;

            #[test]
            fn on_sqlite() {
                super::$name(&TestDb::sqlite());
            }

            #[test]
            fn on_postgres() {
                if let Some(db) = TestDb::postgres() {
                    super::$name(&db);
                }
            }
        }
    };
}
