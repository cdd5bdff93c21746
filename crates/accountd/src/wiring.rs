//! The one place that names concrete adapters: builds the ports, the
//! services and the HTTP state from a [`Config`].

use crate::config::Config;
use accountd_adapters::{
    BcryptPool, ConsoleMailer, Database, JwtTokens, Migrated, OsRandom, Refolded, SmtpMailer,
    SystemClock,
};
use accountd_app::unicat::{
    AccountDeletion, Accounts, EmailChange, Invitations, MemberSettings, Members, PasswordReset,
    ProjectSettings, Projects, Sessions, Signup, UnicatSettings,
};
use accountd_app::{
    AddUser, ChallengeSettings, DispatchSettings, ForgotPassword, ForgotPasswordSettings,
    OutboxDispatcher, Ports,
};
use accountd_domain::{ChallengePolicy, PasswordPolicy, ServerSecret};
use accountd_ports::Mailer;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

/// An error at start-up, with the exit code it deserves.
#[derive(Debug)]
pub struct StartError {
    pub code: u8,
    pub message: String,
}

pub fn fail(code: u8, message: impl Into<String>) -> StartError {
    StartError {
        code,
        message: message.into(),
    }
}

/// Opens the database, waiting up to 30 s for it to answer, and migrates
/// (logging the accounts that collide under the caseless rule).
pub async fn open_database(config: &Config) -> Result<Database, StartError> {
    open_and_migrate(config).await.map(|(db, _)| db)
}

/// [`open_database`], also returning what the migration did.
pub async fn open_and_migrate(config: &Config) -> Result<(Database, Migrated), StartError> {
    let db = Database::open(
        &config.database_url.expose_secret().0,
        config.db_pool_size,
        Duration::from_secs(10),
    )
    .map_err(|e| fail(2, format!("ACCOUNTD_DATABASE_URL: {e}")))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match db.ping().await {
            Ok(()) => break,
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(fail(
                    1,
                    format!("cannot reach the database after 30 s: {e:#}"),
                ));
            }
            Err(e) => {
                tracing::warn!(error = %e, "database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    let migrated = db
        .migrate()
        .await
        .map_err(|e| fail(1, format!("cannot migrate the database: {e}")))?;
    if !migrated.applied.is_empty() {
        tracing::info!(migrations = ?migrated.applied, "applied migrations");
    }
    if migrated.refolded.accounts > 0 {
        tracing::info!(
            accounts = migrated.refolded.accounts,
            "recomputed the caseless keys of names and addresses"
        );
    }
    for line in collision_lines(&migrated.refolded) {
        tracing::warn!(collision = %line, "accounts collide under the caseless rule; both are kept");
    }
    Ok((db, migrated))
}

/// One line per collision under the caseless rule (spec, security:
/// "Comparing names and addresses"): the accounts' gids, usernames (not
/// secret in Unicat) and status, oldest first; addresses masked.
pub fn collision_lines(refolded: &Refolded) -> Vec<String> {
    let names = refolded.name_collisions.iter().map(|group| {
        let accounts: Vec<String> = group
            .iter()
            .map(|a| format!("{} {} ({})", a.gid, a.username, a.status))
            .collect();
        format!("username collision: {}", accounts.join(", "))
    });
    let addresses = refolded.address_collisions.iter().map(|group| {
        let accounts: Vec<String> = group
            .iter()
            .map(|a| format!("{} {}", a.gid, a.masked_address))
            .collect();
        format!("address collision: {}", accounts.join(", "))
    });
    names.chain(addresses).collect()
}

/// The server secret: configured, or generated once in the data directory.
pub fn server_secret(config: &Config) -> Result<ServerSecret, StartError> {
    let bytes = match &config.secret {
        Some(s) => s.expose_secret().as_bytes().to_vec(),
        None => {
            let loaded = crate::secret::load_or_create(&config.data_dir)
                .map_err(|e| fail(2, format!("ACCOUNTD_DATA_DIR: {e}")))?;
            tracing::warn!(
                created = loaded.created,
                dir = %config.data_dir.display(),
                "no ACCOUNTD_SECRET configured: using the generated secret kept in the data directory"
            );
            if loaded.readable_by_others {
                tracing::warn!(
                    file = %config.data_dir.join(crate::secret::SECRET_FILE).display(),
                    "the secret file may be read by other users: make it owner-only (chmod 600)"
                );
            }
            loaded.bytes
        }
    };
    ServerSecret::new(bytes).map_err(|e| fail(2, format!("ACCOUNTD_SECRET: {e}")))
}

/// The bcrypt pool (computing its dummy hash off the async workers).
pub async fn hasher(config: &Config) -> Result<BcryptPool, StartError> {
    let (workers, queue, cost) = (config.hash_workers, config.hash_queue, config.bcrypt_cost);
    tokio::task::spawn_blocking(move || BcryptPool::start(workers, queue, cost))
        .await
        .map_err(|e| fail(1, format!("cannot start the bcrypt pool: {e}")))?
        .map_err(|e| fail(1, format!("cannot start the bcrypt pool: {e}")))
}

/// The request-serving ports.
pub fn ports(db: &Database, hasher: BcryptPool) -> Ports {
    let db = Arc::new(db.clone());
    Ports {
        users: db.clone(),
        challenges: db.clone(),
        changes: db.clone(),
        limiter: db,
        hasher: Arc::new(hasher),
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandom),
    }
}

pub fn password_policy(config: &Config) -> PasswordPolicy {
    PasswordPolicy::new(config.password_min_length, config.password_min_score)
}

/// The numbers every emailed-code flow shares, with `max_failures` tries.
fn challenge_settings(config: &Config, max_failures: u32) -> ChallengeSettings {
    ChallengeSettings {
        code_ttl_seconds: config.code_ttl_seconds,
        max_failures,
        codes_per_hour: config.codes_per_hour,
        codes_per_day: config.codes_per_day,
        step1_per_ip_per_hour: config.step1_per_ip_per_hour,
        enumeration_protection: config.enumeration_protection,
        password_policy: password_policy(config),
    }
}

pub fn forgot_password(config: &Config, ports: Ports, secret: &ServerSecret) -> ForgotPassword {
    // The route spec fixes the tries; only the Unicat ones are configured.
    let tries = ChallengePolicy::forgot_password(config.code_ttl_seconds).max_failures;
    ForgotPassword::new(
        ports,
        secret.code_mac_key(),
        ForgotPasswordSettings {
            challenge: challenge_settings(config, tries),
        },
    )
}

pub fn add_user(config: &Config, ports: Ports) -> AddUser {
    AddUser::new(
        ports,
        password_policy(config),
        config.default_timezone.clone(),
    )
}

/// The mailer: SMTP when configured, else the console mailer (the caller
/// warns about that once the configuration is known to be good).
pub fn mailer(config: &Config) -> Result<Arc<dyn Mailer>, StartError> {
    match &config.smtp_url {
        Some(url) => Ok(Arc::new(
            SmtpMailer::new(url.expose_secret(), config.mail_from.clone())
                .map_err(|e| fail(2, format!("ACCOUNTD_SMTP_URL: {e}")))?,
        )),
        None => Ok(Arc::new(ConsoleMailer::new(config.mail_from.clone()))),
    }
}

pub fn dispatcher(db: &Database, mailer: Arc<dyn Mailer>) -> OutboxDispatcher {
    let owner = format!(
        "{}-{}-{:08x}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "accountd".to_owned()),
        std::process::id(),
        rand::random::<u32>()
    );
    OutboxDispatcher::new(
        Arc::new(db.clone()),
        mailer,
        Arc::new(SystemClock),
        Arc::new(OsRandom),
        owner,
        DispatchSettings::default(),
    )
}

/// The Unicat services, sharing one session service.
pub struct Unicat {
    pub signup: Signup,
    pub reset: PasswordReset,
    pub sessions: Sessions,
    pub deletion: AccountDeletion,
    pub email_change: EmailChange,
    pub accounts: Accounts,
    pub projects: Projects,
    pub invitations: Invitations,
    pub members: Members,
}

pub fn unicat(config: &Config, ports: Ports, db: &Database, secret: &ServerSecret) -> Unicat {
    let tokens = Arc::new(JwtTokens::new(
        &secret.jwt_key(),
        &config.jwt_issuer,
        &config.jwt_audience,
        config.jwt_ttl_seconds,
    ));
    let sessions = Sessions::new(
        ports.clone(),
        tokens,
        Arc::new(db.clone()),
        Arc::new(db.clone()),
        config.reauth_seconds,
    );
    let settings = UnicatSettings {
        challenge: challenge_settings(config, config.unicat_code_attempts),
        default_timezone: config.default_timezone.clone(),
        ui_languages: config.ui_languages.clone(),
        email_revert_seconds: config.email_revert_seconds,
        lookups_per_ip_per_hour: config.lookups_per_ip_per_hour,
        public_url: config.public_url.clone(),
    };
    let key = secret.code_mac_key();
    Unicat {
        signup: Signup::new(
            ports.clone(),
            sessions.clone(),
            key.clone(),
            settings.clone(),
        ),
        reset: PasswordReset::new(
            ports.clone(),
            sessions.clone(),
            key.clone(),
            settings.clone(),
        ),
        deletion: AccountDeletion::new(ports.clone(), sessions.clone(), Arc::new(db.clone())),
        accounts: Accounts::new(
            ports.clone(),
            sessions.clone(),
            Arc::new(db.clone()),
            settings.clone(),
        ),
        projects: Projects::new(
            ports.clone(),
            sessions.clone(),
            Arc::new(db.clone()),
            ProjectSettings {
                projects_per_user: config.projects_per_user,
                languages: config
                    .languages
                    .iter()
                    .map(|(code, _)| code.clone())
                    .collect(),
                default_timezone: config.default_timezone.clone(),
            },
        ),
        invitations: Invitations::new(
            ports.clone(),
            sessions.clone(),
            Arc::new(db.clone()),
            key.clone(),
        ),
        members: Members::new(
            ports.clone(),
            sessions.clone(),
            Arc::new(db.clone()),
            key.clone(),
            MemberSettings {
                invite_ttl_seconds: config.invite_ttl_seconds,
                pending_invites_per_project: config.pending_invites_per_project,
                invites_per_hour: config.invites_per_hour,
                invites_per_recipient_per_hour: config.invites_per_recipient_per_hour,
                public_url: config.public_url.clone(),
                default_timezone: config.default_timezone.clone(),
            },
        ),
        email_change: EmailChange::new(ports, sessions.clone(), key, settings),
        sessions,
    }
}
