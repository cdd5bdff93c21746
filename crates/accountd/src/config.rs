//! Configuration: every option is a flag and an environment variable (the
//! flag wins), named as in the operations spec. Values are taken as text and
//! checked here, so that a bad one gives one line naming the variable.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;

/// accountd: sign-up, login and password reset for other products.
#[derive(Parser)]
#[command(name = "accountd", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub options: Options,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do (default: serve).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve HTTP until SIGTERM/SIGINT.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
}

/// User administration.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an active user; the password is read from standard input (one line).
    Add {
        /// The username.
        #[arg(long)]
        username: String,
        /// An email address (repeat for several).
        #[arg(long = "email")]
        emails: Vec<String>,
        /// The display name.
        #[arg(long, default_value = "")]
        name: String,
    },
}

/// Every option (global: accepted before or after the subcommand).
#[derive(Args)]
pub struct Options {
    /// Listen address.
    #[arg(
        long,
        env = "ACCOUNTD_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,
    /// sqlite://PATH (created if missing) or postgres://...
    #[arg(
        long,
        env = "ACCOUNTD_DATABASE_URL",
        default_value = "sqlite://./data/accountd.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url: String,
    /// Where a generated server secret is kept.
    #[arg(
        long,
        env = "ACCOUNTD_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: String,
    /// Server secret, at least 32 bytes [default: generated and kept in the data dir].
    #[arg(long, env = "ACCOUNTD_SECRET", global = true, hide_env_values = true)]
    pub secret: Option<String>,
    /// smtp://[user:pass@]host[:port][?tls=required|opportunistic] or smtps://... [default: console mailer]
    #[arg(long, env = "ACCOUNTD_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender of every mail.
    #[arg(
        long,
        env = "ACCOUNTD_MAIL_FROM",
        default_value = "accountd <no-reply@localhost>",
        global = true
    )]
    pub mail_from: String,
    /// Base for links in emails.
    #[arg(
        long,
        env = "ACCOUNTD_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub public_url: String,
    /// bcrypt cost, 4..=31.
    #[arg(
        long,
        env = "ACCOUNTD_BCRYPT_COST",
        default_value = "12",
        global = true
    )]
    pub bcrypt_cost: String,
    /// Life of every challenge, in seconds.
    #[arg(
        long,
        env = "ACCOUNTD_CODE_TTL_SECONDS",
        default_value = "900",
        global = true
    )]
    pub code_ttl_seconds: String,
    /// Failed tries that exhaust a Unicat challenge.
    #[arg(
        long,
        env = "ACCOUNTD_UNICAT_CODE_ATTEMPTS",
        default_value = "5",
        global = true
    )]
    pub unicat_code_attempts: String,
    /// Token life, in seconds.
    #[arg(
        long,
        env = "ACCOUNTD_JWT_TTL_SECONDS",
        default_value = "3600",
        global = true
    )]
    pub jwt_ttl_seconds: String,
    /// Token issuer claim.
    #[arg(
        long,
        env = "ACCOUNTD_JWT_ISSUER",
        default_value = "accountd",
        global = true
    )]
    pub jwt_issuer: String,
    /// Token audience claim.
    #[arg(
        long,
        env = "ACCOUNTD_JWT_AUDIENCE",
        default_value = "accountd",
        global = true
    )]
    pub jwt_audience: String,
    /// Shortest password, in characters.
    #[arg(
        long,
        env = "ACCOUNTD_PASSWORD_MIN_LENGTH",
        default_value = "8",
        global = true
    )]
    pub password_min_length: String,
    /// Lowest zxcvbn score accepted, 0..=4.
    #[arg(
        long,
        env = "ACCOUNTD_PASSWORD_MIN_SCORE",
        default_value = "3",
        global = true
    )]
    pub password_min_score: String,
    /// Answer as if unknown accounts existed (true/false).
    #[arg(
        long,
        env = "ACCOUNTD_ENUMERATION_PROTECTION",
        default_value = "false",
        global = true
    )]
    pub enumeration_protection: String,
    /// Challenges per account (or address) per hour; 0 switches the limit off.
    #[arg(
        long,
        env = "ACCOUNTD_CODES_PER_HOUR",
        default_value = "5",
        global = true
    )]
    pub codes_per_hour: String,
    /// Challenges per account (or address) per day; 0 switches the limit off.
    #[arg(
        long,
        env = "ACCOUNTD_CODES_PER_DAY",
        default_value = "10",
        global = true
    )]
    pub codes_per_day: String,
    /// Step-1 calls per client address per hour; 0 switches the limit off.
    #[arg(
        long,
        env = "ACCOUNTD_STEP1_PER_IP_PER_HOUR",
        default_value = "30",
        global = true
    )]
    pub step1_per_ip_per_hour: String,
    /// Comma-separated CIDRs whose X-Forwarded-For is believed.
    #[arg(
        long,
        env = "ACCOUNTD_TRUSTED_PROXIES",
        default_value = "",
        global = true
    )]
    pub trusted_proxies: String,
    /// Request body cap, in bytes.
    #[arg(
        long,
        env = "ACCOUNTD_MAX_BODY_BYTES",
        default_value = "65536",
        global = true
    )]
    pub max_body_bytes: String,
    /// bcrypt threads [default: the number of cores].
    #[arg(long, env = "ACCOUNTD_HASH_WORKERS", global = true)]
    pub hash_workers: Option<String>,
    /// Hash jobs allowed to wait; beyond, 503 with Retry-After.
    #[arg(long, env = "ACCOUNTD_HASH_QUEUE", default_value = "64", global = true)]
    pub hash_queue: String,
    /// Database connections [default: 16 on PostgreSQL, 8 on SQLite].
    #[arg(long, env = "ACCOUNTD_DB_POOL_SIZE", global = true)]
    pub db_pool_size: Option<String>,
    /// Languages listed in `cc.languages`: comma-separated ISO 639-1 codes
    /// [default: the official EU languages].
    #[arg(long, env = "ACCOUNTD_LANGUAGES", default_value = EU_LANGUAGES, global = true)]
    pub languages: String,
    /// Log filter (tracing's EnvFilter syntax).
    #[arg(long, env = "ACCOUNTD_LOG", default_value = "info", global = true)]
    pub log: String,
    /// Log format: text or json.
    #[arg(
        long,
        env = "ACCOUNTD_LOG_FORMAT",
        default_value = "text",
        global = true
    )]
    pub log_format: String,
}

/// The 24 official languages of the European Union.
pub const EU_LANGUAGES: &str =
    "bg,cs,da,de,el,en,es,et,fi,fr,ga,hr,hu,it,lt,lv,mt,nl,pl,pt,ro,sk,sl,sv";

/// ISO 639-1 codes with their English names, from the ISO 639 tables of
/// the `isolang` crate (not a hand-typed list).
pub fn languages(text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for code in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let code = code.to_ascii_lowercase();
        let language = isolang::Language::from_639_1(&code).ok_or_else(|| {
            bad(
                "ACCOUNTD_LANGUAGES",
                format!("{code:?} is not an ISO 639-1 code"),
            )
        })?;
        if !out.iter().any(|(c, _)| *c == code) {
            out.push((code, language.to_name().to_owned()));
        }
    }
    if out.is_empty() {
        return Err(bad("ACCOUNTD_LANGUAGES", "must name at least one language"));
    }
    out.sort();
    Ok(out)
}

/// A configuration value that was refused: the variable and why.
#[derive(Debug)]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

fn bad(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

/// Parses an integer in `lo..=hi`.
pub fn int<T>(variable: &'static str, text: &str, lo: T, hi: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match text.trim().parse::<T>() {
        Ok(v) if v >= lo && v <= hi => Ok(v),
        _ => Err(bad(
            variable,
            format!("must be an integer from {lo} to {hi}, got {text:?}"),
        )),
    }
}

/// Parses `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
pub fn boolean(variable: &'static str, text: &str) -> Result<bool, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(bad(
            variable,
            format!("must be true or false, got {text:?}"),
        )),
    }
}

/// The checked configuration. Its `Debug` leaves out the secret and the
/// URLs (which may hold credentials).
#[derive(Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: accountd_adapters::DatabaseUrl,
    pub data_dir: std::path::PathBuf,
    pub secret: Option<Vec<u8>>,
    pub smtp_url: Option<String>,
    pub mail_from: accountd_adapters::Mailbox,
    pub bcrypt_cost: u32,
    pub code_ttl_seconds: i64,
    pub unicat_code_attempts: u32,
    pub jwt_ttl_seconds: i64,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub languages: Vec<(String, String)>,
    pub password_min_length: usize,
    pub password_min_score: u8,
    pub enumeration_protection: bool,
    pub codes_per_hour: u32,
    pub codes_per_day: u32,
    pub step1_per_ip_per_hour: u32,
    pub trusted_proxies: Vec<accountd_http::IpNet>,
    pub max_body_bytes: usize,
    pub hash_workers: usize,
    pub hash_queue: usize,
    pub db_pool_size: u32,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "***"))
            .field("bcrypt_cost", &self.bcrypt_cost)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Checks every option; the first bad one is reported.
    pub fn from_options(o: &Options) -> Result<Self, ConfigError> {
        let bind = o.bind.parse::<SocketAddr>().map_err(|_| {
            bad(
                "ACCOUNTD_BIND",
                format!("must be an address like 127.0.0.1:8080, got {:?}", o.bind),
            )
        })?;
        let database_url = accountd_adapters::DatabaseUrl::parse(&o.database_url)
            .map_err(|e| bad("ACCOUNTD_DATABASE_URL", e.to_string()))?;
        let secret = match &o.secret {
            None => None,
            Some(s) => {
                accountd_domain::ServerSecret::new(s.as_bytes().to_vec())
                    .map_err(|e| bad("ACCOUNTD_SECRET", e.to_string()))?;
                Some(s.as_bytes().to_vec())
            }
        };
        let smtp_url = match o.smtp_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) if u.starts_with("smtp://") || u.starts_with("smtps://") => Some(u.to_owned()),
            Some(_) => {
                return Err(bad(
                    "ACCOUNTD_SMTP_URL",
                    "must start with smtp:// or smtps://",
                ))
            }
        };
        let mail_from = accountd_adapters::parse_from(&o.mail_from)
            .map_err(|e| bad("ACCOUNTD_MAIL_FROM", e.to_string()))?;
        if !(o.public_url.starts_with("http://") || o.public_url.starts_with("https://")) {
            return Err(bad(
                "ACCOUNTD_PUBLIC_URL",
                format!(
                    "must start with http:// or https://, got {:?}",
                    o.public_url
                ),
            ));
        }
        let bcrypt_cost = int("ACCOUNTD_BCRYPT_COST", &o.bcrypt_cost, 4u32, 31)?;
        let code_ttl_seconds = int(
            "ACCOUNTD_CODE_TTL_SECONDS",
            &o.code_ttl_seconds,
            1i64,
            86_400 * 30,
        )?;
        let unicat_code_attempts = int(
            "ACCOUNTD_UNICAT_CODE_ATTEMPTS",
            &o.unicat_code_attempts,
            1u32,
            1000,
        )?;
        let jwt_ttl_seconds = int(
            "ACCOUNTD_JWT_TTL_SECONDS",
            &o.jwt_ttl_seconds,
            1i64,
            86_400 * 365,
        )?;
        if o.jwt_issuer.trim().is_empty() {
            return Err(bad("ACCOUNTD_JWT_ISSUER", "must not be empty"));
        }
        if o.jwt_audience.trim().is_empty() {
            return Err(bad("ACCOUNTD_JWT_AUDIENCE", "must not be empty"));
        }
        let password_min_length = int(
            "ACCOUNTD_PASSWORD_MIN_LENGTH",
            &o.password_min_length,
            1usize,
            72,
        )?;
        let password_min_score = int("ACCOUNTD_PASSWORD_MIN_SCORE", &o.password_min_score, 0u8, 4)?;
        let enumeration_protection =
            boolean("ACCOUNTD_ENUMERATION_PROTECTION", &o.enumeration_protection)?;
        let codes_per_hour = int(
            "ACCOUNTD_CODES_PER_HOUR",
            &o.codes_per_hour,
            0u32,
            1_000_000,
        )?;
        let codes_per_day = int("ACCOUNTD_CODES_PER_DAY", &o.codes_per_day, 0u32, 1_000_000)?;
        let step1_per_ip_per_hour = int(
            "ACCOUNTD_STEP1_PER_IP_PER_HOUR",
            &o.step1_per_ip_per_hour,
            0u32,
            1_000_000,
        )?;
        let trusted_proxies = accountd_http::parse_trusted_proxies(&o.trusted_proxies)
            .map_err(|e| bad("ACCOUNTD_TRUSTED_PROXIES", e))?;
        let max_body_bytes = int(
            "ACCOUNTD_MAX_BODY_BYTES",
            &o.max_body_bytes,
            1024usize,
            64 * 1024 * 1024,
        )?;
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let hash_workers = match &o.hash_workers {
            Some(t) => int("ACCOUNTD_HASH_WORKERS", t, 1usize, 1024)?,
            None => cores,
        };
        let hash_queue = int("ACCOUNTD_HASH_QUEUE", &o.hash_queue, 1usize, 1_000_000)?;
        let default_pool = match database_url {
            accountd_adapters::DatabaseUrl::Postgres(_) => 16,
            accountd_adapters::DatabaseUrl::Sqlite(_) => 8,
        };
        let db_pool_size = match &o.db_pool_size {
            Some(t) => int("ACCOUNTD_DB_POOL_SIZE", t, 1u32, 1024)?,
            None => default_pool,
        };
        let languages = languages(&o.languages)?;
        Ok(Self {
            bind,
            unicat_code_attempts,
            jwt_ttl_seconds,
            jwt_issuer: o.jwt_issuer.clone(),
            jwt_audience: o.jwt_audience.clone(),
            languages,
            database_url,
            data_dir: std::path::PathBuf::from(&o.data_dir),
            secret,
            smtp_url,
            mail_from,
            bcrypt_cost,
            code_ttl_seconds,
            password_min_length,
            password_min_score,
            enumeration_protection,
            codes_per_hour,
            codes_per_day,
            step1_per_ip_per_hour,
            trusted_proxies,
            max_body_bytes,
            hash_workers,
            hash_queue,
            db_pool_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let mut all = vec!["accountd"];
        all.extend_from_slice(args);
        let cli = Cli::try_parse_from(all).unwrap();
        Config::from_options(&cli.options)
    }

    #[test]
    fn the_defaults_are_the_zero_config_start() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.bcrypt_cost, 12);
        assert_eq!(c.code_ttl_seconds, 900);
        assert_eq!(c.db_pool_size, 8);
        assert!(c.smtp_url.is_none() && c.secret.is_none());
        assert!(!c.enumeration_protection);
        // The other defaults of operations.md.
        assert_eq!(c.max_body_bytes, 65_536);
        assert_eq!(c.hash_queue, 64);
        assert_eq!(
            (c.codes_per_hour, c.codes_per_day, c.step1_per_ip_per_hour),
            (5, 10, 30)
        );
        assert_eq!((c.password_min_length, c.password_min_score), (8, 3));
        assert_eq!((c.unicat_code_attempts, c.jwt_ttl_seconds), (5, 3600));
        assert_eq!(
            (c.jwt_issuer.as_str(), c.jwt_audience.as_str()),
            ("accountd", "accountd")
        );
        assert_eq!(c.data_dir, std::path::PathBuf::from("./data"));
        assert_eq!(
            c.database_url,
            accountd_adapters::DatabaseUrl::Sqlite(std::path::PathBuf::from("./data/accountd.db"))
        );
        assert_eq!(
            c.hash_workers,
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        );
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let e = parse(&["--bcrypt-cost", "3"]).unwrap_err();
        assert_eq!(e.variable, "ACCOUNTD_BCRYPT_COST");
        assert_eq!(
            e.to_string(),
            "ACCOUNTD_BCRYPT_COST: must be an integer from 4 to 31, got \"3\""
        );
        assert_eq!(
            parse(&["--secret", "short"]).unwrap_err().variable,
            "ACCOUNTD_SECRET"
        );
        assert_eq!(
            parse(&["--database-url", "mysql://x"])
                .unwrap_err()
                .variable,
            "ACCOUNTD_DATABASE_URL"
        );
        assert_eq!(
            parse(&["--enumeration-protection", "maybe"])
                .unwrap_err()
                .variable,
            "ACCOUNTD_ENUMERATION_PROTECTION"
        );
        assert_eq!(
            parse(&["--trusted-proxies", "x"]).unwrap_err().variable,
            "ACCOUNTD_TRUSTED_PROXIES"
        );
        assert_eq!(
            parse(&["--smtp-url", "http://x"]).unwrap_err().variable,
            "ACCOUNTD_SMTP_URL"
        );
    }

    #[test]
    fn languages_come_from_iso_639_with_english_names() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.languages.len(), 24);
        assert!(c.languages.contains(&("nl".to_owned(), "Dutch".to_owned())));
        assert!(c
            .languages
            .contains(&("el".to_owned(), "Modern Greek".to_owned())));
        let c = parse(&["--languages", "NL, en,nl"]).unwrap();
        assert_eq!(
            c.languages,
            vec![
                ("en".to_owned(), "English".to_owned()),
                ("nl".to_owned(), "Dutch".to_owned())
            ]
        );
        assert_eq!(
            parse(&["--languages", "xx"]).unwrap_err().variable,
            "ACCOUNTD_LANGUAGES"
        );
        assert_eq!(
            parse(&["--languages", ""]).unwrap_err().variable,
            "ACCOUNTD_LANGUAGES"
        );
    }

    #[test]
    fn postgres_gets_a_larger_default_pool_and_zero_switches_limits_off() {
        let c = parse(&["--database-url", "postgres://h/db", "--codes-per-hour", "0"]).unwrap();
        assert_eq!(c.db_pool_size, 16);
        assert_eq!(c.codes_per_hour, 0);
    }
}
