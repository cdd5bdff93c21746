//! The layering of docs/ARCHITECTURE.md, checked against the real
//! dependency graph (`cargo tree`), so a stray dependency fails the suite.

use std::process::Command;

fn normal_deps(package: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn the_domain_depends_on_nothing_that_does_io() {
    let deps = normal_deps("accountd-domain");
    assert!(
        deps.iter().any(|d| d == "zxcvbn"),
        "sanity: the tree was read"
    );
    for forbidden in [
        "diesel",
        "actix-web",
        "actix-rt",
        "tokio",
        "lettre",
        "bcrypt",
        "rand",
        "getrandom",
        "libsqlite3-sys",
        "pq-sys",
        "accountd-ports",
        "accountd-adapters",
    ] {
        assert!(
            !deps.iter().any(|d| d == forbidden),
            "accountd-domain depends on {forbidden}"
        );
    }
}

#[test]
fn the_http_layer_and_the_use_cases_never_depend_on_adapters() {
    for package in ["accountd-http", "accountd-app", "accountd-ports"] {
        let deps = normal_deps(package);
        for forbidden in ["accountd-adapters", "diesel", "lettre", "bcrypt"] {
            assert!(
                !deps.iter().any(|d| d == forbidden),
                "{package} depends on {forbidden}"
            );
        }
    }
}

/// The crates record through the `metrics` facade; only the binary knows
/// the Prometheus exporter.
#[test]
fn only_the_binary_depends_on_the_metrics_exporter() {
    assert!(
        normal_deps("accountd")
            .iter()
            .any(|d| d == "metrics-exporter-prometheus"),
        "sanity: the binary has the exporter"
    );
    for package in [
        "accountd-http",
        "accountd-adapters",
        "accountd-app",
        "accountd-ports",
        "accountd-domain",
    ] {
        let deps = normal_deps(package);
        assert!(
            !deps.iter().any(|d| d == "metrics-exporter-prometheus"),
            "{package} depends on metrics-exporter-prometheus"
        );
    }
    assert!(
        !normal_deps("accountd-domain")
            .iter()
            .any(|d| d == "metrics"),
        "the domain records nothing"
    );
}

#[test]
fn no_crate_depends_on_the_testkit_outside_its_dev_dependencies() {
    for package in [
        "accountd",
        "accountd-http",
        "accountd-adapters",
        "accountd-app",
        "accountd-ports",
        "accountd-domain",
    ] {
        let deps = normal_deps(package);
        assert!(
            deps.iter().any(|d| d == package),
            "sanity: the tree of {package} was read"
        );
        assert!(
            !deps.iter().any(|d| d == "accountd-testkit"),
            "{package} depends on accountd-testkit outside [dev-dependencies]"
        );
    }
}
