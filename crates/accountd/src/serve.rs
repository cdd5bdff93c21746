//! `accountd serve`: migrate, start the dispatcher, serve until a signal.

use crate::config::Config;
use crate::wiring::{self, fail, StartError};
use accountd_app::OutboxDispatcher;
use accountd_http::{HttpSettings, HttpState, UnicatInfo};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// Runs the dispatcher until `stop` flips: a pass whenever mail is queued
/// (woken), and at least every second (retries, other instances' rows,
/// lapsed leases).
async fn dispatch_loop(
    dispatcher: OutboxDispatcher,
    woken: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let busy = match dispatcher.run_once().await {
            Ok(report) => report.claimed > 0,
            Err(e) => {
                tracing::warn!(error = %e, "outbox pass failed");
                false
            }
        };
        if *stop.borrow() {
            return;
        }
        if !busy {
            tokio::select! {
                () = woken.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// Purges expired rows every ten minutes (the first time a minute after
/// start) until `stop` flips.
async fn purge_loop(
    db: accountd_adapters::Database,
    retention_days: i64,
    audit_retention_days: i64,
    mut stop: watch::Receiver<bool>,
) {
    use accountd_ports::Clock;
    const DAY: i64 = 86_400;
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        wait = Duration::from_secs(600);
        let now = accountd_adapters::SystemClock.now();
        // Rate and login-failure windows are a day at most; finished mail
        // is kept a week for inspection; an expired challenge is kept a day
        // so a late step 2 still learns it expired rather than "no code".
        let before = accountd_adapters::PurgeBefore {
            rate_events: now.plus_seconds(-DAY),
            finished_mail: now.plus_seconds(-7 * DAY),
            expired_challenges: now.plus_seconds(-DAY),
            // A revert token goes once expired or spent (an unknown token
            // is answered like a spent one).
            email_reverts: now,
            // ACCOUNTD_PROJECT_RETENTION_DAYS after its soft delete.
            deleted_projects: now.plus_seconds(-retention_days * DAY),
            // An expired invitation's token goes (its row stays).
            invite_tokens: now,
            // ACCOUNTD_AUDIT_RETENTION_DAYS after it was written.
            audit_events: now.plus_seconds(-audit_retention_days * DAY),
            now,
        };
        match db.purge(before).await {
            Ok(p) => tracing::info!(
                rate_events = p.rate_events,
                outbox = p.outbox,
                challenges = p.challenges,
                email_reverts = p.email_reverts,
                projects = p.projects,
                invite_tokens = p.invite_tokens,
                placeholders = p.placeholders,
                audit_events = p.audit_events,
                "purged expired rows"
            ),
            Err(e) => tracing::warn!(error = %e, "purge failed"),
        }
    }
}

/// Reloads the EdDSA keys from the database every `KEY_RELOAD`, so a
/// rotation by another process (or instance) is seen in bounded time,
/// until `stop` flips. A failed reload keeps the keys it had.
async fn key_reload_loop(
    db: accountd_adapters::Database,
    seal_key: [u8; 32],
    tokens: accountd_adapters::JwtTokens,
    mut stop: watch::Receiver<bool>,
) {
    use accountd_ports::Clock;
    loop {
        tokio::select! {
            () = tokio::time::sleep(wiring::KEY_RELOAD) => {}
            _ = stop.changed() => return,
        }
        let now = accountd_adapters::SystemClock.now();
        match db.jwt_signing_keys(&seal_key, now).await {
            Ok(keys) => {
                let before = tokens.published_at(now);
                match tokens.replace_keys(&keys) {
                    Ok(()) => {
                        let after = tokens.published_at(now);
                        if before != after {
                            let kids: Vec<&str> = after.iter().map(|k| k.kid.as_str()).collect();
                            tracing::info!(published = ?kids, "token signing keys changed");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "token signing keys not reloaded"),
                }
            }
            Err(e) => tracing::warn!(error = %e, "token signing keys not reloaded"),
        }
    }
}

/// Registers the SIGTERM and SIGINT handlers now, and returns a future
/// that completes on the first of them. Registering before the server says
/// it is listening matters: a signal that arrived between that line and a
/// lazily installed handler would kill the process with the default action.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, StartError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let watch = |kind| signal(kind).map_err(|e| fail(1, format!("cannot watch signals: {e}")));
        let mut term = watch(SignalKind::terminate())?;
        let mut int = watch(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

pub async fn serve(config: Config) -> Result<(), StartError> {
    // The checks that can refuse the configuration come first, so that a
    // bad value is reported on its own line before anything is touched
    // (no migration, no log lines).
    let mailer = wiring::mailer(&config)?;
    let secret = wiring::server_secret(&config)?;
    if config.smtp_url.is_none() {
        tracing::warn!(
            "no ACCOUNTD_SMTP_URL configured: mail is printed to standard output, not delivered"
        );
    }
    // Pending outbox bodies are sealed under a key of the server secret.
    let db = wiring::open_database(&config)
        .await?
        .with_outbox_key(&secret.outbox_key());
    let hasher = wiring::hasher(&config).await?;
    let exporter = web::Data::new(crate::metrics::Exporter::install(
        db.clone(),
        hasher.clone(),
    )?);
    let (tokens, key_source) = wiring::tokens(&config, &db, &secret).await?;
    let signing_keys: Arc<dyn accountd_ports::PublishedKeys> = Arc::new(tokens.clone());
    let ports = wiring::ports(
        &db,
        hasher,
        Some(config.hash_workers.saturating_add(config.hash_queue)),
    );
    let unicat = wiring::unicat(&config, ports.clone(), &db, &secret, tokens.clone());
    let state = web::Data::new(HttpState {
        forgot_password: wiring::forgot_password(&config, ports, &secret),
        signup: unicat.signup,
        reset: unicat.reset,
        sessions: unicat.sessions,
        unicat: UnicatInfo::new(env!("CARGO_PKG_VERSION").to_owned(), &config.languages),
        health: Arc::new(db.clone()),
        settings: HttpSettings {
            max_body_bytes: config.max_body_bytes,
            body_timeout: Duration::from_secs(config.body_timeout_seconds),
            trusted_proxies: config.trusted_proxies.clone(),
        },
        account_deletion: unicat.deletion,
        email_change: unicat.email_change,
        accounts: unicat.accounts,
        projects: unicat.projects,
        invitations: unicat.invitations,
        members: unicat.members,
        signing_keys: signing_keys.clone(),
    });

    let (stop_tx, stop_rx) = watch::channel(false);
    let purger = tokio::spawn(purge_loop(
        db.clone(),
        config.project_retention_days,
        config.audit_retention_days,
        stop_rx.clone(),
    ));
    let reloader = (key_source == wiring::KeySource::Database).then(|| {
        tokio::spawn(key_reload_loop(
            db.clone(),
            secret.jwt_signing_key_seal(),
            tokens,
            stop_rx.clone(),
        ))
    });
    let dispatcher = tokio::spawn(dispatch_loop(
        wiring::dispatcher(&db, mailer),
        db.mail_queued(),
        stop_rx,
    ));

    // Before anything announces readiness (see `shutdown_signal`).
    let signalled = shutdown_signal()?;
    let scrape = crate::metrics::routes(exporter);
    // With an admin listener, `/metrics` is served there only.
    let admin = match config.admin_bind {
        None => None,
        Some(addr) => {
            let health = accountd_http::configure_admin(state.clone());
            let scrape = scrape.clone();
            let server = HttpServer::new(move || {
                App::new()
                    .wrap(from_fn(accountd_http::head_limits))
                    .wrap(from_fn(accountd_http::metrics::record))
                    .configure(scrape.clone())
                    .configure(health.clone())
            })
            .workers(1)
            .shutdown_timeout(30)
            .disable_signals()
            .bind(addr)
            .map_err(|e| {
                fail(
                    1,
                    format!("cannot listen on {addr} (ACCOUNTD_ADMIN_BIND): {e}"),
                )
            })?;
            Some(server)
        }
    };
    let metrics_on_main = admin.is_none();
    let routes = accountd_http::configure(state);
    let server = HttpServer::new(move || {
        let scrape = scrape.clone();
        App::new()
            // Innermost: an oversized head is answered in its family's
            // envelope, counted and logged like any refusal.
            .wrap(from_fn(accountd_http::head_limits))
            .wrap(from_fn(accountd_http::metrics::record))
            // Outermost: every answer, a metrics scrape's too, carries
            // the request id and gets its access line.
            .wrap(from_fn(accountd_http::access_log))
            .configure(move |cfg| {
                if metrics_on_main {
                    scrape(cfg);
                }
            })
            .configure(routes.clone())
    })
    .shutdown_timeout(30)
    // actix stops at once on SIGINT; both signals must finish in-flight
    // requests, so the signals are handled below.
    .disable_signals()
    .bind(config.bind)
    .map_err(|e| fail(1, format!("cannot listen on {}: {e}", config.bind)))?;
    let admin = admin.map(|admin| {
        for addr in admin.addrs() {
            tracing::info!(%addr, "accountd admin listening (/metrics, /health/*)");
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "accountd admin listening on http://{addr}");
            let _ = out.flush();
        }
        admin.run()
    });
    for addr in server.addrs() {
        tracing::info!(%addr, backend = db.backend(), "accountd listening");
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "accountd listening on http://{addr}");
        let _ = out.flush();
    }
    let server = server.run();
    let handle = server.handle();
    let admin_handle = admin.as_ref().map(actix_web::dev::Server::handle);
    let admin_stop = admin_handle.clone();
    tokio::spawn(async move {
        signalled.await;
        tracing::info!("signal received: finishing in-flight requests");
        if let Some(admin) = admin_handle {
            admin.stop(true).await;
        }
        handle.stop(true).await;
    });
    let admin = admin.map(tokio::spawn);
    let result = server.await;
    if let Some(admin) = admin_stop {
        admin.stop(true).await;
    }
    if let Some(admin) = admin {
        match admin.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "admin listener error"),
            Err(e) => tracing::warn!(error = %e, "admin listener task failed"),
        }
    }
    let _ = stop_tx.send(true);
    let _ = dispatcher.await;
    let _ = purger.await;
    if let Some(reloader) = reloader {
        let _ = reloader.await;
    }
    tracing::info!("accountd stopped");
    result.map_err(|e| fail(1, format!("server error: {e}")))
}
