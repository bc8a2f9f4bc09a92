//! Password hashing with argon2id, off the async workers and bounded in memory.
//!
//! One hash costs ~20 ms of CPU and `m_cost` KiB of memory (19 MiB by default). Each runs on
//! a low-priority hashing thread (`hash_workers`), so async workers keep serving cheap calls
//! (GetMe, Refresh) during a login flood, and behind a semaphore, so at most `concurrency`
//! hashes run at once: the rest wait their turn instead of allocating.
//!
//! The argon2 working memory comes from a pool of `concurrency` buffers, allocated once and
//! reused. Letting argon2 allocate per hash looked bounded but was not: the allocator kept
//! each freed 19 MiB block in whichever thread arena had used it, and resident memory grew
//! to ~800 MiB under a login flood. With the pool, hashing memory is exactly
//! `concurrency × m_cost`, however long the flood lasts.
//!
//! Verifying an unknown user runs against a dummy hash made with the same parameters, so it
//! costs exactly what a real check costs.
//!
//! The wait is bounded too. At most `queue` requests wait for a permit; one more is refused
//! at once as [`Error::Overloaded`] (UNAVAILABLE / 503 with a retry-after) instead of
//! joining a line that only grows: under a flood of 2,000 logins an unbounded line made a
//! legitimate login wait 29 s. A request also stops waiting at its deadline (the client's
//! `grpc-timeout`, or `max_wait`), so nobody is served after they have given up.

use super::django_hashes::{self, DjangoHash};
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::phc::{Output, ParamsString, Salt},
};
use tokio::{sync::Semaphore, time::Instant};

use super::{hash_workers::HashWorkers, random::fill_random};
use crate::error::Error;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl HashParams {
    /// Why argon2 would refuse these parameters (too little memory for the lanes, zero
    /// passes…), in argon2's words; `None` when it takes them.
    pub fn problem(&self) -> Option<String> {
        Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(OUTPUT_BYTES),
        )
        .err()
        .map(|e| e.to_string())
    }
}

impl Default for HashParams {
    /// OWASP's recommendation: m=19456 KiB, t=2, p=1.
    fn default() -> Self {
        Self {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
        }
    }
}

/// How many hashes run at once and how long the line for them may be.
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    /// Hashes computed at once (each holds `memory_kib` of memory).
    pub concurrency: usize,
    /// Requests that may wait for one of those slots; beyond it, `Overloaded` at once.
    pub queue: usize,
    /// Longest a request waits for a slot when its own deadline is later (or unset).
    pub max_wait: Duration,
}

const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;

#[derive(Clone)]
pub struct Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// Idle working-memory buffers; never more than `concurrency` exist.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    /// A hash of a random password, verified against when the user does not exist.
    dummy_hash: Arc<str>,
    limits: HashLimits,
    workers: HashWorkers,
    /// Requests admitted: running or waiting. Never above `concurrency + queue`.
    admitted: Arc<AtomicUsize>,
    /// A moving average of one hash's duration (µs), to tell refused clients when to retry.
    average_micros: Arc<AtomicU64>,
}

impl Hasher {
    /// Builds the hasher and its dummy hash (one hash's worth of time at start).
    pub fn new(params: HashParams, limits: HashLimits) -> Result<Self, Error> {
        let params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(OUTPUT_BYTES),
        )
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
        let mut random = [0u8; 32];
        fill_random(&mut random)?;
        let mut memory = vec![Block::new(); params.block_count()];
        let started = std::time::Instant::now();
        let dummy_hash = hash_now(&params, &random, &mut memory)?;
        drop(memory);
        let first_micros = started.elapsed().as_micros().try_into().unwrap_or(u64::MAX);
        let limits = HashLimits {
            concurrency: limits.concurrency.max(1),
            ..limits
        };
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(limits.concurrency)),
            // The start-up buffer is not kept (an idle server holds no hashing memory): the
            // first hashes under load make the buffers the rest reuse.
            memory: Arc::new(Mutex::new(Vec::new())),
            dummy_hash: dummy_hash.into(),
            limits,
            workers: HashWorkers::start(limits.concurrency)?,
            admitted: Arc::new(AtomicUsize::new(0)),
            average_micros: Arc::new(AtomicU64::new(first_micros)),
        })
    }

    /// A place in the hashing line, taken before any other work of a request that will
    /// hash, so a request the line cannot take is refused before it costs a database read.
    pub fn reserve(&self) -> Result<Reservation, Error> {
        let capacity = self.limits.concurrency + self.limits.queue;
        let admitted = self.admitted.fetch_add(1, Ordering::AcqRel);
        let reservation = Reservation(self.admitted.clone());
        if admitted >= capacity {
            drop(reservation);
            super::events::shed("queue_full");
            tracing::debug!(capacity, "hashing line full; request refused");
            return Err(self.overloaded());
        }
        Ok(reservation)
    }

    /// Hashes a new password into a PHC string (`$argon2id$v=19$m=…`).
    pub async fn hash(
        &self,
        place: Reservation,
        password: &str,
        deadline: Option<Instant>,
    ) -> Result<String, Error> {
        let params = self.params.clone();
        let password = password.to_owned();
        self.run_bounded(place, deadline, move |memory| {
            hash_now(&params, password.as_bytes(), memory)
        })
        .await?
    }

    /// Checks `password` against `stored` (a PHC string), or against the dummy hash when
    /// there is no user, which always fails but takes the same time.
    pub async fn verify(
        &self,
        place: Reservation,
        password: &str,
        stored: Option<&str>,
        deadline: Option<Instant>,
    ) -> Result<bool, Error> {
        let password = password.to_owned();
        let exists = stored.is_some();
        let stored: Arc<str> = stored.map_or_else(|| self.dummy_hash.clone(), Arc::from);
        let matched = self
            .run_bounded(place, deadline, move |memory| {
                verify_now(&stored, password.as_bytes(), memory)
            })
            .await?;
        Ok(exists && matched)
    }

    /// Runs `work` on a hashing thread with a pooled buffer once a permit is free, inside
    /// the caller's span; stops waiting at the deadline.
    async fn run_bounded<T: Send + 'static>(
        &self,
        _place: Reservation,
        deadline: Option<Instant>,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, Error> {
        let longest = Instant::now() + self.limits.max_wait;
        let deadline = deadline.map_or(longest, |deadline| deadline.min(longest));
        let waiting = Waiting::start();
        let permit =
            match tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned()).await {
                Ok(permit) => {
                    drop(waiting);
                    permit.map_err(|e| Error::Internal(format!("hash semaphore closed: {e}")))?
                }
                Err(_) => {
                    drop(waiting);
                    super::events::shed("wait_timeout");
                    tracing::debug!("gave up waiting for a hashing slot at the deadline");
                    return Err(self.overloaded());
                }
            };
        let pool = self.memory.clone();
        let blocks = self.params.block_count();
        let average = self.average_micros.clone();
        let span = tracing::Span::current();
        self.workers
            .run(move || {
                let _entered = span.enter();
                // Holding a permit guarantees a buffer is free or may be made.
                let mut memory = take_buffer(&pool).unwrap_or_else(|| vec![Block::new(); blocks]);
                let started = std::time::Instant::now();
                let result = work(&mut memory);
                record_duration(&average, started.elapsed());
                return_buffer(&pool, memory);
                drop(permit);
                result
            })
            .await
    }

    /// Refusal with the time the whole line takes to drain at the recent pace (≥ 1 s).
    fn overloaded(&self) -> Error {
        let line = (self.limits.concurrency + self.limits.queue) as u64;
        let each = self.average_micros.load(Ordering::Relaxed);
        let drain_micros = line.saturating_mul(each) / self.limits.concurrency as u64;
        Error::Overloaded {
            retry_after: drain_micros.div_ceil(1_000_000).max(1),
        }
    }
}

/// A request waiting for a hashing slot, for the queue's gauge and the wait's histogram;
/// leaving the wait (a slot, the deadline, or the caller gone) counts once, on drop.
struct Waiting(Instant);

impl Waiting {
    fn start() -> Self {
        super::events::hash_waiting(1.0);
        Self(Instant::now())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        super::events::hash_waiting(-1.0);
        super::events::hash_waited(self.0.elapsed().as_secs_f64());
    }
}

/// A request's place in the hashing line; leaving (done, refused or cancelled) frees it.
pub struct Reservation(Arc<AtomicUsize>);

impl Drop for Reservation {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Folds one hash's duration into the moving average (weight 1/8).
fn record_duration(average: &AtomicU64, took: Duration) {
    let took: u64 = took.as_micros().try_into().unwrap_or(u64::MAX);
    let old = average.load(Ordering::Relaxed);
    let new = old - old / 8 + took / 8;
    average.store(new, Ordering::Relaxed);
}

fn take_buffer(pool: &Mutex<Vec<Vec<Block>>>) -> Option<Vec<Block>> {
    pool.lock().ok()?.pop()
}

fn return_buffer(pool: &Mutex<Vec<Vec<Block>>>, memory: Vec<Block>) {
    if let Ok(mut pool) = pool.lock() {
        pool.push(memory);
    }
}

fn hash_now(params: &Params, password: &[u8], memory: &mut Vec<Block>) -> Result<String, Error> {
    let fail = |e: &dyn std::fmt::Display| Error::Internal(format!("argon2 hash: {e}"));
    let mut salt = [0u8; SALT_BYTES];
    fill_random(&mut salt)?;
    let mut output = [0u8; OUTPUT_BYTES];
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut output, &mut memory[..blocks])
        .map_err(|e| fail(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| fail(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| fail(&e))?),
        hash: Some(Output::new(&output).map_err(|e| fail(&e))?),
    };
    Ok(phc.to_string())
}

/// Recomputes `stored`'s hash of `password` with `stored`'s own parameters (so hashes made
/// under older settings, or by Django and imported, keep verifying) and compares in
/// constant time. Anything unparsable is a mismatch, never an error a client could see.
fn verify_now(stored: &str, password: &[u8], memory: &mut Vec<Block>) -> bool {
    if django_hashes::is_django_hash(stored) {
        return match django_hashes::parse(stored) {
            Some(DjangoHash::Pbkdf2 {
                sha1,
                iterations,
                salt,
                expected,
            }) => django_hashes::pbkdf2_matches(sha1, iterations, salt, &expected, password),
            Some(DjangoHash::Argon2(phc)) => verify_phc(phc, password, memory),
            None => false,
        };
    }
    verify_phc(stored, password, memory)
}

/// [`verify_now`] for an argon2 PHC string.
fn verify_phc(stored: &str, password: &[u8], memory: &mut Vec<Block>) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else {
        return false;
    };
    let Ok(version) = phc.version.map_or(Ok(Version::V0x13), Version::try_from) else {
        return false;
    };
    let Ok(params) = Params::try_from(&phc) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        // Made with more memory than today's setting: grow this pooled buffer to match.
        memory.resize(blocks, Block::new());
    }
    let mut output = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt.as_ref(),
        &mut output,
        &mut memory[..blocks],
    );
    computed.is_ok() && Output::new(&output).is_ok_and(|output| output == *expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(concurrency: usize, queue: usize) -> HashLimits {
        HashLimits {
            concurrency,
            queue,
            max_wait: Duration::from_secs(30),
        }
    }

    async fn hash(hasher: &Hasher, password: &str) -> Result<String, Error> {
        hasher.hash(hasher.reserve()?, password, None).await
    }

    async fn verify(hasher: &Hasher, password: &str, stored: Option<&str>) -> Result<bool, Error> {
        hasher
            .verify(hasher.reserve()?, password, stored, None)
            .await
    }

    fn cheap() -> Hasher {
        let params = HashParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        Hasher::new(params, limits(2, 64)).expect("valid parameters")
    }

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_fail() -> Result<(), Error> {
        let hasher = cheap();
        let hash = hash(&hasher, "s3cret-passphrase").await?;
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(!hash.contains("s3cret"));
        assert!(verify(&hasher, "s3cret-passphrase", Some(&hash)).await?);
        assert!(!verify(&hasher, "wrong", Some(&hash)).await?);
        Ok(())
    }

    #[tokio::test]
    async fn unknown_users_never_verify_even_with_the_dummy_password() -> Result<(), Error> {
        let hasher = cheap();
        assert!(!verify(&hasher, "anything", None).await?);
        assert!(!verify(&hasher, "", None).await?);
        Ok(())
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_a_failed_check_not_an_error() -> Result<(), Error> {
        assert!(!verify(&cheap(), "x", Some("not-a-phc-string")).await?);
        Ok(())
    }

    #[tokio::test]
    async fn hashes_made_with_other_parameters_still_verify() -> Result<(), Error> {
        let old = Hasher::new(
            HashParams {
                memory_kib: 128,
                iterations: 2,
                parallelism: 1,
            },
            limits(1, 1),
        )?;
        let hash = hash(&old, "s3cret-passphrase").await?;
        let new = cheap();
        assert!(verify(&new, "s3cret-passphrase", Some(&hash)).await?);
        assert!(!verify(&new, "s3cret-passphrase!", Some(&hash)).await?);
        Ok(())
    }

    #[tokio::test]
    async fn hashes_from_the_argon2_crates_own_api_verify() -> Result<(), Error> {
        use argon2::PasswordHasher as _;
        let params = Params::new(64, 1, 1, None).unwrap();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let hash = argon2.hash_password(b"interop").unwrap().to_string();
        assert!(verify(&cheap(), "interop", Some(&hash)).await?);
        Ok(())
    }

    #[tokio::test]
    async fn the_pool_never_holds_more_buffers_than_permits() -> Result<(), Error> {
        let hasher = cheap();
        let work = (0..16).map(|i| {
            let hasher = hasher.clone();
            async move { hash(&hasher, &format!("password-{i}")).await }
        });
        for result in futures::future::join_all(work).await {
            result?;
        }
        let idle = hasher.memory.lock().unwrap().len();
        assert!((1..=2).contains(&idle), "{idle} buffers for 2 permits");
        Ok(())
    }

    #[test]
    fn parameters_below_argon2_minimums_are_rejected() {
        let params = HashParams {
            memory_kib: 1,
            iterations: 1,
            parallelism: 1,
        };
        assert!(Hasher::new(params, limits(1, 1)).is_err());
    }
}
