//! The official `unicat` Python SDK, unchanged, against the real binary
//! (login, init, users/get, and the `//projects/get` and `//members/get`
//! calls of its sync):
//! it reads the `Authorization` header verbatim and drops its token on
//! `WWW-Authenticate`. Runs when python3 can import `unicat` (CI installs
//! it); skipped otherwise, except under CI where a missing SDK fails.

use accountd_testkit::STRONG;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

fn sdk_available() -> bool {
    Command::new("python3")
        .args(["-c", "import unicat.api"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn the_official_unicat_sdk_logs_in_renews_and_drops_its_token() {
    if !sdk_available() {
        if std::env::var_os("CI").is_some() {
            panic!("the unicat Python SDK must be installed under CI (pip install unicat)");
        }
        eprintln!("python3 cannot import unicat: skipping the SDK compatibility test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("a.db").display());
    let env = |c: &mut Command| {
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("ACCOUNTD_DATABASE_URL", &db)
            .env("ACCOUNTD_DATA_DIR", dir.path())
            .env("ACCOUNTD_BCRYPT_COST", "4")
            .env("ACCOUNTD_BIND", "127.0.0.1:0")
            .env("ACCOUNTD_LOG", "warn");
    };
    let bin = env!("CARGO_BIN_EXE_accountd");

    let mut add = Command::new(bin);
    env(&mut add);
    let mut add = add
        .args([
            "user",
            "add",
            "--username",
            "sdk-user",
            "--email",
            "sdk@example.com",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(format!("{STRONG}\n").as_bytes())
        .unwrap();
    assert!(add.wait_with_output().unwrap().status.success());

    let mut serve = Command::new(bin);
    env(&mut serve);
    let mut server = serve
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(addr) = line.strip_prefix("accountd listening on ") {
            break addr.to_owned();
        }
    };

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/e2e/sdk/unicat_sdk_compat.py"
    );
    let out = Command::new("python3")
        .args([script, &base, "sdk-user", STRONG])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the SDK script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ok: login, init, users/get, projects/get, members/get"),
        "{stdout}"
    );
}
