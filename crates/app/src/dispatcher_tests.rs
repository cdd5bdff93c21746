//! Unit tests of the outbox dispatcher, with every port mocked.

use super::*;
use accountd_domain::{Email, OutgoingMail, Timestamp};
use accountd_ports::{Lease, MockClock, MockMailer, MockOutboxRepository, MockRandom};
use std::sync::Mutex;

const OWNER: &str = "node-1";

fn now() -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000)
}

fn settings() -> DispatchSettings {
    DispatchSettings {
        lease_seconds: 30,
        batch: 16,
        max_attempts: 5,
        base_backoff_ms: 1_000,
        max_backoff_ms: 300_000,
    }
}

fn mail(to: &str, not_after: Option<Timestamp>) -> OutgoingMail {
    OutgoingMail {
        to: Email::parse(to).unwrap(),
        subject: "Your password reset code".into(),
        text: "Hello,\n\n482901\n".into(),
        not_after,
    }
}

/// The lease [`OWNER`] holds on row `id` (a lease id of its own per row).
fn lease(id: i64) -> Lease {
    Lease {
        owner: OWNER.to_owned(),
        id: id * 10,
    }
}

fn queued(id: i64, attempts: u32, not_after: Option<Timestamp>) -> QueuedMail {
    QueuedMail {
        id,
        mail: mail(&format!("user{id}@example.com"), not_after),
        attempts,
        lease: lease(id),
    }
}

/// Which end of the jitter range the random source picks.
#[derive(Debug, Clone, Copy)]
enum Jitter {
    Least,
    Most,
}

struct Mocks {
    outbox: MockOutboxRepository,
    mailer: MockMailer,
    clock: MockClock,
    random: MockRandom,
}

impl Mocks {
    fn new() -> Self {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(now());
        Self {
            outbox: MockOutboxRepository::new(),
            mailer: MockMailer::new(),
            clock,
            random: MockRandom::new(),
        }
    }

    /// One claim by [`OWNER`] at `now()`, answering `batch`.
    fn claiming(mut self, batch: Vec<QueuedMail>) -> Self {
        self.outbox
            .expect_claim()
            .withf(|owner, at, lease_until, limit| {
                owner == OWNER
                    && *at == now()
                    && *lease_until == now().plus_seconds(30)
                    && *limit == 16
            })
            .times(1)
            .return_once(move |_, _, _, _| Ok(batch));
        self
    }

    /// The random source answers one end of whatever range it is asked for.
    fn jitter(mut self, jitter: Jitter) -> Self {
        self.random
            .expect_uniform()
            .returning(move |lo, hi| match jitter {
                Jitter::Least => lo,
                Jitter::Most => hi,
            });
        self
    }

    fn no_retry(mut self) -> Self {
        self.outbox.expect_retry_later().never();
        self.random.expect_uniform().never();
        self
    }

    fn not_sent(mut self) -> Self {
        self.outbox.expect_mark_sent().never();
        self
    }

    fn not_dead(mut self) -> Self {
        self.outbox.expect_mark_dead().never();
        self
    }

    fn dispatcher(self, settings: DispatchSettings) -> OutboxDispatcher {
        OutboxDispatcher::new(
            Arc::new(self.outbox),
            Arc::new(self.mailer),
            Arc::new(self.clock),
            Arc::new(self.random),
            OWNER.to_owned(),
            settings,
        )
    }
}

// ------------------------------------------------------------------ run_once

#[tokio::test]
async fn a_pass_claims_a_batch_for_its_owner_with_a_lease_of_lease_seconds() {
    let mut m = Mocks::new()
        .claiming(Vec::new())
        .no_retry()
        .not_sent()
        .not_dead();
    m.mailer.expect_send().never();

    let report = m.dispatcher(settings()).run_once().await.unwrap();

    assert_eq!(report, PassReport::default());
}

#[tokio::test]
async fn a_delivered_mail_is_marked_sent() {
    let mut m = Mocks::new()
        .claiming(vec![queued(7, 0, Some(now().plus_seconds(600)))])
        .no_retry()
        .not_dead();
    m.mailer
        .expect_send()
        .withf(|m| *m == mail("user7@example.com", Some(now().plus_seconds(600))))
        .times(1)
        .returning(|_| Ok(()));
    m.outbox
        .expect_mark_sent()
        .withf(|id, l, at| *l == lease(*id) && *id == 7 && *at == now())
        .times(1)
        .returning(|_, _, _| Ok(true));

    let report = m.dispatcher(settings()).run_once().await.unwrap();

    assert_eq!(
        report,
        PassReport {
            claimed: 1,
            sent: 1,
            ..PassReport::default()
        }
    );
}

#[tokio::test]
async fn a_transient_failure_is_retried_with_one_more_attempt_inside_the_backoff_window() {
    // The third attempt fails: the next delay is base * 2^2 = 4 s, jittered
    // into [2 s, 4 s].
    for jitter in [Jitter::Least, Jitter::Most] {
        let mut m = Mocks::new()
            .claiming(vec![queued(7, 2, None)])
            .jitter(jitter)
            .not_sent()
            .not_dead();
        m.mailer
            .expect_send()
            .times(1)
            .returning(|_| Err(MailError::Transient("421 try again later".into())));
        let next: Arc<Mutex<Vec<Timestamp>>> = Arc::default();
        let sink = Arc::clone(&next);
        m.outbox
            .expect_retry_later()
            .withf(|id, l, attempts, _, error| {
                *l == lease(*id) && { *id == 7 && *attempts == 3 && error == "421 try again later" }
            })
            .times(1)
            .returning(move |_, _, _, at, _| {
                sink.lock().unwrap().push(at);
                Ok(true)
            });

        let report = m.dispatcher(settings()).run_once().await.unwrap();

        assert_eq!(
            report,
            PassReport {
                claimed: 1,
                retried: 1,
                ..PassReport::default()
            }
        );
        let at = next.lock().unwrap()[0];
        assert!(
            at >= now().plus_millis(2_000) && at <= now().plus_millis(4_000),
            "{jitter:?}: {at:?}"
        );
        let expected = match jitter {
            Jitter::Least => now().plus_millis(2_000),
            Jitter::Most => now().plus_millis(4_000),
        };
        assert_eq!(at, expected, "{jitter:?}");
    }
}

#[tokio::test]
async fn the_attempt_before_the_last_allowed_one_is_still_retried() {
    let mut m = Mocks::new()
        .claiming(vec![queued(7, 3, None)])
        .jitter(Jitter::Least)
        .not_sent()
        .not_dead();
    m.mailer
        .expect_send()
        .times(1)
        .returning(|_| Err(MailError::Transient("timeout".into())));
    m.outbox
        .expect_retry_later()
        .withf(|id, l, attempts, _, _| *l == lease(*id) && *id == 7 && *attempts == 4)
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));

    let report = m.dispatcher(settings()).run_once().await.unwrap();

    assert_eq!(report.retried, 1);
}

#[tokio::test]
async fn a_transient_failure_on_the_last_allowed_attempt_marks_the_mail_dead() {
    let mut m = Mocks::new()
        .claiming(vec![queued(7, 4, None)])
        .no_retry()
        .not_sent();
    m.mailer
        .expect_send()
        .times(1)
        .returning(|_| Err(MailError::Transient("421 try again later".into())));
    m.outbox
        .expect_mark_dead()
        .withf(|id, l, at, reason| {
            *l == lease(*id) && *id == 7 && *at == now() && reason == "421 try again later"
        })
        .times(1)
        .returning(|_, _, _, _| Ok(true));

    let report = m.dispatcher(settings()).run_once().await.unwrap();

    assert_eq!(
        report,
        PassReport {
            claimed: 1,
            dead: 1,
            ..PassReport::default()
        }
    );
}

#[tokio::test]
async fn a_permanent_failure_marks_the_mail_dead_at_once() {
    let mut m = Mocks::new()
        .claiming(vec![queued(7, 0, None)])
        .no_retry()
        .not_sent();
    m.mailer
        .expect_send()
        .times(1)
        .returning(|_| Err(MailError::Permanent("550 5.1.1 no such user".into())));
    m.outbox
        .expect_mark_dead()
        .withf(|id, l, _, reason| {
            *l == lease(*id) && *id == 7 && reason == "550 5.1.1 no such user"
        })
        .times(1)
        .returning(|_, _, _, _| Ok(true));

    let report = m.dispatcher(settings()).run_once().await.unwrap();

    assert_eq!(
        report,
        PassReport {
            claimed: 1,
            dead: 1,
            ..PassReport::default()
        }
    );
}

#[tokio::test]
async fn a_mail_whose_code_has_expired_is_marked_dead_without_calling_the_mailer() {
    for not_after in [now(), now().plus_millis(-1), now().plus_seconds(-3600)] {
        let mut m = Mocks::new()
            .claiming(vec![queued(7, 1, Some(not_after))])
            .no_retry()
            .not_sent();
        m.mailer.expect_send().never();
        m.outbox
            .expect_mark_dead()
            .withf(|id, l, at, reason| {
                *l == lease(*id) && {
                    *id == 7 && *at == now() && reason == "code expired before delivery"
                }
            })
            .times(1)
            .returning(|_, _, _, _| Ok(true));

        let report = m.dispatcher(settings()).run_once().await.unwrap();

        assert_eq!(
            report,
            PassReport {
                claimed: 1,
                dead: 1,
                ..PassReport::default()
            },
            "{not_after:?}"
        );
    }
}

#[tokio::test]
async fn a_mail_whose_code_expires_a_millisecond_later_is_still_sent() {
    let mut m = Mocks::new()
        .claiming(vec![queued(7, 0, Some(now().plus_millis(1)))])
        .no_retry()
        .not_dead();
    m.mailer.expect_send().times(1).returning(|_| Ok(()));
    m.outbox
        .expect_mark_sent()
        .times(1)
        .returning(|_, _, _| Ok(true));

    let report = m.dispatcher(settings()).run_once().await.unwrap();

    assert_eq!(report.sent, 1);
}

#[tokio::test]
async fn a_pass_handles_every_claimed_mail_and_counts_each_outcome() {
    let mut m = Mocks::new()
        .claiming(vec![
            queued(1, 0, None),
            queued(2, 0, None),
            queued(3, 0, None),
            queued(4, 0, Some(now())),
        ])
        .jitter(Jitter::Least);
    m.mailer
        .expect_send()
        .withf(|m| m.to.as_str() == "user1@example.com")
        .times(1)
        .returning(|_| Ok(()));
    m.mailer
        .expect_send()
        .withf(|m| m.to.as_str() == "user2@example.com")
        .times(1)
        .returning(|_| Err(MailError::Transient("timeout".into())));
    m.mailer
        .expect_send()
        .withf(|m| m.to.as_str() == "user3@example.com")
        .times(1)
        .returning(|_| Err(MailError::Permanent("550".into())));
    m.outbox
        .expect_mark_sent()
        .withf(|id, l, _| *l == lease(*id) && *id == 1)
        .times(1)
        .returning(|_, _, _| Ok(true));
    m.outbox
        .expect_retry_later()
        .withf(|id, l, attempts, at, _| {
            *l == lease(*id) && *id == 2 && *attempts == 1 && *at == now().plus_millis(500)
        })
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
    m.outbox
        .expect_mark_dead()
        .withf(|id, l, _, _| *l == lease(*id) && (*id == 3 || *id == 4))
        .times(2)
        .returning(|_, _, _, _| Ok(true));

    let report = m.dispatcher(settings()).run_once().await.unwrap();

    assert_eq!(
        report,
        PassReport {
            claimed: 4,
            sent: 1,
            retried: 1,
            dead: 2,
        }
    );
}

#[tokio::test]
async fn a_claim_that_fails_is_returned_and_nothing_is_sent() {
    let mut m = Mocks::new().no_retry().not_sent().not_dead();
    m.outbox
        .expect_claim()
        .times(1)
        .returning(|_, _, _, _| Err(StoreError::Unavailable(anyhow::anyhow!("locked"))));
    m.mailer.expect_send().never();

    let r = m.dispatcher(settings()).run_once().await;

    assert!(matches!(r, Err(StoreError::Unavailable(_))), "{r:?}");
}

#[tokio::test]
async fn a_failure_to_record_a_delivery_is_returned() {
    let mut m = Mocks::new()
        .claiming(vec![queued(7, 0, None)])
        .no_retry()
        .not_dead();
    m.mailer.expect_send().times(1).returning(|_| Ok(()));
    m.outbox
        .expect_mark_sent()
        .times(1)
        .returning(|_, _, _| Err(StoreError::Unexpected(anyhow::anyhow!("disk full"))));

    let r = m.dispatcher(settings()).run_once().await;

    assert!(matches!(r, Err(StoreError::Unexpected(_))), "{r:?}");
}

// ---------------------------------------------------------------- backoff_ms

/// The delay for `attempts`, with the jitter at one end of its range; also
/// checks the range the random source was asked for is `0..=full/2`.
fn backoff(settings: DispatchSettings, attempts: u32, jitter: Jitter) -> (i64, u32) {
    let asked: Arc<Mutex<Vec<(u32, u32)>>> = Arc::default();
    let sink = Arc::clone(&asked);
    let mut m = Mocks::new();
    m.random.expect_uniform().times(1).returning(move |lo, hi| {
        sink.lock().unwrap().push((lo, hi));
        match jitter {
            Jitter::Least => lo,
            Jitter::Most => hi,
        }
    });
    let ms = m.dispatcher(settings).backoff_ms(attempts);
    let (lo, hi) = asked.lock().unwrap()[0];
    assert_eq!(lo, 0, "the jitter starts at zero");
    (ms, hi)
}

#[test]
fn the_backoff_doubles_with_every_attempt_and_is_capped_at_the_maximum() {
    let cases: &[(u32, i64)] = &[
        (1, 1_000),
        (2, 2_000),
        (3, 4_000),
        (4, 8_000),
        (9, 256_000),
        (10, 300_000),
        (11, 300_000),
        (25, 300_000),
        (31, 300_000),
        (64, 300_000),
        (u32::MAX, 300_000),
    ];
    for &(attempts, full) in cases {
        let (most, hi) = backoff(settings(), attempts, Jitter::Most);
        let (least, _) = backoff(settings(), attempts, Jitter::Least);
        assert_eq!(i64::from(hi), full / 2, "attempt {attempts}: jitter range");
        assert_eq!(most, full, "attempt {attempts}: longest delay");
        assert_eq!(least, full / 2, "attempt {attempts}: shortest delay");
    }
}

#[test]
fn the_first_retry_waits_about_the_base_delay() {
    for attempts in [0, 1] {
        let (least, _) = backoff(settings(), attempts, Jitter::Least);
        let (most, _) = backoff(settings(), attempts, Jitter::Most);
        assert_eq!((least, most), (500, 1_000), "attempt {attempts}");
    }
}

#[test]
fn a_huge_base_delay_saturates_instead_of_overflowing_and_is_still_capped() {
    let s = DispatchSettings {
        base_backoff_ms: i64::MAX / 2,
        ..settings()
    };
    let (most, _) = backoff(s.clone(), 30, Jitter::Most);
    let (least, _) = backoff(s, 30, Jitter::Least);
    assert_eq!((least, most), (150_000, 300_000));
}

#[test]
fn a_zero_base_delay_still_waits_at_least_a_millisecond() {
    let s = DispatchSettings {
        base_backoff_ms: 0,
        ..settings()
    };
    let (least, _) = backoff(s.clone(), 3, Jitter::Least);
    let (most, _) = backoff(s, 3, Jitter::Most);
    assert_eq!((least, most), (1, 2));
}

#[test]
fn an_smtp_reason_loses_every_address_before_it_is_logged_or_stored() {
    assert_eq!(
        super::scrub("550 5.1.1 <bob@example.com>: Recipient address rejected"),
        "550 5.1.1 <address> Recipient address rejected"
    );
    assert_eq!(super::scrub("421 try later"), "421 try later");
}

#[tokio::test]
async fn a_mark_that_finds_its_lease_taken_over_changes_nothing_and_the_pass_goes_on() {
    let mut m = Mocks::new()
        .claiming(vec![queued(7, 0, None), queued(8, 0, None)])
        .no_retry()
        .not_dead();
    m.mailer.expect_send().times(2).returning(|_| Ok(()));
    m.outbox
        .expect_mark_sent()
        .withf(|id, l, _| *l == lease(*id))
        .times(2)
        // Row 7's lease lapsed during the send and another claim took it.
        .returning(|id, _, _| Ok(id != 7));

    let report = m.dispatcher(settings()).run_once().await.unwrap();

    assert_eq!(
        report,
        PassReport {
            claimed: 2,
            sent: 2,
            ..PassReport::default()
        }
    );
}
