//! bcrypt on a bounded pool of dedicated threads, off the async executor.
//!
//! Requests queue in a bounded channel in front of `workers` threads; when
//! the queue is full the caller gets [`HashError::Overloaded`] at once (503
//! with `Retry-After`) instead of waiting, so a flood of logins never stalls
//! unrelated requests.

use accountd_domain::{Password, PasswordHash};
use accountd_ports::{HashError, PasswordHasher};
use async_trait::async_trait;
use crossbeam_channel::{bounded, Sender, TrySendError};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;

enum Job {
    Hash {
        plain: String,
        reply: oneshot::Sender<Result<String, bcrypt::BcryptError>>,
    },
    Verify {
        plain: String,
        hash: String,
        reply: oneshot::Sender<Result<bool, bcrypt::BcryptError>>,
    },
}

/// The bcrypt pool. Cheap to clone; the threads stop when the last clone
/// is dropped.
#[derive(Clone)]
pub struct BcryptPool {
    jobs: Sender<Job>,
    dummy: Arc<String>,
    computed: Arc<AtomicU64>,
}

impl fmt::Debug for BcryptPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BcryptPool")
            .field("queued", &self.jobs.len())
            .finish_non_exhaustive()
    }
}

impl BcryptPool {
    /// Starts `workers` threads hashing at `cost`, behind a queue of
    /// `queue` waiting jobs. Computes the dummy hash for unknown users
    /// (one hash at `cost`, on the calling thread: call it before serving).
    pub fn start(workers: usize, queue: usize, cost: u32) -> Result<Self, bcrypt::BcryptError> {
        let dummy = bcrypt::hash("accountd dummy password for unknown users", cost)?;
        let (tx, rx) = bounded::<Job>(queue.max(1));
        let computed = Arc::new(AtomicU64::new(0));
        for i in 0..workers.max(1) {
            let rx = rx.clone();
            let counter = Arc::clone(&computed);
            std::thread::Builder::new()
                .name(format!("bcrypt-{i}"))
                // The normal policy and nice value, like the HTTP workers:
                // the scheduler then shares the cores between hashing and
                // cheap requests by weight, so neither starves (see
                // ARCHITECTURE.md, "The bcrypt pool").
                .spawn(move || {
                    for job in rx {
                        // A request that was cancelled (its client left) no
                        // longer waits for the answer: skip its hash.
                        match job {
                            Job::Hash { reply, .. } if reply.is_closed() => jobs("abandoned"),
                            Job::Verify { reply, .. } if reply.is_closed() => jobs("abandoned"),
                            Job::Hash { plain, reply } => {
                                counter.fetch_add(1, Ordering::Relaxed);
                                jobs("computed");
                                let _ = reply.send(bcrypt::hash(plain, cost));
                            }
                            Job::Verify { plain, hash, reply } => {
                                counter.fetch_add(1, Ordering::Relaxed);
                                jobs("computed");
                                let _ = reply.send(bcrypt::verify(plain, &hash));
                            }
                        }
                    }
                })
                .map_err(bcrypt::BcryptError::Io)?;
        }
        Ok(Self {
            jobs: tx,
            dummy: Arc::new(dummy),
            computed,
        })
    }

    /// Hashes and verifications computed so far (for metrics).
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// Jobs waiting for a thread (for metrics).
    pub fn queue_depth(&self) -> usize {
        self.jobs.len()
    }

    fn submit(&self, job: Job) -> Result<(), HashError> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => {
                jobs("overloaded");
                HashError::Overloaded {
                    retry_after_seconds: 1,
                }
            }
            TrySendError::Disconnected(_) => {
                HashError::Unexpected(anyhow::anyhow!("the bcrypt pool has stopped"))
            }
        })
    }
}

/// Counts one job by its outcome (`accountd_hash_jobs_total`): `computed`,
/// `overloaded` (refused, the queue was full) or `abandoned` (its caller
/// left before a thread took it).
fn jobs(outcome: &'static str) {
    metrics::counter!("accountd_hash_jobs_total", "outcome" => outcome).increment(1);
}

fn lost() -> HashError {
    HashError::Unexpected(anyhow::anyhow!("a bcrypt worker dropped its job"))
}

#[async_trait]
impl PasswordHasher for BcryptPool {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash {
            plain: password.expose().to_owned(),
            reply,
        })?;
        let hashed = answer.await.map_err(|_| lost())?;
        hashed
            .map(PasswordHash::new)
            .map_err(|e| HashError::Unexpected(anyhow::Error::new(e).context("bcrypt hash")))
    }

    async fn verify(&self, candidate: &str, hash: Option<PasswordHash>) -> Result<bool, HashError> {
        // bcrypt reads 72 bytes and ignores the rest: a longer candidate
        // would match a stored 72-byte prefix. It can never be a password
        // (the policy refuses them), so it is checked against the dummy
        // hash, for the same timing, and refused.
        let fits = candidate.len() <= accountd_domain::MAX_PASSWORD_BYTES;
        let known = hash.is_some() && fits;
        let hash = match hash.filter(|_| fits) {
            Some(h) => h.expose().to_owned(),
            None => self.dummy.as_str().to_owned(),
        };
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify {
            plain: candidate.to_owned(),
            hash,
            reply,
        })?;
        let ok = answer
            .await
            .map_err(|_| lost())?
            .map_err(|e| HashError::Unexpected(anyhow::Error::new(e).context("bcrypt verify")))?;
        Ok(known && ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accountd_domain::PasswordPolicy;

    fn pw(s: &str) -> Password {
        PasswordPolicy::new(1, 0).check(s, None, &[]).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let pool = BcryptPool::start(2, 8, 4).unwrap();
        let h = pool.hash(&pw("correct horse")).await.unwrap();
        assert!(h.expose().starts_with("$2b$04$"));
        assert!(pool.verify("correct horse", Some(h.clone())).await.unwrap());
        assert!(!pool.verify("wrong horse", Some(h)).await.unwrap());
    }

    #[tokio::test]
    async fn a_candidate_over_72_bytes_never_matches_even_a_72_byte_prefix() {
        let pool = BcryptPool::start(1, 8, 4).unwrap();
        let exact = "p".repeat(72);
        let h = pool.hash(&pw(&exact)).await.unwrap();
        assert!(pool.verify(&exact, Some(h.clone())).await.unwrap());
        assert!(!pool.verify(&format!("{exact}!"), Some(h)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_user_is_checked_against_the_dummy_and_always_fails() {
        let pool = BcryptPool::start(1, 8, 4).unwrap();
        assert!(!pool
            .verify("accountd dummy password for unknown users", None)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_job_whose_caller_gave_up_is_never_computed() {
        // One worker, busy with a slow first job; a second job is queued and
        // its caller gives up at once; a third job is awaited. The worker
        // computes the first and third only, and counts the second as
        // abandoned.
        let metrics = recorder();
        let _ = abandoned_jobs(metrics);
        let pool = BcryptPool::start(1, 8, 12).unwrap();
        let p = pw("x");
        let first = tokio::spawn({
            let pool = pool.clone();
            let p = p.clone();
            async move { pool.hash(&p).await }
        });
        // Wait until the worker has started the first job.
        while pool.computed() == 0 {
            tokio::task::yield_now().await;
        }
        let abandoned = pool.hash(&p);
        // Polled once (queued), then dropped while the first job runs.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(1), abandoned).await;
        first.await.unwrap().unwrap();
        pool.hash(&p).await.unwrap();
        assert_eq!(pool.computed(), 2);
        assert_eq!(abandoned_jobs(metrics), 1);
    }

    /// The process-wide recorder of this test binary (the worker threads
    /// record through the global one). Only the test above reads it.
    fn recorder() -> &'static metrics_util::debugging::Snapshotter {
        static SNAPSHOTTER: std::sync::OnceLock<metrics_util::debugging::Snapshotter> =
            std::sync::OnceLock::new();
        SNAPSHOTTER.get_or_init(|| {
            let recorder = metrics_util::debugging::DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            recorder.install().unwrap();
            snapshotter
        })
    }

    /// `accountd_hash_jobs_total{outcome="abandoned"}` since the last call
    /// (a snapshot drains the counters).
    fn abandoned_jobs(snapshotter: &metrics_util::debugging::Snapshotter) -> u64 {
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(key, ..)| {
                key.key().name() == "accountd_hash_jobs_total"
                    && key
                        .key()
                        .labels()
                        .any(|l| l.key() == "outcome" && l.value() == "abandoned")
            })
            .map(|(.., value)| match value {
                metrics_util::debugging::DebugValue::Counter(n) => n,
                _ => 0,
            })
            .sum()
    }

    #[tokio::test]
    async fn a_full_queue_answers_overloaded_at_once() {
        // One slow worker (cost 14) and a queue of one: once the worker is
        // busy with the first job and the second fills the queue, the third
        // waits for nothing and is refused. On a busy machine the worker
        // may take the first job late: wait until it has, rather than
        // assume it.
        let pool = BcryptPool::start(1, 1, 14).unwrap();
        let p = pw("x");
        let a = tokio::spawn({
            let (pool, p) = (pool.clone(), p.clone());
            async move { pool.hash(&p).await }
        });
        // `computed` counts a job when a worker takes it.
        while pool.computed() < 1 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let b = pool.hash(&p);
        let c = pool.hash(&p);
        let (_, c) = tokio::join!(
            async {
                let _ = b.await;
            },
            c
        );
        let _ = a.await;
        assert!(matches!(
            c,
            Err(HashError::Overloaded {
                retry_after_seconds: 1
            })
        ));
    }
}
