# accountd recipes. `just` is optional: each recipe is the plain cargo command.

pg_url := env_var_or_default("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")

# Serve on 127.0.0.1:8080 (SQLite in ./data, console mailer).
run:
    cargo run --release

# The whole suite (PostgreSQL tests skip unless TEST_DATABASE_URL is set).
test:
    cargo test --workspace

# The whole suite with the PostgreSQL tests switched on.
test-pg:
    TEST_DATABASE_URL={{pg_url}} cargo test --workspace

# Lints, as strict as CI.
lint:
    cargo clippy --workspace --all-targets -- -D warnings

# Format the code.
fmt:
    cargo fmt --all

# Everything CI checks.
check:
    bash .ci/run

# Every fuzz target for FUZZ_SECONDS (20) each (nightly toolchain, cargo-fuzz).
fuzz:
    bash .ci/fuzz.sh
