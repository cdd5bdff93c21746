//! `GET /metrics`: the Prometheus recorder behind the `metrics` facade the
//! other crates record through, the description of every metric
//! (operations.md is the contract for the names), and the gauges read at
//! scrape time (hash queue, database pool, outbox backlog).

use crate::wiring::{fail, StartError};
use accountd_adapters::{BcryptPool, Database, SystemClock};
use accountd_domain::Purpose;
use accountd_ports::Clock;
use actix_web::{web, HttpResponse};
use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::fmt;

/// Histogram buckets, in seconds: from a fast lookup to a bcrypt at a high
/// cost behind a queue.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// What a scrape reads and renders.
pub struct Exporter {
    handle: PrometheusHandle,
    db: Database,
    hasher: BcryptPool,
}

impl fmt::Debug for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exporter").finish_non_exhaustive()
    }
}

impl Exporter {
    /// Installs the process-wide recorder (once per process) and registers
    /// every metric, the counters at zero, so a scrape lists them all from
    /// the start.
    pub fn install(db: Database, hasher: BcryptPool) -> Result<Self, StartError> {
        let handle = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .and_then(PrometheusBuilder::install_recorder)
            .map_err(|e| fail(1, format!("cannot install the metrics recorder: {e}")))?;
        describe();
        Ok(Self { handle, db, hasher })
    }

    /// Sets the gauges from their sources, then renders every metric.
    async fn render(&self) -> String {
        metrics::gauge!("accountd_hash_queue_depth").set(self.hasher.queue_depth() as f64);
        let (in_use, idle) = self.db.connections();
        metrics::gauge!("accountd_db_connections", "state" => "in_use").set(f64::from(in_use));
        metrics::gauge!("accountd_db_connections", "state" => "idle").set(f64::from(idle));
        match self.db.outbox_backlog().await {
            Ok(backlog) => {
                let age = backlog.oldest_queued_at.map_or(0, |queued| {
                    SystemClock
                        .now()
                        .as_millis()
                        .saturating_sub(queued.as_millis())
                });
                metrics::gauge!("accountd_outbox_pending").set(backlog.pending as f64);
                metrics::gauge!("accountd_outbox_oldest_pending_seconds")
                    .set(age.max(0) as f64 / 1000.0);
            }
            // The last values stay; the scrape still answers.
            Err(e) => tracing::warn!(error = %e, "cannot read the outbox backlog for /metrics"),
        }
        self.handle.run_upkeep();
        self.handle.render()
    }
}

/// Registers `GET /metrics` (on the main listener, or on the admin one
/// when `ACCOUNTD_ADMIN_BIND` is set).
pub fn routes(exporter: web::Data<Exporter>) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(exporter.clone())
            .route("/metrics", web::get().to(scrape));
    }
}

async fn scrape(exporter: web::Data<Exporter>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(exporter.render().await)
}

/// The descriptions (`# HELP`) and the zero of every counter whose labels
/// are known in advance.
fn describe() {
    describe_counter!(
        "accountd_http_requests_total",
        "HTTP requests answered, by route name and status"
    );
    describe_histogram!(
        "accountd_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by route name"
    );
    describe_gauge!(
        "accountd_hash_queue_depth",
        "bcrypt jobs waiting for a thread"
    );
    describe_counter!(
        "accountd_hash_jobs_total",
        "bcrypt jobs by outcome: computed, overloaded (refused, queue full), abandoned (caller left)"
    );
    for outcome in ["computed", "overloaded", "abandoned"] {
        metrics::counter!("accountd_hash_jobs_total", "outcome" => outcome).absolute(0);
    }
    describe_gauge!("accountd_outbox_pending", "Messages waiting in the outbox");
    describe_gauge!(
        "accountd_outbox_oldest_pending_seconds",
        Unit::Seconds,
        "Age of the oldest message waiting in the outbox (0 when none waits)"
    );
    describe_counter!("accountd_mail_sent_total", "Messages delivered");
    describe_counter!(
        "accountd_mail_dead_total",
        "Messages given up (refused permanently, out of attempts, or expired)"
    );
    metrics::counter!("accountd_mail_sent_total").absolute(0);
    metrics::counter!("accountd_mail_dead_total").absolute(0);
    describe_counter!(
        "accountd_code_failures_total",
        "Wrong one-time codes, by challenge purpose"
    );
    describe_counter!(
        "accountd_code_exhausted_total",
        "Challenges exhausted by wrong codes, by purpose"
    );
    for purpose in [
        Purpose::ForgotPassword,
        Purpose::Signup,
        Purpose::ResetPassword,
        Purpose::ChangeEmail,
    ] {
        metrics::counter!("accountd_code_failures_total", "purpose" => purpose.as_str())
            .absolute(0);
        metrics::counter!("accountd_code_exhausted_total", "purpose" => purpose.as_str())
            .absolute(0);
    }
    describe_counter!(
        "accountd_rate_limited_total",
        "Calls refused by a rate limit, by limit"
    );
    for limit in [
        "step1_per_ip",
        "codes",
        "lookups_per_ip",
        "invites_per_inviter",
        "invites_per_recipient",
    ] {
        metrics::counter!("accountd_rate_limited_total", "limit" => limit).absolute(0);
    }
    describe_counter!(
        "accountd_logins_total",
        "Password logins by outcome: success, wrong, locked"
    );
    for outcome in ["success", "wrong", "locked"] {
        metrics::counter!("accountd_logins_total", "outcome" => outcome).absolute(0);
    }
    describe_gauge!(
        "accountd_db_connections",
        "Database pool connections, by state: idle, in_use"
    );
    describe_histogram!(
        "accountd_db_wait_seconds",
        Unit::Seconds,
        "Time a database call waited for a pooled connection"
    );
}
