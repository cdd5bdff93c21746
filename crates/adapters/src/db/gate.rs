//! Waiting without holding (security.md): before a write takes a
//! connection from the pool, it passes this instance's gates for the
//! advisory locks it will take, and on SQLite the one writer gate, so that
//! requests queued behind the same key (a login flood for one account, a
//! `sendEmail` flood) wait here, holding no connection, instead of in the
//! database while holding one each. The database lock still decides
//! across instances (`conn::lock_id_now`).
//!
//! The gates are a fixed table of stripes (an advisory-lock id picks its
//! stripe), so memory stays bounded whatever the keys; two keys on one
//! stripe merely take turns. Stripes are taken in ascending order, then the
//! writer gate, so two writers never wait on each other in opposite
//! orders. A tokio mutex is fair (first come, first served), and a wait is
//! bounded: past it the write is refused as contended (429 with
//! `Retry-After`).

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Stripes of per-key gates.
const STRIPES: usize = 1024;

/// The gates of one [`super::Database`].
#[derive(Debug)]
pub(crate) struct Gates {
    stripes: Vec<Arc<Mutex<()>>>,
    /// SQLite has one write lock: holding it in-process first means a
    /// write transaction never sleeps in SQLite's busy handler.
    writer: Option<Arc<Mutex<()>>>,
    bound: Duration,
}

/// Held while a write runs; dropping it lets the next writer in.
#[derive(Debug)]
pub(crate) struct Entered {
    _guards: Vec<OwnedMutexGuard<()>>,
}

/// The wait outlasted the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Contended;

impl Gates {
    /// Gates for a database; `single_writer` on SQLite.
    pub(crate) fn new(single_writer: bool, bound: Duration) -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Arc::new(Mutex::new(()))).collect(),
            writer: single_writer.then(|| Arc::new(Mutex::new(()))),
            bound,
        }
    }

    fn stripe(id: i64) -> usize {
        // `rem_euclid` of a positive modulus is in 0..STRIPES.
        usize::try_from(id.rem_euclid(STRIPES as i64)).unwrap_or(0)
    }

    /// Passes the gates of the lock ids `ids` (any order, repeats allowed)
    /// and the writer gate, within the bound for all of them together.
    pub(crate) async fn enter(&self, ids: &[i64]) -> Result<Entered, Contended> {
        let mut stripes: Vec<usize> = ids.iter().map(|&id| Self::stripe(id)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        let gates = stripes
            .into_iter()
            .filter_map(|s| self.stripes.get(s).cloned())
            .chain(self.writer.clone());
        let enter_all = async {
            let mut guards = Vec::new();
            for gate in gates {
                guards.push(gate.lock_owned().await);
            }
            guards
        };
        match tokio::time::timeout(self.bound, enter_all).await {
            Ok(guards) => Ok(Entered { _guards: guards }),
            Err(_) => {
                metrics::counter!("accountd_db_gate_timeouts_total").increment(1);
                Err(Contended)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_key_lets_one_writer_in_at_a_time_and_the_next_after_it() {
        let gates = Gates::new(false, Duration::from_millis(50));
        let first = gates.enter(&[7]).await;
        assert!(first.is_ok());
        assert_eq!(gates.enter(&[7]).await.err(), Some(Contended));
        // Another key is not held up.
        assert!(gates.enter(&[8]).await.is_ok());
        drop(first);
        assert!(gates.enter(&[7, 7]).await.is_ok());
    }

    #[tokio::test]
    async fn the_writer_gate_admits_one_write_of_any_key() {
        let gates = Gates::new(true, Duration::from_millis(50));
        let first = gates.enter(&[1]).await;
        assert!(first.is_ok());
        assert_eq!(gates.enter(&[2]).await.err(), Some(Contended));
        assert_eq!(gates.enter(&[]).await.err(), Some(Contended));
        drop(first);
        assert!(gates.enter(&[]).await.is_ok());
    }

    #[tokio::test]
    async fn waiters_enter_in_arrival_order() {
        let gates = Arc::new(Gates::new(false, Duration::from_secs(5)));
        let held = gates.enter(&[3]).await;
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..5 {
            let (gates, order) = (Arc::clone(&gates), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                let _in = gates.enter(&[3]).await;
                order.lock().map(|mut o| o.push(i)).ok();
            }));
            // Each waiter queued before the next arrives.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(held);
        for t in tasks {
            assert!(t.await.is_ok());
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn keys_taken_in_opposite_orders_never_deadlock() {
        let gates = Arc::new(Gates::new(false, Duration::from_secs(5)));
        let mut tasks = Vec::new();
        for i in 0..200 {
            let gates = Arc::clone(&gates);
            let ids = if i % 2 == 0 {
                vec![10, 20]
            } else {
                vec![20, 10]
            };
            tasks.push(tokio::spawn(async move {
                let entered = gates.enter(&ids).await;
                tokio::task::yield_now().await;
                entered.is_ok()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.ok(), Some(true));
        }
    }
}
