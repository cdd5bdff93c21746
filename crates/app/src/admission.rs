//! Admission: how many requests about one account run at once, and whether
//! a login may wait for the hash pool at all, decided before a request
//! touches the database.
//!
//! A flood aimed at one account (128 connections logging in as `bench`,
//! asking for its codes or guessing them) must not starve anything else.
//! The write gates (`accountd-adapters`, `db::gate`) already keep a queue of
//! writers of one key from holding connections, but each request of the
//! flood still read the account and its challenge first, so the flood took
//! as many pool checkouts as it had connections. Here every request about
//! an account first takes one of [`RUNNING`] places of its key's stripe,
//! waiting (holding nothing) behind at most [`WAITING`] others for at most
//! [`WAIT`]; a request beyond that queue, or one that waited too long, is
//! refused with [`Failure::Contended`] (429 with `Retry-After`) without
//! waiting for a place, so the flood is answered quickly and costs no
//! database work. [`RUNNING`]
//! plus [`WAITING`] is more than any legitimate client sends in parallel
//! for one account, and more than the parallel tests of exact attempt
//! counts send, which therefore still see every request counted.
//!
//! A refusal is answered after [`REFUSAL_DELAY`], holding nothing but a
//! timer: a client that ignores `Retry-After` and asks again at once (a
//! closed-loop flood) then gets at most one answer per connection and
//! delay, instead of as many as the cores can serve, which would leave the
//! other routes only what the flood's refusals do not use.
//!
//! Keys are spread over [`STRIPES`] stripes by a hash keyed at random per
//! process, so memory stays fixed whatever the number of accounts, and no
//! client can aim its flood at the stripe of another account on purpose.
//!
//! A login also takes one of the hash pool's places (its workers plus its
//! queue) before it reads anything: when every place is taken, it is
//! answered 503 with `Retry-After`, as the pool itself would answer it,
//! without the read, the throttle's write and the undo that the pool's
//! refusal would otherwise cost.

use crate::Failure;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Requests of one key's stripe that run at once.
pub const RUNNING: u32 = 2;
/// Requests of one key's stripe that wait for a place; beyond, refused.
pub const WAITING: u32 = 62;
/// The longest a request waits for a place.
pub const WAIT: Duration = Duration::from_secs(2);
/// How long a refusal (a full queue, or a full hash pool for a login)
/// waits before it is answered.
pub const REFUSAL_DELAY: Duration = Duration::from_millis(100);
/// Stripes keys are spread over.
pub const STRIPES: usize = 1024;

struct Stripe {
    running: Semaphore,
    /// Requests holding or waiting for a place of this stripe.
    present: AtomicU32,
}

/// The admission of one instance; shared by every service through
/// [`crate::Ports`].
pub struct Admission {
    stripes: Box<[Stripe]>,
    keys: std::collections::hash_map::RandomState,
    hash: Option<Semaphore>,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field(
                "hash_places",
                &self.hash.as_ref().map(Semaphore::available_permits),
            )
            .finish_non_exhaustive()
    }
}

impl Default for Admission {
    /// Per-key admission only: logins are not bounded before the hash
    /// pool answers itself.
    fn default() -> Self {
        Self::new(None)
    }
}

/// A place of a key's stripe, held until dropped.
#[derive(Debug)]
pub(crate) struct Admitted<'a> {
    _place: SemaphorePermit<'a>,
    _present: Present<'a>,
}

/// Counts a request as present at its stripe until dropped.
#[derive(Debug)]
struct Present<'a>(&'a AtomicU32);

impl Drop for Present<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A place at the hash pool, held until dropped (none when unbounded).
#[derive(Debug)]
pub(crate) struct HashPlace<'a> {
    _place: Option<SemaphorePermit<'a>>,
}

impl Admission {
    /// Admission with `hash_places` places for logins at the hash pool
    /// (its workers plus its queue), or none to leave that to the pool.
    pub fn new(hash_places: Option<usize>) -> Self {
        Self {
            stripes: (0..STRIPES)
                .map(|_| Stripe {
                    running: Semaphore::new(RUNNING as usize),
                    present: AtomicU32::new(0),
                })
                .collect(),
            keys: std::collections::hash_map::RandomState::new(),
            hash: hash_places.map(|n| Semaphore::new(n.max(1))),
        }
    }

    /// A place for a request about `key` (an account's typed key): at once,
    /// after waiting behind the others of its stripe, or
    /// [`Failure::Contended`] when [`WAITING`] others wait already or no
    /// place came within [`WAIT`].
    pub(crate) async fn enter(&self, key: &str) -> Result<Admitted<'_>, Failure> {
        let index = usize::try_from(self.keys.hash_one(key) % STRIPES as u64).unwrap_or(0);
        let Some(stripe) = self.stripes.get(index) else {
            return Err(contended("queue_full"));
        };
        let before = stripe.present.fetch_add(1, Ordering::AcqRel);
        let present = Present(&stripe.present);
        if before >= RUNNING + WAITING {
            drop(present);
            tokio::time::sleep(REFUSAL_DELAY).await;
            return Err(contended("queue_full"));
        }
        match tokio::time::timeout(WAIT, stripe.running.acquire()).await {
            Ok(Ok(place)) => Ok(Admitted {
                _place: place,
                _present: present,
            }),
            // Never closed; answered as contended all the same.
            Ok(Err(_)) => Err(contended("queue_full")),
            Err(_) => Err(contended("timeout")),
        }
    }

    /// [`Self::enter`] for a request about the account a client typed
    /// (a username or an address, under its caseless key, so its case
    /// variants share one queue).
    pub(crate) async fn enter_typed(&self, typed: &str) -> Result<Admitted<'_>, Failure> {
        self.enter(&accountd_domain::caseless_key(typed)).await
    }

    /// A place at the hash pool for a login already `admitted` at its
    /// key, kept with it; or, when every place is taken, the key's place
    /// given back at once and [`Failure::Overloaded`] after
    /// [`REFUSAL_DELAY`] (so the delay holds only a timer, not a place
    /// other requests of the key wait for).
    pub(crate) async fn hash_place<'a>(
        &'a self,
        admitted: Admitted<'a>,
    ) -> Result<(Admitted<'a>, HashPlace<'a>), Failure> {
        match &self.hash {
            None => Ok((admitted, HashPlace { _place: None })),
            Some(places) => match places.try_acquire() {
                Ok(place) => Ok((
                    admitted,
                    HashPlace {
                        _place: Some(place),
                    },
                )),
                Err(_) => {
                    drop(admitted);
                    metrics::counter!("accountd_hash_jobs_total", "outcome" => "overloaded")
                        .increment(1);
                    tokio::time::sleep(REFUSAL_DELAY).await;
                    Err(Failure::Overloaded {
                        retry_after_seconds: 1,
                    })
                }
            },
        }
    }
}

fn contended(reason: &'static str) -> Failure {
    metrics::counter!("accountd_admission_refusals_total", "reason" => reason).increment(1);
    Failure::Contended {
        retry_after_seconds: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_key_runs_two_at_once_and_queues_the_rest_up_to_the_bound() {
        let admission = Arc::new(Admission::default());
        let first = admission.enter("bench").await.unwrap();
        let second = admission.enter("bench").await.unwrap();
        // A third waits: it has no place while the two are held.
        let waiting = {
            let admission = Arc::clone(&admission);
            tokio::spawn(async move { admission.enter("bench").await.map(|_| ()) })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        drop(first);
        assert!(waiting.await.unwrap().is_ok());
        drop(second);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_and_a_long_wait_are_refused_as_contended() {
        let admission = Arc::new(Admission::default());
        let _held = [
            admission.enter("bench").await.unwrap(),
            admission.enter("bench").await.unwrap(),
        ];
        let mut queued = Vec::new();
        for _ in 0..WAITING {
            let admission = Arc::clone(&admission);
            queued.push(tokio::spawn(async move {
                admission.enter("bench").await.map(|_| ())
            }));
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
        // The 65th is refused without waiting for a place: after the
        // refusal delay only.
        let asked = tokio::time::Instant::now();
        let refused = admission.enter("bench").await;
        assert_eq!(asked.elapsed(), REFUSAL_DELAY);
        assert!(
            matches!(
                refused,
                Err(Failure::Contended {
                    retry_after_seconds: 1
                })
            ),
            "{refused:?}"
        );
        // The queued ones give up after WAIT.
        for q in queued {
            assert!(matches!(q.await.unwrap(), Err(Failure::Contended { .. })));
        }
        // Another key was never in the way (unless it shares the stripe,
        // which the test cannot rule out by name: look for one that does not).
        let other = (0..64)
            .map(|i| format!("other{i}"))
            .find(|k| {
                admission.keys.hash_one(k.as_str()) % STRIPES as u64
                    != admission.keys.hash_one("bench") % STRIPES as u64
            })
            .unwrap();
        assert!(admission.enter(&other).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn hash_places_run_out_and_come_back() {
        let admission = Admission::new(Some(2));
        let place = |key: &'static str| {
            let admission = &admission;
            async move {
                let admitted = admission.enter(key).await.unwrap();
                admission.hash_place(admitted).await
            }
        };
        let a = place("a").await.unwrap();
        let _b = place("b").await.unwrap();
        let asked = tokio::time::Instant::now();
        let refused = place("c").await;
        assert!(
            matches!(
                refused,
                Err(Failure::Overloaded {
                    retry_after_seconds: 1
                })
            ),
            "{refused:?}"
        );
        assert_eq!(asked.elapsed(), REFUSAL_DELAY);
        drop(a);
        assert!(place("c").await.is_ok());
        // Unbounded by default.
        let open = Admission::default();
        let mut places = Vec::new();
        for i in 0..1000 {
            // The key's place is given back at once (1000 keys share 1024
            // stripes); the hash places are all kept.
            let admitted = open.enter(&format!("k{i}")).await.unwrap();
            let (_, place) = open.hash_place(admitted).await.unwrap();
            places.push(place);
        }
        assert_eq!(places.len(), 1000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_login_refused_for_a_full_pool_gives_its_key_place_back_before_the_delay() {
        let admission = Arc::new(Admission::new(Some(1)));
        let _taken = {
            let admitted = admission.enter("other").await.unwrap();
            admission.hash_place(admitted).await.unwrap()
        };
        // Two refused logins of one key hold its two places only until
        // refused: a third request of the key finds a place during their
        // delay.
        let refused: Vec<_> = (0..2)
            .map(|_| {
                let admission = Arc::clone(&admission);
                tokio::spawn(async move {
                    let admitted = admission.enter("bench").await.unwrap();
                    admission.hash_place(admitted).await.map(|_| ())
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let asked = tokio::time::Instant::now();
        assert!(admission.enter("bench").await.is_ok());
        assert!(asked.elapsed() < REFUSAL_DELAY);
        for r in refused {
            assert!(matches!(r.await.unwrap(), Err(Failure::Overloaded { .. })));
        }
    }
}
