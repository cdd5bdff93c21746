//! The accountd binary: configuration, wiring (the only place that names
//! concrete adapters), the command line, migrations and signals.

mod audit;
mod config;
mod metrics;
mod secret;
mod serve;
mod wiring;

use accountd_app::AddUserInput;
use config::{Cli, Command, Config, KeysCommand, LogFormat, Refusal, UserCommand};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use wiring::{fail, StartError};

fn init_tracing(filter: &str, format: LogFormat) -> Result<(), StartError> {
    // The filter was checked while parsing; this only builds it.
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| fail(2, format!("ACCOUNTD_LOG: {e}")))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    }
    .map_err(|e| fail(1, format!("cannot start logging: {e}")))
}

async fn run(cli: Cli) -> Result<(), StartError> {
    init_tracing(&cli.options.log, cli.options.log_format)?;
    let config = Config::from_options(cli.options);
    match cli.command {
        None | Some(Command::Serve) => serve::serve(config).await,
        Some(Command::Migrate) => {
            let (_, migrated) = wiring::open_and_migrate(&config).await?;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "migrations applied");
            if migrated.refolded.accounts > 0 {
                let _ = writeln!(
                    out,
                    "caseless keys recomputed for {} accounts",
                    migrated.refolded.accounts
                );
            }
            for line in wiring::collision_lines(&migrated.refolded) {
                let _ = writeln!(out, "{line}");
            }
            Ok(())
        }
        Some(Command::Audit(args)) => {
            let db = wiring::open_database(&config).await?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            audit::print(&db, &args, &mut out).await?;
            out.flush()
                .map_err(|e| fail(1, format!("cannot write: {e}")))
        }
        Some(Command::Keys(KeysCommand::Rotate)) => {
            wiring::check_rotation(&config)?;
            let secret = wiring::server_secret(&config)?;
            let db = wiring::open_database(&config).await?;
            let key = wiring::rotate_key(&config, &db, &secret).await?;
            tracing::info!(
                kid = key.key.kid(),
                signs_from_ms = key.signs_from.as_millis(),
                "added a token signing key"
            );
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", key.key.kid());
            Ok(())
        }
        Some(Command::User(UserCommand::Add {
            username,
            emails,
            name,
        })) => {
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .map_err(|e| {
                    fail(
                        1,
                        format!("cannot read the password from standard input: {e}"),
                    )
                })?;
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            let db = wiring::open_database(&config).await?;
            let hasher = wiring::hasher(&config).await?;
            let service = wiring::add_user(&config, wiring::ports(&db, hasher, None));
            let user = service
                .add(AddUserInput {
                    username,
                    emails,
                    name,
                    password,
                })
                .await
                .map_err(|e| fail(1, e.to_string()))?;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", user.id);
            Ok(())
        }
    }
}

/// Prints `accountd: ...` on standard error and gives the exit code.
fn report(e: &StartError) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "accountd: {}", e.message);
    ExitCode::from(e.code)
}

fn main() -> ExitCode {
    let cli = match config::parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(Refusal::Value(e)) => return report(&fail(2, e.to_string())),
        // Help and version (exit 0), an unknown flag or command (exit 2).
        Err(Refusal::Other(e)) => e.exit(),
    };
    // Diesel calls and the SMTP pool's blocking bits run on the blocking
    // pool; bounding it keeps memory flat when the database is slow. Each
    // database call checks out its connection on one of these threads, so
    // a call beyond the pool's size only waits there: the pool's size plus
    // 16 (for the mailer and bursts), at least 32, and not a thread (and a
    // malloc arena) per waiting request.
    let pool = cli.options.db_pool_size.map_or(16, |n| n as usize);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(pool.saturating_add(16).max(32))
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "accountd: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run(cli));
    // In-flight requests were drained (up to 30 s) before `run` returned;
    // never wait without bound for leftover blocking work after that.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}
