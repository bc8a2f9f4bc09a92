//! `cargo bench`: what the core's expensive steps cost on this machine, one thread each.
//!
//! Prints microseconds per operation for token issue and verify (EdDSA) and for argon2id
//! hash and verify at the default (OWASP) parameters: the numbers that bound Login and
//! Register (argon2) and GetMe and Refresh (signatures). Timing lives here, never in tests.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use authd::auth::{
    hashing::{HashLimits, HashParams, Hasher},
    model::{KeyAlgorithm, KeyPair, TokenKind},
    tokens::{TokenSettings, TokenSigner},
};

fn measure(name: &str, budget: Duration, mut operation: impl FnMut()) {
    operation(); // warm up
    let started = Instant::now();
    let mut runs = 0u32;
    while started.elapsed() < budget {
        operation();
        runs += 1;
    }
    let each = started.elapsed() / runs;
    println!(
        "{name:<28} {:>10.1} µs/op  ({runs} runs)",
        each.as_secs_f64() * 1e6
    );
}

fn main() {
    let now = 1_800_000_000;
    let key = KeyPair::generate(KeyAlgorithm::EdDsa, now).unwrap();
    let settings = TokenSettings {
        issuer: "authd".into(),
        audience: "authd".into(),
        access_lifetime: 3600,
        refresh_lifetime: 86_400,
    };
    let signer = TokenSigner::new(settings, &key, &[]).unwrap();
    let token = signer
        .issue(TokenKind::Access, 42, now, i64::MAX)
        .unwrap()
        .token;
    let budget = Duration::from_secs(2);
    measure("token issue (EdDSA)", budget, || {
        signer.issue(TokenKind::Access, 42, now, i64::MAX).unwrap();
    });
    measure("token verify (EdDSA)", budget, || {
        signer.verify(&token, TokenKind::Access, now).unwrap();
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let limits = HashLimits {
        concurrency: 1,
        queue: 1,
        max_wait: Duration::from_secs(60),
    };
    let hasher = Hasher::new(HashParams::default(), limits).unwrap();
    let hash = runtime
        .block_on(hasher.hash(hasher.reserve().unwrap(), "correct-horse-battery", None))
        .unwrap();
    measure("argon2id hash (m=19456,t=2)", budget, || {
        runtime
            .block_on(hasher.hash(hasher.reserve().unwrap(), "correct-horse-battery", None))
            .unwrap();
    });
    measure("argon2id verify", budget, || {
        assert!(
            runtime
                .block_on(hasher.verify(
                    hasher.reserve().unwrap(),
                    "correct-horse-battery",
                    Some(&hash),
                    None
                ))
                .unwrap()
        );
    });
    measure("argon2id verify (no user)", budget, || {
        assert!(
            !runtime
                .block_on(hasher.verify(
                    hasher.reserve().unwrap(),
                    "correct-horse-battery",
                    None,
                    None
                ))
                .unwrap()
        );
    });
}
