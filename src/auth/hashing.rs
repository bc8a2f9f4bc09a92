//! Password hashing with argon2id, off the async workers and bounded in memory.
//!
//! One hash costs ~20 ms of CPU and `m_cost` KiB of memory (19 MiB by default). Each runs on
//! tokio's blocking pool, so async workers keep serving cheap calls (GetMe, Refresh) during a
//! login flood, and behind a semaphore, so at most `concurrency` hashes run at once: the
//! rest wait their turn instead of allocating.
//!
//! The argon2 working memory comes from a pool of `concurrency` buffers, allocated once and
//! reused. Letting argon2 allocate per hash looked bounded but was not: the allocator kept
//! each freed 19 MiB block in whichever thread arena had used it, and resident memory grew
//! to ~800 MiB under a login flood. With the pool, hashing memory is exactly
//! `concurrency × m_cost`, however long the flood lasts.
//!
//! Verifying an unknown user runs against a dummy hash made with the same parameters, so it
//! costs exactly what a real check costs.

use std::sync::{Arc, Mutex};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::phc::{Output, ParamsString, Salt},
};
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::error::Error;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
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
}

impl Hasher {
    /// Builds the hasher and its dummy hash (one hash's worth of time at start).
    pub fn new(params: HashParams, concurrency: usize) -> Result<Self, Error> {
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
        let dummy_hash = hash_now(&params, &random, &mut memory)?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            memory: Arc::new(Mutex::new(vec![memory])),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Hashes a new password into a PHC string (`$argon2id$v=19$m=…`).
    pub async fn hash(&self, password: &str) -> Result<String, Error> {
        let params = self.params.clone();
        let password = password.to_owned();
        self.run_bounded(move |memory| hash_now(&params, password.as_bytes(), memory))
            .await?
    }

    /// Checks `password` against `stored` (a PHC string), or against the dummy hash when
    /// there is no user, which always fails but takes the same time.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, Error> {
        let password = password.to_owned();
        let exists = stored.is_some();
        let stored: Arc<str> = stored.map_or_else(|| self.dummy_hash.clone(), Arc::from);
        let matched = self
            .run_bounded(move |memory| verify_now(&stored, password.as_bytes(), memory))
            .await?;
        Ok(exists && matched)
    }

    /// Runs `work` on the blocking pool with a pooled buffer once a permit is free, inside
    /// the caller's span.
    async fn run_bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(format!("hash semaphore closed: {e}")))?;
        let pool = self.memory.clone();
        let blocks = self.params.block_count();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            // Holding a permit guarantees a buffer is free or may be made.
            let mut memory = take_buffer(&pool).unwrap_or_else(|| vec![Block::new(); blocks]);
            let result = work(&mut memory);
            return_buffer(&pool, memory);
            drop(permit);
            result
        })
        .in_current_span()
        .await
        .map_err(|e| Error::Internal(format!("hashing task failed: {e}")))
    }
}

fn take_buffer(pool: &Mutex<Vec<Vec<Block>>>) -> Option<Vec<Block>> {
    pool.lock().ok()?.pop()
}

fn return_buffer(pool: &Mutex<Vec<Vec<Block>>>, memory: Vec<Block>) {
    if let Ok(mut pool) = pool.lock() {
        pool.push(memory);
    }
}

fn fill_random(bytes: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(bytes).map_err(|e| Error::Internal(format!("getrandom: {e}")))
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
/// under older settings keep verifying) and compares in constant time. Anything unparsable
/// is a mismatch, never an error a client could see.
fn verify_now(stored: &str, password: &[u8], memory: &mut Vec<Block>) -> bool {
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

    fn cheap() -> Hasher {
        let params = HashParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        Hasher::new(params, 2).expect("valid parameters")
    }

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_fail() -> Result<(), Error> {
        let hasher = cheap();
        let hash = hasher.hash("s3cret-passphrase").await?;
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(!hash.contains("s3cret"));
        assert!(hasher.verify("s3cret-passphrase", Some(&hash)).await?);
        assert!(!hasher.verify("wrong", Some(&hash)).await?);
        Ok(())
    }

    #[tokio::test]
    async fn unknown_users_never_verify_even_with_the_dummy_password() -> Result<(), Error> {
        let hasher = cheap();
        assert!(!hasher.verify("anything", None).await?);
        assert!(!hasher.verify("", None).await?);
        Ok(())
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_a_failed_check_not_an_error() -> Result<(), Error> {
        assert!(!cheap().verify("x", Some("not-a-phc-string")).await?);
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
            1,
        )?;
        let hash = old.hash("s3cret-passphrase").await?;
        let new = cheap();
        assert!(new.verify("s3cret-passphrase", Some(&hash)).await?);
        assert!(!new.verify("s3cret-passphrase!", Some(&hash)).await?);
        Ok(())
    }

    #[tokio::test]
    async fn hashes_from_the_argon2_crates_own_api_verify() -> Result<(), Error> {
        use argon2::PasswordHasher as _;
        let params = Params::new(64, 1, 1, None).unwrap();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let hash = argon2.hash_password(b"interop").unwrap().to_string();
        assert!(cheap().verify("interop", Some(&hash)).await?);
        Ok(())
    }

    #[tokio::test]
    async fn the_pool_never_holds_more_buffers_than_permits() -> Result<(), Error> {
        let hasher = cheap();
        let work = (0..16).map(|i| {
            let hasher = hasher.clone();
            async move { hasher.hash(&format!("password-{i}")).await }
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
        assert!(Hasher::new(params, 1).is_err());
    }
}
