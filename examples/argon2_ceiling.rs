//! The ceiling for Login and Register: how many argon2id verifies per second this machine
//! computes on all its cores, with the argon2 crate alone (no server, no runtime, no
//! database). `scripts/bench.sh` runs it in the same run as the Login load, so the ratio of
//! the two says how much of the machine authd's login path turns into logins.
//!
//! ```sh
//! cargo run --release --example argon2_ceiling -- --seconds 10
//! ```
//!
//! The parameters default to authd's own (`--argon2-memory-kib 19456 --argon2-iterations 2
//! --argon2-parallelism 1`); pass the server's values when it runs with others.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark tool: fail loudly

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use argon2::{Algorithm, Argon2, Params, Version};
use clap::Parser;

#[derive(Parser, Debug)]
struct Args {
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Threads verifying at once (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// argon2id memory per hash, in KiB.
    #[arg(long, default_value_t = 19_456)]
    argon2_memory_kib: u32,
    /// argon2id passes over memory.
    #[arg(long, default_value_t = 2)]
    argon2_iterations: u32,
    /// argon2id lanes.
    #[arg(long, default_value_t = 1)]
    argon2_parallelism: u32,
}

fn main() {
    let args = Args::parse();
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let params = Params::new(
        args.argon2_memory_kib,
        args.argon2_iterations,
        args.argon2_parallelism,
        Some(32),
    )
    .expect("argon2 parameters");
    let salt = *b"sixteen-byte-slt";
    let password = b"load-test-passphrase-1";
    let mut expected = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into(password, &salt, &mut expected)
        .expect("hash");

    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (stop, done, params) = (stop.clone(), done.clone(), params.clone());
            std::thread::spawn(move || {
                let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                let mut memory = vec![argon2::Block::new(); params.block_count()];
                let mut output = [0u8; 32];
                while !stop.load(Ordering::Relaxed) {
                    argon2
                        .hash_password_into_with_memory(password, &salt, &mut output, &mut memory)
                        .expect("hash");
                    // A verify is the hash plus a comparison.
                    assert_eq!(output, expected, "argon2 disagreed with itself");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(args.seconds));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let verifies = done.load(Ordering::Relaxed);
    println!(
        "argon2id m={} t={} p={} threads={threads} seconds={elapsed:.3} verifies={verifies} rate={:.1}/s",
        args.argon2_memory_kib,
        args.argon2_iterations,
        args.argon2_parallelism,
        verifies as f64 / elapsed,
    );
}
