//! Configuration: every option is a flag and an environment variable (the
//! flag wins), named as in the operations spec.
//!
//! clap checks every value while it parses: each option has a typed value
//! parser (clap's ranged integers, or a plain function below for the others),
//! so [`Options`] holds typed values and [`Config::from_options`] only
//! fills in the defaults that depend on another option or on the machine.
//! [`parse_args`] is the one place that rewords a refused value: clap's
//! error names the argument that failed, and that argument's `env` gives
//! the variable, so the line reads `VARIABLE: what is wrong` whether the
//! value came from a flag or from the environment. The secret and the
//! URLs that may hold a password are kept in `secrecy` types: they never
//! appear in an error or in `Debug` output, and only the wiring exposes
//! them.

use accountd_adapters::Mailbox;
use accountd_domain::TimeZone;
use accountd_http::IpNet;
use clap::builder::{RangedI64ValueParser, StringValueParser, TypedValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, Parser, Subcommand};
use secrecy::zeroize::Zeroize;
use secrecy::{CloneableSecret, ExposeSecret, SecretBox, SecretString};
use std::ffi::{OsStr, OsString};
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;

/// accountd: sign-up, login and password reset for other products.
#[derive(Debug, Parser)]
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
    /// Print audit events, oldest first.
    Audit(AuditArgs),
    /// Manage the Ed25519 token signing keys (ACCOUNTD_JWT_ALGORITHM=EdDSA).
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// Token signing keys.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add an Ed25519 signing key: published at once, signing a few seconds later on every instance; older keys stay published until their last token has expired.
    Rotate,
}

/// `accountd audit`: which events, and how.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only the events of this user (a gid).
    #[arg(long = "user", value_name = "GID", value_parser = user_gid)]
    pub user: Option<accountd_domain::UserId>,
    /// Only this event (e.g. login_failed).
    #[arg(long = "event", value_name = "E", value_parser = audit_event)]
    pub event: Option<accountd_domain::AuditEventKind>,
    /// Only events at or after this instant (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    #[arg(long = "since", value_name = "RFC3339", value_parser = rfc3339)]
    pub since: Option<accountd_domain::Timestamp>,
    /// One JSON object per line instead of aligned text.
    #[arg(long)]
    pub json: bool,
}

fn user_gid(text: &str) -> Result<accountd_domain::UserId, String> {
    accountd_domain::UserId::parse(text)
        .ok_or_else(|| format!("{text:?} is not a user gid (a UUID like 0b9f…-…)"))
}

fn audit_event(text: &str) -> Result<accountd_domain::AuditEventKind, String> {
    accountd_domain::AuditEventKind::parse(text).ok_or_else(|| {
        let names: Vec<&str> = accountd_domain::AuditEventKind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect();
        format!(
            "{text:?} is not an audit event; one of: {}",
            names.join(", ")
        )
    })
}

fn rfc3339(text: &str) -> Result<accountd_domain::Timestamp, String> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{text:?} is not an RFC 3339 time like 2026-12-01T00:00:00Z: {e}"))?;
    let millis = i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| format!("{text:?} is out of range"))?;
    Ok(accountd_domain::Timestamp::from_millis(millis))
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

/// Every option (global: accepted before or after the subcommand), checked
/// and typed by its value parser.
#[derive(Debug, Args)]
pub struct Options {
    /// Listen address.
    #[arg(
        long,
        env = "ACCOUNTD_BIND",
        default_value = "127.0.0.1:8080",
        global = true,
        value_parser = socket_addr
    )]
    pub bind: SocketAddr,
    /// A second listener serving only /metrics and /health/*; when set, the main listener does not serve /metrics.
    #[arg(
        long,
        env = "ACCOUNTD_ADMIN_BIND",
        global = true,
        value_parser = optional_socket_addr
    )]
    pub admin_bind: Option<OptionalAddr>,
    /// sqlite://PATH (created if missing) or postgres://...
    #[arg(
        long,
        env = "ACCOUNTD_DATABASE_URL",
        default_value = "sqlite://./data/accountd.db",
        global = true,
        hide_env_values = true,
        value_parser = database_url
    )]
    pub database_url: SecretBox<DatabaseUrl>,
    /// Where a generated server secret is kept.
    #[arg(
        long,
        env = "ACCOUNTD_DATA_DIR",
        default_value = "./data",
        global = true,
        value_parser = StringValueParser::new().map(PathBuf::from)
    )]
    pub data_dir: PathBuf,
    /// Server secret, at least 32 bytes [default: generated and kept in the data dir].
    #[arg(
        long,
        env = "ACCOUNTD_SECRET",
        global = true,
        hide_env_values = true,
        value_parser = secret
    )]
    pub secret: Option<SecretString>,
    // The help text as an attribute, not a doc comment: rustdoc would read
    // its brackets as links.
    #[arg(
        help = "smtp://[user:pass@]host[:port][?tls=required|opportunistic] or smtps://... [default: console mailer]",
        long,
        env = "ACCOUNTD_SMTP_URL",
        global = true,
        hide_env_values = true,
        value_parser = smtp_url
    )]
    pub smtp_url: Option<SecretString>,
    /// Sender of every mail.
    #[arg(
        long,
        env = "ACCOUNTD_MAIL_FROM",
        default_value = "accountd <no-reply@localhost>",
        global = true,
        value_parser = mail_from
    )]
    pub mail_from: Mailbox,
    /// Base for links in emails.
    // Checked at start but not used yet ("validated only" in OPERATIONS.md).
    #[arg(
        long,
        env = "ACCOUNTD_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080",
        global = true,
        value_parser = public_url
    )]
    pub public_url: String,
    /// bcrypt cost, 4..=31.
    #[arg(
        long,
        env = "ACCOUNTD_BCRYPT_COST",
        default_value = "12",
        global = true,
        value_parser = int::<u32>(4..=31)
    )]
    pub bcrypt_cost: u32,
    /// Life of every challenge, in seconds.
    #[arg(
        long,
        env = "ACCOUNTD_CODE_TTL_SECONDS",
        default_value = "900",
        global = true,
        value_parser = int::<i64>(1..=86_400 * 30)
    )]
    pub code_ttl_seconds: i64,
    /// Failed tries that exhaust a Unicat challenge.
    #[arg(
        long,
        env = "ACCOUNTD_UNICAT_CODE_ATTEMPTS",
        default_value = "5",
        global = true,
        value_parser = int::<u32>(1..=1000)
    )]
    pub unicat_code_attempts: u32,
    /// Token life, in seconds.
    #[arg(
        long,
        env = "ACCOUNTD_JWT_TTL_SECONDS",
        default_value = "3600",
        global = true,
        value_parser = int::<i64>(1..=86_400 * 365)
    )]
    pub jwt_ttl_seconds: i64,
    /// Token issuer claim.
    #[arg(
        long,
        env = "ACCOUNTD_JWT_ISSUER",
        default_value = "accountd",
        global = true,
        value_parser = not_empty
    )]
    pub jwt_issuer: String,
    /// Token audience claim.
    #[arg(
        long,
        env = "ACCOUNTD_JWT_AUDIENCE",
        default_value = "accountd",
        global = true,
        value_parser = not_empty
    )]
    pub jwt_audience: String,
    /// Token signature: HS256 (a key derived from the server secret) or EdDSA (Ed25519 keys, public at /.well-known/jwks.json).
    #[arg(
        long,
        env = "ACCOUNTD_JWT_ALGORITHM",
        default_value = "HS256",
        global = true,
        value_parser = jwt_algorithm
    )]
    pub jwt_algorithm: JwtAlgorithm,
    /// With EdDSA: the one Ed25519 signing key, PKCS#8 PEM [default: keys generated and rotated in the database].
    #[arg(
        long,
        env = "ACCOUNTD_JWT_PRIVATE_KEY",
        global = true,
        hide_env_values = true,
        value_parser = jwt_private_key
    )]
    pub jwt_private_key: Option<SecretString>,
    /// Shortest password, in characters.
    #[arg(
        long,
        env = "ACCOUNTD_PASSWORD_MIN_LENGTH",
        default_value = "8",
        global = true,
        value_parser = int::<usize>(1..=72)
    )]
    pub password_min_length: usize,
    /// Lowest zxcvbn score accepted, 0..=4.
    #[arg(
        long,
        env = "ACCOUNTD_PASSWORD_MIN_SCORE",
        default_value = "3",
        global = true,
        value_parser = int::<u8>(0..=4)
    )]
    pub password_min_score: u8,
    /// Answer as if unknown accounts existed (true/false).
    #[arg(
        long,
        env = "ACCOUNTD_ENUMERATION_PROTECTION",
        default_value = "false",
        global = true,
        action = clap::ArgAction::Set,
        value_parser = boolean
    )]
    pub enumeration_protection: bool,
    /// Challenges per account (or address) per hour; 0 switches the limit off.
    #[arg(
        long,
        env = "ACCOUNTD_CODES_PER_HOUR",
        default_value = "5",
        global = true,
        value_parser = int::<u32>(0..=1_000_000)
    )]
    pub codes_per_hour: u32,
    /// Challenges per account (or address) per day; 0 switches the limit off.
    #[arg(
        long,
        env = "ACCOUNTD_CODES_PER_DAY",
        default_value = "10",
        global = true,
        value_parser = int::<u32>(0..=1_000_000)
    )]
    pub codes_per_day: u32,
    /// Step-1 calls per client address per hour; 0 switches the limit off.
    #[arg(
        long,
        env = "ACCOUNTD_STEP1_PER_IP_PER_HOUR",
        default_value = "30",
        global = true,
        value_parser = int::<u32>(0..=1_000_000)
    )]
    pub step1_per_ip_per_hour: u32,
    /// Comma-separated CIDRs whose X-Forwarded-For is believed.
    #[arg(
        long,
        env = "ACCOUNTD_TRUSTED_PROXIES",
        default_value = "",
        global = true,
        value_parser = trusted_proxies
    )]
    pub trusted_proxies: TrustedProxies,
    /// Request body cap, in bytes.
    #[arg(
        long,
        env = "ACCOUNTD_MAX_BODY_BYTES",
        default_value = "65536",
        global = true,
        value_parser = int::<usize>(1024..=64 * 1024 * 1024)
    )]
    pub max_body_bytes: usize,
    /// Time to receive a request body, in seconds (then 408).
    #[arg(
        long,
        env = "ACCOUNTD_BODY_TIMEOUT_SECONDS",
        default_value = "10",
        global = true,
        value_parser = int::<u64>(1..=3600)
    )]
    pub body_timeout_seconds: u64,
    /// bcrypt threads [default: the number of cores].
    #[arg(
        long,
        env = "ACCOUNTD_HASH_WORKERS",
        global = true,
        value_parser = int::<usize>(1..=1024)
    )]
    pub hash_workers: Option<usize>,
    /// Hash jobs allowed to wait; beyond, 503 with Retry-After.
    #[arg(
        long,
        env = "ACCOUNTD_HASH_QUEUE",
        default_value = "64",
        global = true,
        value_parser = int::<usize>(1..=1_000_000)
    )]
    pub hash_queue: usize,
    /// Database connections [default: 16 on PostgreSQL, 8 on SQLite].
    #[arg(
        long,
        env = "ACCOUNTD_DB_POOL_SIZE",
        global = true,
        value_parser = int::<u32>(1..=1024)
    )]
    pub db_pool_size: Option<u32>,
    /// Languages listed in `cc.languages`: comma-separated ISO 639-1 codes
    /// [default: the official EU languages].
    #[arg(
        long,
        env = "ACCOUNTD_LANGUAGES",
        default_value = EU_LANGUAGES,
        global = true,
        value_parser = languages
    )]
    pub languages: Languages,
    /// Seconds a credential proof counts as recent for the routes marked
    /// recent auth (password, email, deletion).
    #[arg(
        long,
        env = "ACCOUNTD_REAUTH_SECONDS",
        default_value = "900",
        global = true,
        value_parser = int::<i64>(0..=31_536_000)
    )]
    pub reauth_seconds: i64,
    /// `/api/username` calls per client address per hour; 0 switches the
    /// limit off.
    #[arg(
        long,
        env = "ACCOUNTD_LOOKUPS_PER_IP_PER_HOUR",
        default_value = "600",
        global = true,
        value_parser = int::<u32>(0..=1_000_000)
    )]
    pub lookups_per_ip_per_hour: u32,
    /// Time zone of new accounts (an IANA name of the tz database).
    #[arg(
        long,
        env = "ACCOUNTD_DEFAULT_TIMEZONE",
        default_value = "Europe/Amsterdam",
        global = true,
        value_parser = time_zone
    )]
    pub default_timezone: TimeZone,
    /// The values `options.language` may take: comma-separated ISO 639-1
    /// codes, each with mail templates.
    #[arg(
        long,
        env = "ACCOUNTD_UI_LANGUAGES",
        default_value = "en,de,nl",
        global = true,
        value_parser = ui_languages
    )]
    pub ui_languages: UiLanguages,
    /// Life of the revert link in an email-change notice, in seconds.
    #[arg(
        long,
        env = "ACCOUNTD_EMAIL_REVERT_SECONDS",
        default_value = "604800",
        global = true,
        value_parser = int::<i64>(60..=31_536_000)
    )]
    pub email_revert_seconds: i64,
    /// Projects one user may own, in any status (a soft-deleted project
    /// counts until it is purged).
    #[arg(
        long,
        env = "ACCOUNTD_PROJECTS_PER_USER",
        default_value = "100",
        global = true,
        value_parser = int::<u32>(1..=100_000)
    )]
    pub projects_per_user: u32,
    /// Days a soft-deleted project is kept before the housekeeping task
    /// purges it.
    #[arg(
        long,
        env = "ACCOUNTD_PROJECT_RETENTION_DAYS",
        default_value = "30",
        global = true,
        value_parser = int::<i64>(1..=3650)
    )]
    pub project_retention_days: i64,
    /// Days an audit row is kept before the housekeeping task deletes it.
    #[arg(
        long,
        env = "ACCOUNTD_AUDIT_RETENTION_DAYS",
        default_value = "365",
        global = true,
        value_parser = int::<i64>(1..=36_500)
    )]
    pub audit_retention_days: i64,
    /// Seconds an invitation may be accepted after it was sent (or resent).
    #[arg(
        long,
        env = "ACCOUNTD_INVITE_TTL_SECONDS",
        default_value = "604800",
        global = true,
        value_parser = int::<i64>(60..=31_536_000)
    )]
    pub invite_ttl_seconds: i64,
    /// `invited` rows (expired ones included) one project may hold; 0
    /// switches the cap off.
    #[arg(
        long,
        env = "ACCOUNTD_PENDING_INVITES_PER_PROJECT",
        default_value = "100",
        global = true,
        value_parser = int::<u32>(0..=1_000_000)
    )]
    pub pending_invites_per_project: u32,
    /// Invitations and resends one inviter may send per hour; 0 switches
    /// the limit off.
    #[arg(
        long,
        env = "ACCOUNTD_INVITES_PER_HOUR",
        default_value = "50",
        global = true,
        value_parser = int::<u32>(0..=1_000_000)
    )]
    pub invites_per_hour: u32,
    /// Invitations and resends one recipient (account, or address of a
    /// placeholder) may get per hour; 0 switches the limit off.
    #[arg(
        long,
        env = "ACCOUNTD_INVITES_PER_RECIPIENT_PER_HOUR",
        default_value = "5",
        global = true,
        value_parser = int::<u32>(0..=1_000_000)
    )]
    pub invites_per_recipient_per_hour: u32,
    /// Log filter (tracing's EnvFilter syntax).
    #[arg(
        long,
        env = "ACCOUNTD_LOG",
        default_value = "info",
        global = true,
        value_parser = log_filter
    )]
    pub log: String,
    /// Log format: text or json.
    #[arg(
        long,
        env = "ACCOUNTD_LOG_FORMAT",
        default_value = "text",
        global = true,
        value_parser = log_format
    )]
    pub log_format: LogFormat,
}

/// The 24 official languages of the European Union.
pub const EU_LANGUAGES: &str =
    "bg,cs,da,de,el,en,es,et,fi,fr,ga,hr,hu,it,lt,lv,mt,nl,pl,pt,ro,sk,sl,sv";

// ---- Value parsers ----
//
// Each returns the words that follow `VARIABLE: ` when it refuses a value.
// None of them repeats a value that may be secret.

/// An integer option in `range`. clap's ranged parser checks it (spaces
/// around the number are ignored); a refusal says the range and what was
/// given, as operators read it.
fn int<T>(range: RangeInclusive<i64>) -> Int<T>
where
    T: TryFrom<i64> + Clone + Send + Sync + 'static,
{
    Int {
        wanted: format!(
            "must be an integer from {} to {}",
            range.start(),
            range.end()
        ),
        parser: RangedI64ValueParser::new().range(range),
    }
}

/// See [`int`].
#[derive(Clone)]
struct Int<T: TryFrom<i64> + Clone + Send + Sync + 'static> {
    parser: RangedI64ValueParser<T>,
    wanted: String,
}

impl<T> TypedValueParser for Int<T>
where
    T: TryFrom<i64> + Clone + Send + Sync + 'static,
    <T as TryFrom<i64>>::Error: std::error::Error + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let trimmed = value.to_str().map_or(value, |text| OsStr::new(text.trim()));
        self.parser.parse_ref(cmd, arg, trimmed).map_err(|mut e| {
            let why = format!("{}, got {:?}", self.wanted, value.to_string_lossy());
            e.insert(ContextKind::Custom, ContextValue::String(why));
            e
        })
    }
}

/// An address, or none when blank (`ACCOUNTD_ADMIN_BIND=` is unset).
#[derive(Debug, Clone, Copy)]
pub struct OptionalAddr(Option<SocketAddr>);

fn optional_socket_addr(text: &str) -> Result<OptionalAddr, String> {
    if text.trim().is_empty() {
        return Ok(OptionalAddr(None));
    }
    socket_addr(text).map(|a| OptionalAddr(Some(a)))
}

fn socket_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| format!("must be an address like 127.0.0.1:8080, got {text:?}"))
}

/// `ACCOUNTD_DATABASE_URL`, checked: which backend, and where. It lives in a
/// [`SecretBox`], since a PostgreSQL URL may hold a password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(pub accountd_adapters::DatabaseUrl);

impl Zeroize for DatabaseUrl {
    fn zeroize(&mut self) {
        match &mut self.0 {
            accountd_adapters::DatabaseUrl::Postgres(url) => url.zeroize(),
            accountd_adapters::DatabaseUrl::Sqlite(path) => std::mem::take(path)
                .into_os_string()
                .into_encoded_bytes()
                .zeroize(),
        }
    }
}

impl CloneableSecret for DatabaseUrl {}

/// The adapter's error names the scheme only, never the rest of the URL.
fn database_url(text: &str) -> Result<SecretBox<DatabaseUrl>, String> {
    accountd_adapters::DatabaseUrl::parse(text)
        .map(|url| SecretBox::new(Box::new(DatabaseUrl(url))))
        .map_err(|e| e.to_string())
}

/// How session tokens are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// HMAC-SHA-256 under a key derived from the server secret.
    Hs256,
    /// Ed25519 under published keys.
    EdDsa,
}

fn jwt_algorithm(text: &str) -> Result<JwtAlgorithm, String> {
    match text.trim() {
        t if t.eq_ignore_ascii_case("HS256") => Ok(JwtAlgorithm::Hs256),
        t if t.eq_ignore_ascii_case("EdDSA") => Ok(JwtAlgorithm::EdDsa),
        _ => Err(format!("must be HS256 or EdDSA, got {text:?}")),
    }
}

/// A PKCS#8 PEM Ed25519 key; `\n` stands for a line break (for
/// environments that cannot hold one). Never repeated in the refusal.
fn jwt_private_key(text: &str) -> Result<SecretString, String> {
    let pem = text.replace("\\n", "\n");
    accountd_adapters::Ed25519Key::from_pem(&pem).map_err(|e| e.to_string())?;
    Ok(SecretString::from(pem))
}

fn secret(text: &str) -> Result<SecretString, String> {
    accountd_domain::ServerSecret::new(text.as_bytes().to_vec()).map_err(|e| e.to_string())?;
    Ok(SecretString::from(text))
}

/// Only the scheme is checked here; lettre reads the rest when `serve`
/// builds the mailer. A blank value is kept blank and means "unset".
fn smtp_url(text: &str) -> Result<SecretString, String> {
    let url = text.trim();
    if url.is_empty() || url.starts_with("smtp://") || url.starts_with("smtps://") {
        Ok(SecretString::from(url))
    } else {
        Err("must start with smtp:// or smtps://".to_owned())
    }
}

fn mail_from(text: &str) -> Result<Mailbox, String> {
    accountd_adapters::parse_from(text).map_err(|e| e.to_string())
}

fn public_url(text: &str) -> Result<String, String> {
    if text.starts_with("http://") || text.starts_with("https://") {
        Ok(text.to_owned())
    } else {
        Err(format!("must start with http:// or https://, got {text:?}"))
    }
}

fn not_empty(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(text.to_owned())
    }
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`), in any case.
fn boolean(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("must be true or false, got {text:?}")),
    }
}

/// `ACCOUNTD_TRUSTED_PROXIES`: one value holding the whole list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

fn trusted_proxies(text: &str) -> Result<TrustedProxies, String> {
    accountd_http::parse_trusted_proxies(text).map(TrustedProxies)
}

/// `ACCOUNTD_LANGUAGES`: ISO 639-1 codes with their English names, ordered
/// by code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Languages(pub Vec<(String, String)>);

/// The names come from the ISO 639 tables of the `isolang` crate (not a
/// hand-typed list); case and spaces are ignored, repeats dropped.
fn languages(text: &str) -> Result<Languages, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for code in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let code = code.to_ascii_lowercase();
        let language = isolang::Language::from_639_1(&code)
            .ok_or_else(|| format!("{code:?} is not an ISO 639-1 code"))?;
        if !out.iter().any(|(c, _)| *c == code) {
            out.push((code, language.to_name().to_owned()));
        }
    }
    if out.is_empty() {
        return Err("must name at least one language".to_owned());
    }
    out.sort();
    Ok(Languages(out))
}

fn time_zone(text: &str) -> Result<TimeZone, String> {
    TimeZone::parse(text.trim())
        .ok_or_else(|| format!("{text:?} is not a time zone of the tz database"))
}

/// `ACCOUNTD_UI_LANGUAGES`: lower-case ISO 639-1 codes, in the order given,
/// each one a language the mail templates exist in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiLanguages(pub Vec<String>);

fn ui_languages(text: &str) -> Result<UiLanguages, String> {
    let mut out: Vec<String> = Vec::new();
    for code in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let code = code.to_ascii_lowercase();
        if !accountd_app::mail::LANGUAGES.contains(&code.as_str()) {
            return Err(format!(
                "{code:?} has no mail templates (there are: {})",
                accountd_app::mail::LANGUAGES.join(", ")
            ));
        }
        if !out.contains(&code) {
            out.push(code);
        }
    }
    if out.is_empty() {
        return Err("must name at least one language".to_owned());
    }
    Ok(UiLanguages(out))
}

/// Checked here so that a bad filter is refused with the other values;
/// the filter itself is built when logging starts.
fn log_filter(text: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(text)
        .map(|_| text.to_owned())
        .map_err(|e| e.to_string())
}

/// `ACCOUNTD_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

fn log_format(text: &str) -> Result<LogFormat, String> {
    match text {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(format!("must be text or json, got {text:?}")),
    }
}

// ---- Reading the command line ----

/// A configuration value that was refused: the variable and why.
#[derive(Debug)]
pub struct ConfigError {
    pub variable: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// Why the command line and the environment gave no [`Cli`].
#[derive(Debug)]
pub enum Refusal {
    /// A bad value of an option: exit 2 with one line naming its variable.
    Value(ConfigError),
    /// Everything else (help, version, an unknown flag or command, a flag
    /// without its value): clap's own words and exit code.
    Other(clap::Error),
}

/// Parses `args` (the program name first) and the environment.
pub fn parse_args<I, T>(args: I) -> Result<Cli, Refusal>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).map_err(|e| {
        // Built, as the parser's was, so that each argument shows as in
        // the error's context.
        let mut command = Cli::command();
        command.build();
        refusal(e, &command)
    })?;
    if cli.options.jwt_private_key.is_some() && cli.options.jwt_algorithm != JwtAlgorithm::EdDsa {
        return Err(Refusal::Value(ConfigError {
            variable: "ACCOUNTD_JWT_PRIVATE_KEY".to_owned(),
            message: "is only used with ACCOUNTD_JWT_ALGORITHM=EdDSA".to_owned(),
        }));
    }
    Ok(cli)
}

/// The one place clap's errors are reworded. A value that a value parser
/// refused becomes `VARIABLE: what is wrong`: the error's context names the
/// argument (`--bcrypt-cost <BCRYPT_COST>`, also when the value came from
/// the environment), and that argument's `env` is the variable. What is
/// wrong is the parser's own message (see [`int`] and the plain functions
/// above), never the value of a secret.
fn refusal(error: clap::Error, command: &clap::Command) -> Refusal {
    if error.kind() != ErrorKind::ValueValidation {
        return Refusal::Other(error);
    }
    // clap's own wording of a refused value repeats the value, which may be
    // a secret: a value error is always reworded, naming the flag when its
    // variable cannot be found.
    let failed = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(failed)) => failed.clone(),
        _ => "a value".to_owned(),
    };
    let variable = command
        .get_arguments()
        .find(|arg| arg.to_string() == failed)
        .and_then(clap::Arg::get_env)
        .map_or(failed, |env| env.to_string_lossy().into_owned());
    let message = match error.get(ContextKind::Custom) {
        Some(ContextValue::String(why)) => why.clone(),
        _ => std::error::Error::source(&error)
            .map_or_else(|| "is not a valid value".to_owned(), ToString::to_string),
    };
    Refusal::Value(ConfigError { variable, message })
}

/// The configuration the binary runs with. Its `Debug` shows the secret and
/// the URLs (which may hold credentials) as redacted.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub admin_bind: Option<SocketAddr>,
    pub database_url: SecretBox<DatabaseUrl>,
    pub data_dir: PathBuf,
    pub secret: Option<SecretString>,
    pub smtp_url: Option<SecretString>,
    pub mail_from: Mailbox,
    pub bcrypt_cost: u32,
    pub code_ttl_seconds: i64,
    pub unicat_code_attempts: u32,
    pub jwt_ttl_seconds: i64,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub jwt_algorithm: JwtAlgorithm,
    /// The PEM of `ACCOUNTD_JWT_PRIVATE_KEY` (checked while parsing).
    pub jwt_private_key: Option<SecretString>,
    pub languages: Vec<(String, String)>,
    pub password_min_length: usize,
    pub password_min_score: u8,
    pub enumeration_protection: bool,
    pub codes_per_hour: u32,
    pub codes_per_day: u32,
    pub step1_per_ip_per_hour: u32,
    pub trusted_proxies: Vec<IpNet>,
    pub max_body_bytes: usize,
    pub body_timeout_seconds: u64,
    pub hash_workers: usize,
    pub hash_queue: usize,
    pub db_pool_size: u32,
    pub public_url: String,
    pub reauth_seconds: i64,
    pub lookups_per_ip_per_hour: u32,
    pub default_timezone: TimeZone,
    pub ui_languages: Vec<String>,
    pub email_revert_seconds: i64,
    pub projects_per_user: u32,
    pub project_retention_days: i64,
    pub audit_retention_days: i64,
    pub invite_ttl_seconds: i64,
    pub pending_invites_per_project: u32,
    pub invites_per_hour: u32,
    pub invites_per_recipient_per_hour: u32,
}

impl Config {
    /// What is left once clap has checked every value: the defaults that
    /// depend on another option or on the machine.
    pub fn from_options(o: Options) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let default_pool = match o.database_url.expose_secret().0 {
            accountd_adapters::DatabaseUrl::Postgres(_) => 16,
            accountd_adapters::DatabaseUrl::Sqlite(_) => 8,
        };
        Self {
            bind: o.bind,
            admin_bind: o.admin_bind.and_then(|a| a.0),
            database_url: o.database_url,
            data_dir: o.data_dir,
            secret: o.secret,
            smtp_url: o.smtp_url.filter(|url| !url.expose_secret().is_empty()),
            mail_from: o.mail_from,
            bcrypt_cost: o.bcrypt_cost,
            code_ttl_seconds: o.code_ttl_seconds,
            unicat_code_attempts: o.unicat_code_attempts,
            jwt_ttl_seconds: o.jwt_ttl_seconds,
            jwt_issuer: o.jwt_issuer,
            jwt_audience: o.jwt_audience,
            jwt_algorithm: o.jwt_algorithm,
            jwt_private_key: o.jwt_private_key,
            languages: o.languages.0,
            password_min_length: o.password_min_length,
            password_min_score: o.password_min_score,
            enumeration_protection: o.enumeration_protection,
            codes_per_hour: o.codes_per_hour,
            codes_per_day: o.codes_per_day,
            step1_per_ip_per_hour: o.step1_per_ip_per_hour,
            trusted_proxies: o.trusted_proxies.0,
            max_body_bytes: o.max_body_bytes,
            body_timeout_seconds: o.body_timeout_seconds,
            hash_workers: o.hash_workers.unwrap_or(cores),
            hash_queue: o.hash_queue,
            db_pool_size: o.db_pool_size.unwrap_or(default_pool),
            public_url: o.public_url.trim_end_matches('/').to_owned(),
            reauth_seconds: o.reauth_seconds,
            lookups_per_ip_per_hour: o.lookups_per_ip_per_hour,
            default_timezone: o.default_timezone,
            ui_languages: o.ui_languages.0,
            email_revert_seconds: o.email_revert_seconds,
            projects_per_user: o.projects_per_user,
            project_retention_days: o.project_retention_days,
            audit_retention_days: o.audit_retention_days,
            invite_ttl_seconds: o.invite_ttl_seconds,
            pending_invites_per_project: o.pending_invites_per_project,
            invites_per_hour: o.invites_per_hour,
            invites_per_recipient_per_hour: o.invites_per_recipient_per_hour,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        match parse_args(std::iter::once("accountd").chain(args.iter().copied())) {
            Ok(cli) => Ok(Config::from_options(cli.options)),
            Err(Refusal::Value(e)) => Err(e),
            Err(Refusal::Other(e)) => panic!("clap refused {args:?} in its own words: {e}"),
        }
    }

    #[test]
    fn the_defaults_are_the_zero_config_start() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert!(c.admin_bind.is_none());
        assert!(parse(&["--admin-bind", ""]).unwrap().admin_bind.is_none());
        assert_eq!(
            parse(&["--admin-bind", "127.0.0.1:9090"])
                .unwrap()
                .admin_bind
                .map(|a| a.to_string()),
            Some("127.0.0.1:9090".to_owned())
        );
        assert_eq!(c.bcrypt_cost, 12);
        assert_eq!(c.code_ttl_seconds, 900);
        assert_eq!(c.db_pool_size, 8);
        assert!(c.smtp_url.is_none() && c.secret.is_none());
        assert!(!c.enumeration_protection);
        // The other defaults of operations.md.
        assert_eq!(c.max_body_bytes, 65_536);
        assert_eq!(c.body_timeout_seconds, 10);
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
        assert!(
            c.database_url.expose_secret().0
                == accountd_adapters::DatabaseUrl::Sqlite(std::path::PathBuf::from(
                    "./data/accountd.db"
                ))
        );
        assert_eq!(
            c.hash_workers,
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        );
        assert_eq!(c.mail_from.to_string(), "accountd <no-reply@localhost>");
        assert!(c.trusted_proxies.is_empty());
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!((c.reauth_seconds, c.lookups_per_ip_per_hour), (900, 600));
        assert_eq!(c.default_timezone.as_str(), "Europe/Amsterdam");
        assert_eq!(c.ui_languages, ["en", "de", "nl"]);
        assert_eq!(c.email_revert_seconds, 604_800);
        let cli = parse_args(["accountd"]).unwrap();
        assert_eq!(cli.options.public_url, "http://127.0.0.1:8080");
        assert_eq!(
            (cli.options.log.as_str(), cli.options.log_format),
            ("info", LogFormat::Text)
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
        assert_eq!(
            parse(&["--default-timezone", "Europe/Atlantis"])
                .unwrap_err()
                .to_string(),
            "ACCOUNTD_DEFAULT_TIMEZONE: \"Europe/Atlantis\" is not a time zone of the tz database"
        );
        assert_eq!(
            parse(&["--ui-languages", "en,xx"]).unwrap_err().to_string(),
            "ACCOUNTD_UI_LANGUAGES: \"xx\" has no mail templates (there are: en, de, nl)"
        );
        assert_eq!(
            parse(&["--reauth-seconds=-1"]).unwrap_err().variable,
            "ACCOUNTD_REAUTH_SECONDS"
        );
    }

    /// RFC 8032 test 1, as PKCS#8 PEM.
    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n";

    #[test]
    fn the_token_algorithm_and_key_are_checked_while_parsing() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.jwt_algorithm, JwtAlgorithm::Hs256);
        assert!(c.jwt_private_key.is_none());
        for (text, wanted) in [
            ("HS256", JwtAlgorithm::Hs256),
            ("EdDSA", JwtAlgorithm::EdDsa),
            (" eddsa ", JwtAlgorithm::EdDsa),
        ] {
            assert_eq!(
                parse(&["--jwt-algorithm", text]).unwrap().jwt_algorithm,
                wanted
            );
        }
        assert_eq!(
            parse(&["--jwt-algorithm", "RS256"])
                .unwrap_err()
                .to_string(),
            "ACCOUNTD_JWT_ALGORITHM: must be HS256 or EdDSA, got \"RS256\""
        );
        // A PEM key, with real line breaks or with `\n` for them.
        // (`=`: a value starting with `-` is not a flag.)
        let key = format!("--jwt-private-key={PEM}");
        let c = parse(&["--jwt-algorithm", "EdDSA", &key]).unwrap();
        assert_eq!(
            c.jwt_private_key.as_ref().map(ExposeSecret::expose_secret),
            Some(PEM)
        );
        let escaped = PEM.replace('\n', "\\n");
        let key = format!("--jwt-private-key={escaped}");
        let c = parse(&["--jwt-algorithm", "EdDSA", &key]).unwrap();
        assert_eq!(
            c.jwt_private_key.as_ref().map(ExposeSecret::expose_secret),
            Some(PEM)
        );
        assert!(!format!("{c:?}").contains("MC4CAQAw"));
        // A bad key: one line naming the variable, never the value.
        let bad = PEM.replace("MC4C", "XC4C");
        let key = format!("--jwt-private-key={bad}");
        let e = parse(&["--jwt-algorithm", "EdDSA", &key]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ACCOUNTD_JWT_PRIVATE_KEY: must be an Ed25519 private key in PKCS#8 PEM \
             (-----BEGIN PRIVATE KEY-----, e.g. from `openssl genpkey -algorithm ed25519`)"
        );
        assert!(!e.to_string().contains("XC4C"));
        // A key without EdDSA is a mistake, not ignored.
        assert_eq!(
            parse(&[&format!("--jwt-private-key={PEM}")])
                .unwrap_err()
                .to_string(),
            "ACCOUNTD_JWT_PRIVATE_KEY: is only used with ACCOUNTD_JWT_ALGORITHM=EdDSA"
        );
    }

    #[test]
    fn ui_languages_keep_their_order_and_drop_repeats() {
        let c = parse(&[
            "--ui-languages",
            " NL, en,nl ",
            "--public-url",
            "https://a.example/",
        ])
        .unwrap();
        assert_eq!(c.ui_languages, ["nl", "en"]);
        assert_eq!(c.public_url, "https://a.example");
        assert_eq!(
            parse(&["--default-timezone", "Asia/Tokyo"])
                .unwrap()
                .default_timezone
                .as_str(),
            "Asia/Tokyo"
        );
    }

    #[test]
    fn every_refusal_is_one_line_in_the_words_of_its_parser() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["serve", "--bcrypt-cost", "3"],
                "ACCOUNTD_BCRYPT_COST: must be an integer from 4 to 31, got \"3\"",
            ),
            (
                &["--hash-workers", "many"],
                "ACCOUNTD_HASH_WORKERS: must be an integer from 1 to 1024, got \"many\"",
            ),
            (
                &["--codes-per-hour=-1"],
                "ACCOUNTD_CODES_PER_HOUR: must be an integer from 0 to 1000000, got \"-1\"",
            ),
            (
                &["--max-body-bytes", "12"],
                "ACCOUNTD_MAX_BODY_BYTES: must be an integer from 1024 to 67108864, got \"12\"",
            ),
            (
                &["--bind", "nowhere"],
                "ACCOUNTD_BIND: must be an address like 127.0.0.1:8080, got \"nowhere\"",
            ),
            (
                &["--admin-bind", "9090"],
                "ACCOUNTD_ADMIN_BIND: must be an address like 127.0.0.1:8080, got \"9090\"",
            ),
            (
                &["--enumeration-protection", "maybe"],
                "ACCOUNTD_ENUMERATION_PROTECTION: must be true or false, got \"maybe\"",
            ),
            (
                &["--log-format", "xml"],
                "ACCOUNTD_LOG_FORMAT: must be text or json, got \"xml\"",
            ),
            (
                &["--public-url", "ftp://example.com"],
                "ACCOUNTD_PUBLIC_URL: must start with http:// or https://, got \"ftp://example.com\"",
            ),
            (&["--jwt-issuer", " "], "ACCOUNTD_JWT_ISSUER: must not be empty"),
            (
                &["--languages", "xx"],
                "ACCOUNTD_LANGUAGES: \"xx\" is not an ISO 639-1 code",
            ),
            (
                &["--languages", " , "],
                "ACCOUNTD_LANGUAGES: must name at least one language",
            ),
            (
                &["--trusted-proxies", "10.0.0.0/33"],
                "ACCOUNTD_TRUSTED_PROXIES: \"10.0.0.0/33\" is not a CIDR like 10.0.0.0/8",
            ),
        ];
        for (args, line) in cases {
            assert_eq!(parse(args).unwrap_err().to_string(), *line, "{args:?}");
        }
        for args in [
            &["--log", "a=b=c"][..],
            &["--mail-from", "not a mailbox"][..],
            &["--database-url", "sqlite://"][..],
        ] {
            let e = parse(args).unwrap_err().to_string();
            assert!(!e.contains('\n'), "{args:?}: one line, got {e:?}");
        }
    }

    #[test]
    fn a_refusal_never_repeats_a_secret() {
        for (args, variable) in [
            (["--secret", "hunter2-hunter2"], "ACCOUNTD_SECRET"),
            (
                ["--database-url", "mysql://ann:hunter2@db/x"],
                "ACCOUNTD_DATABASE_URL",
            ),
            (
                ["--smtp-url", "http://ann:hunter2@mail"],
                "ACCOUNTD_SMTP_URL",
            ),
        ] {
            let e = parse(&args).unwrap_err();
            assert_eq!(e.variable, variable);
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn debug_output_hides_the_secret_and_the_urls() {
        let args = [
            "accountd",
            "--secret",
            "hunter2-hunter2-hunter2-hunter2-hunter2",
            "--database-url",
            "postgres://ann:hunter2@db/x",
            "--smtp-url",
            "smtp://ann:hunter2@mail",
        ];
        let cli = parse_args(args).unwrap();
        assert!(!format!("{cli:?}").contains("hunter2"));
        let config = Config::from_options(cli.options);
        assert!(!format!("{config:?}").contains("hunter2"));
        assert_eq!(
            config.smtp_url.as_ref().map(ExposeSecret::expose_secret),
            Some("smtp://ann:hunter2@mail")
        );
    }

    #[test]
    fn other_mistakes_keep_the_words_of_clap() {
        for (args, kind) in [
            (
                &["accountd", "--no-such-flag"][..],
                ErrorKind::UnknownArgument,
            ),
            (&["accountd", "--help"][..], ErrorKind::DisplayHelp),
            (
                &["accountd", "user", "add"][..],
                ErrorKind::MissingRequiredArgument,
            ),
        ] {
            match parse_args(args) {
                Err(Refusal::Other(e)) => assert_eq!(e.kind(), kind, "{args:?}"),
                other => panic!("{args:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn accepted_values_are_read_as_before() {
        let c = parse(&[
            "--bcrypt-cost",
            " 4 ",
            "--enumeration-protection",
            " ON",
            "--smtp-url",
            "  ",
            "--trusted-proxies",
            "10.0.0.0/8, ::1,",
            "--hash-workers",
            "3",
            "--db-pool-size",
            "2",
        ])
        .unwrap();
        assert_eq!(c.bcrypt_cost, 4);
        assert!(c.enumeration_protection);
        assert!(
            c.smtp_url.is_none(),
            "a blank SMTP URL means the console mailer"
        );
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!((c.hash_workers, c.db_pool_size), (3, 2));
        let c = parse(&["--data-dir", "", "--smtp-url", " smtps://mail "]).unwrap();
        assert_eq!(c.data_dir, std::path::PathBuf::new());
        assert_eq!(
            c.smtp_url.as_ref().map(ExposeSecret::expose_secret),
            Some("smtps://mail")
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

    #[test]
    fn the_invitation_options_default_to_the_spec_and_zero_switches_their_limits_off() {
        let c = parse(&[]).unwrap();
        assert_eq!(
            (
                c.invite_ttl_seconds,
                c.pending_invites_per_project,
                c.invites_per_hour,
                c.invites_per_recipient_per_hour
            ),
            (604_800, 100, 50, 5)
        );
        let c = parse(&[
            "--pending-invites-per-project",
            "0",
            "--invites-per-hour",
            "0",
            "--invites-per-recipient-per-hour",
            "0",
            "--invite-ttl-seconds",
            "60",
        ])
        .unwrap();
        assert_eq!(
            (
                c.invite_ttl_seconds,
                c.pending_invites_per_project,
                c.invites_per_hour,
                c.invites_per_recipient_per_hour
            ),
            (60, 0, 0, 0)
        );
        for (args, variable) in [
            (
                ["--invite-ttl-seconds", "59"],
                "ACCOUNTD_INVITE_TTL_SECONDS",
            ),
            (["--invite-ttl-seconds", "0"], "ACCOUNTD_INVITE_TTL_SECONDS"),
            (
                ["--pending-invites-per-project", "1000001"],
                "ACCOUNTD_PENDING_INVITES_PER_PROJECT",
            ),
            (["--invites-per-hour", "x"], "ACCOUNTD_INVITES_PER_HOUR"),
            (
                ["--invites-per-recipient-per-hour", "1000001"],
                "ACCOUNTD_INVITES_PER_RECIPIENT_PER_HOUR",
            ),
        ] {
            assert_eq!(parse(&args).unwrap_err().variable, variable, "{args:?}");
        }
    }
}
