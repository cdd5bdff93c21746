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
//! - The SMTP servers ([`accountd_testkit::SmtpCapture`], a listener on
//!   127.0.0.1 on a free or a chosen port, and
//!   [`accountd_testkit::SilentSmtp`]) and the fixtures the tests of other
//!   crates share (passwords, `wrong_code`, `in_parallel`) come from
//!   `accountd-testkit`.
//! - `on_both_backends!` turns a scenario into `<scenario>::on_sqlite`
//!   and `<scenario>::on_postgres`.

#![allow(dead_code)]

pub use accountd_adapters::test_support::TestDb;

use accountd_testkit::PASSWORD;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Server secret of every test server (>= 32 bytes).
pub const SECRET: &str = "accountd-end-to-end-test-secret-0123456789";

pub const SEND_EMAIL: &str = "/api/auth/forgotPassword/sendEmail";
pub const CHECK_CODE: &str = "/api/auth/forgotPassword/checkCode";
pub const RESET_PASSWORD: &str = "/api/auth/forgotPassword/resetPassword";

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
    pub fn wait_for(&self, timeout: Duration, found: impl Fn(&str) -> bool) -> Option<String> {
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

    /// Runs `accountd user add` on this database (password
    /// [`accountd_testkit::PASSWORD`] on standard input) and returns the
    /// printed gid.
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

    /// The reply of a request sent with a client of the test's own.
    pub fn from(r: reqwest::blocking::Response) -> Self {
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

/// Runs the scenario `fn NAME(db: &TestDb)` once per backend, as the tests
/// `NAME::on_sqlite` and `NAME::on_postgres` (the latter skipped when
/// `TEST_DATABASE_URL` is unset). The module shares the function's name
/// (modules and functions live in different namespaces).
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            use $crate::support::TestDb;

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

impl Setup {
    /// Runs `accountd user add` on this database (password
    /// [`accountd_testkit::PASSWORD`] on standard input) and returns how it
    /// ended, success or not.
    pub fn try_add_user(&self, username: &str, emails: &[&str]) -> std::process::Output {
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
        child.wait_with_output().expect("accountd user add")
    }
}

/// The outbox key of the test servers (derived from [`SECRET`]), for mail
/// a test queues through the adapter itself.
pub fn outbox_key() -> [u8; 32] {
    accountd_domain::ServerSecret::new(SECRET.as_bytes().to_vec())
        .unwrap()
        .outbox_key()
}

/// Applies `set` to the test database directly through the adapter (for
/// state no served route can create yet, e.g. projects), as of instant 0.
pub fn apply(db: &TestDb, set: accountd_domain::ChangeSet) {
    use accountd_ports::Changes;
    let url = accountd_adapters::DatabaseUrl::parse(&db.url).expect("the test database URL");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = accountd_adapters::Database::open(&url, 1, Duration::from_secs(10))
            .unwrap()
            .with_outbox_key(&outbox_key());
        assert_eq!(
            db.apply(set, accountd_domain::Timestamp::from_millis(0))
                .await
                .unwrap(),
            accountd_ports::Applied::Committed
        );
    });
}

impl Setup {
    /// Runs `accountd migrate` on this database and returns how it ended.
    pub fn migrate(&self) -> std::process::Output {
        let dir = tempfile::tempdir().expect("a working directory");
        self.command(dir.path())
            .arg("migrate")
            .stdin(Stdio::null())
            .output()
            .expect("accountd migrate")
    }

    /// Runs `accountd audit ARGS` on this database and returns how it
    /// ended.
    pub fn audit(&self, args: &[&str]) -> std::process::Output {
        let dir = tempfile::tempdir().expect("a working directory");
        self.command(dir.path())
            .arg("audit")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("accountd audit")
    }

    /// The events `accountd audit --json ARGS` prints, one object a line.
    pub fn audit_events(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.audit(&all);
        assert!(
            out.status.success(),
            "accountd audit failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

impl Setup {
    /// Runs `accountd ARGS` (any command) with this setup's database and
    /// variables, standard input closed, and returns how it ended.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        let dir = tempfile::tempdir().expect("a working directory");
        self.command(dir.path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("accountd")
    }
}

/// The exact Unicat 1001 body with `info` = `{field, reason, detail}` plus
/// `extra`, in that order.
pub fn validation(field: &str, reason: &str, detail: &str, extra: &[(&str, Value)]) -> String {
    let mut info = serde_json::Map::new();
    info.insert("field".into(), json!(field));
    info.insert("reason".into(), json!(reason));
    info.insert("detail".into(), json!(detail));
    for (k, v) in extra {
        info.insert((*k).into(), v.clone());
    }
    json!({
        "success": false,
        "result": {"code": 1001, "message": "Validation error", "info": info},
        "data": {},
    })
    .to_string()
}

/// The exact `code_invalid` body with `attempts_left`.
pub fn code_invalid(attempts_left: u32) -> String {
    validation(
        "verification_code",
        "code_invalid",
        "The verification code is not valid.",
        &[("attempts_left", json!(attempts_left))],
    )
}
