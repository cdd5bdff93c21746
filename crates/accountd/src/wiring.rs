//! The one place that names concrete adapters: builds the ports, the
//! services and the HTTP state from a [`Config`].

use crate::config::Config;
use crate::config::JwtAlgorithm;
use accountd_adapters::{
    BcryptPool, ConsoleMailer, Database, Ed25519Key, JwtTokens, Migrated, OsRandom, Refolded,
    SigningKeyRecord, SmtpMailer, SystemClock,
};
use accountd_app::unicat::{
    AccountDeletion, Accounts, EmailChange, Invitations, MemberSettings, Members, PasswordReset,
    ProjectSettings, Projects, Sessions, Signup, UnicatSettings,
};
use accountd_app::{
    AddUser, ChallengeSettings, DispatchSettings, ForgotPassword, ForgotPasswordSettings,
    OutboxDispatcher, Ports,
};
use accountd_domain::Timestamp;
use accountd_domain::{ChallengePolicy, PasswordPolicy, ServerSecret};
use accountd_ports::{Clock, Mailer};
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

/// How often a server reloads the EdDSA keys from the database (to see
/// another process's rotation).
pub const KEY_RELOAD: Duration = Duration::from_secs(5);

/// How long after `accountd keys rotate` the new key starts signing: every
/// instance has reloaded it by then (every [`KEY_RELOAD`]), and a JWKS
/// fetched before the rotation has gone stale (`max-age=10`), so no token
/// reaches a verifier that does not know its key yet.
pub const KEY_ACTIVATION_SECONDS: i64 = 15;

/// Where the session-token keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// HS256, or EdDSA with `ACCOUNTD_JWT_PRIVATE_KEY`: fixed for the run.
    Fixed,
    /// EdDSA keys in the database: reloaded every [`KEY_RELOAD`].
    Database,
}

fn key_failure(e: impl std::fmt::Display) -> StartError {
    fail(1, format!("cannot use the token signing keys: {e}"))
}

/// The token service of `ACCOUNTD_JWT_ALGORITHM`; with EdDSA and no PEM
/// key, the keys of the database (the first one is created when there is
/// none).
pub async fn tokens(
    config: &Config,
    db: &Database,
    secret: &ServerSecret,
) -> Result<(JwtTokens, KeySource), StartError> {
    let (issuer, audience, ttl) = (
        &config.jwt_issuer,
        &config.jwt_audience,
        config.jwt_ttl_seconds,
    );
    match (config.jwt_algorithm, &config.jwt_private_key) {
        (JwtAlgorithm::Hs256, _) => Ok((
            JwtTokens::new(&secret.jwt_key(), issuer, audience, ttl),
            KeySource::Fixed,
        )),
        (JwtAlgorithm::EdDsa, Some(pem)) => {
            let key = Ed25519Key::from_pem(pem.expose_secret())
                .map_err(|e| fail(2, format!("ACCOUNTD_JWT_PRIVATE_KEY: {e}")))?;
            let record = SigningKeyRecord {
                key,
                created_at: Timestamp::from_millis(0),
                signs_from: Timestamp::from_millis(0),
            };
            let tokens = JwtTokens::eddsa(&[record], issuer, audience, ttl).map_err(key_failure)?;
            Ok((tokens, KeySource::Fixed))
        }
        (JwtAlgorithm::EdDsa, None) => {
            let keys = db
                .jwt_signing_keys(&secret.jwt_signing_key_seal(), SystemClock.now())
                .await
                .map_err(|e| key_failure(format!("{e:#}")))?;
            let tokens = JwtTokens::eddsa(&keys, issuer, audience, ttl).map_err(key_failure)?;
            Ok((tokens, KeySource::Database))
        }
    }
}

/// Refuses `accountd keys rotate` when the keys are not the database's.
pub fn check_rotation(config: &Config) -> Result<(), StartError> {
    if config.jwt_algorithm != JwtAlgorithm::EdDsa {
        return Err(fail(
            2,
            "keys rotate: ACCOUNTD_JWT_ALGORITHM is HS256; rotation is for EdDSA keys",
        ));
    }
    if config.jwt_private_key.is_some() {
        return Err(fail(
            2,
            "keys rotate: ACCOUNTD_JWT_PRIVATE_KEY is set, so the signing key is configured, not stored; replace that key instead",
        ));
    }
    Ok(())
}

/// `accountd keys rotate`: adds a key to the database, signing
/// [`KEY_ACTIVATION_SECONDS`] from now; answers it.
pub async fn rotate_key(
    config: &Config,
    db: &Database,
    secret: &ServerSecret,
) -> Result<SigningKeyRecord, StartError> {
    check_rotation(config)?;
    let now = SystemClock.now();
    let (key, _) = db
        .rotate_jwt_signing_key(
            &secret.jwt_signing_key_seal(),
            now,
            now.plus_seconds(KEY_ACTIVATION_SECONDS),
            config.jwt_ttl_seconds,
        )
        .await
        .map_err(|e| fail(1, format!("cannot rotate the signing key: {e:#}")))?;
    Ok(key)
}

/// The bcrypt pool (computing its dummy hash off the async workers).
pub async fn hasher(config: &Config) -> Result<BcryptPool, StartError> {
    let (workers, queue, cost) = (config.hash_workers, config.hash_queue, config.bcrypt_cost);
    tokio::task::spawn_blocking(move || BcryptPool::start(workers, queue, cost))
        .await
        .map_err(|e| fail(1, format!("cannot start the bcrypt pool: {e}")))?
        .map_err(|e| fail(1, format!("cannot start the bcrypt pool: {e}")))
}

/// The request-serving ports; logins take one of `hash_places` places
/// (the pool's workers plus its queue) before they read anything, when
/// given (see `accountd_app::Admission`).
pub fn ports(db: &Database, hasher: BcryptPool, hash_places: Option<usize>) -> Ports {
    let db = Arc::new(db.clone());
    Ports {
        users: db.clone(),
        challenges: db.clone(),
        changes: db.clone(),
        limiter: db,
        hasher: Arc::new(hasher),
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandom),
        admission: Arc::new(accountd_app::Admission::new(hash_places)),
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

pub fn unicat(
    config: &Config,
    ports: Ports,
    db: &Database,
    secret: &ServerSecret,
    tokens: JwtTokens,
) -> Unicat {
    let tokens = Arc::new(tokens);
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
