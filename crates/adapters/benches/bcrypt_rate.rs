//! The raw bcrypt rate of the machine: verifications per second at a cost
//! (default 12) with one thread per core, no server involved. The login
//! benchmark (bench/load.sh) is compared against this number.
//!
//! `cargo bench -p accountd-adapters --bench bcrypt_rate [-- COST SECONDS]`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let cost: u32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(12);
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let hash = bcrypt::hash("correct horse battery staple", cost).unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let (hash, done) = (hash.clone(), Arc::clone(&done));
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    assert!(bcrypt::verify("correct horse battery staple", &hash).unwrap());
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let n = done.load(Ordering::Relaxed);
    let rate = n as f64 / started.elapsed().as_secs_f64();
    println!(
        "bcrypt cost {cost}: {n} verifications on {cores} threads in {:.1} s = {rate:.2}/s",
        started.elapsed().as_secs_f64()
    );
}
