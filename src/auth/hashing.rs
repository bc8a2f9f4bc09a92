//! Password hashing with argon2id, off the async workers and bounded in memory.
//!
//! One hash costs ~20 ms of CPU and `m_cost` KiB of memory (19 MiB by default). Each runs on
//! tokio's blocking pool, so async workers keep serving cheap calls (GetMe, Refresh) during a
//! login flood, and behind a semaphore, so at most `concurrency` hashes hold memory at once:
//! the rest wait their turn instead of allocating. Verifying an unknown user runs against a
//! dummy hash made with the same parameters, so it costs exactly what a real check costs.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
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

#[derive(Clone)]
pub struct Hasher {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
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
            None,
        )
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| Error::Internal(format!("getrandom: {e}")))?;
        let dummy_hash = hash_now(&argon2, &random)?;
        Ok(Self {
            argon2,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Hashes a new password into a PHC string (`$argon2id$v=19$m=…`).
    pub async fn hash(&self, password: &str) -> Result<String, Error> {
        let argon2 = self.argon2.clone();
        let password = password.to_owned();
        self.run_bounded(move || hash_now(&argon2, password.as_bytes()))
            .await?
    }

    /// Checks `password` against `stored` (a PHC string), or against the dummy hash when
    /// there is no user, which always fails but takes the same time.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, Error> {
        let argon2 = self.argon2.clone();
        let password = password.to_owned();
        let exists = stored.is_some();
        let stored: Arc<str> = stored.map_or_else(|| self.dummy_hash.clone(), Arc::from);
        let matched = self
            .run_bounded(move || {
                let Ok(parsed) = PasswordHash::new(&stored) else {
                    return false;
                };
                argon2.verify_password(password.as_bytes(), &parsed).is_ok()
            })
            .await?;
        Ok(exists && matched)
    }

    /// Runs `work` on the blocking pool once a permit is free, inside the caller's span.
    async fn run_bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(format!("hash semaphore closed: {e}")))?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let result = work();
            drop(permit);
            result
        })
        .in_current_span()
        .await
        .map_err(|e| Error::Internal(format!("hashing task failed: {e}")))
    }
}

fn hash_now(argon2: &Argon2<'_>, password: &[u8]) -> Result<String, Error> {
    argon2
        .hash_password(password)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Internal(format!("argon2 hash: {e}")))
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
        match Hasher::new(params, 2) {
            Ok(hasher) => hasher,
            Err(e) => unreachable!("valid parameters: {e}"),
        }
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
