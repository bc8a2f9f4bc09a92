//! The threads password hashes run on: `concurrency` of them, at a lower CPU priority.
//!
//! argon2 uses all the CPU it is given. With as many hashing threads as cores, hashing at
//! normal priority took the whole machine during a login flood, and every cheap call waited
//! for a time slice: GetMe's p99 was 65 ms during a 1,000-login flood on 2 cores. These
//! threads lower their own priority (nice 10, Linux), so the kernel runs the async workers
//! first whenever they have work, while hashing still gets every cycle nobody else wants:
//! login throughput is unchanged when nothing else runs. They are threads of their own, not
//! tokio's blocking pool, because an unprivileged process can lower a thread's priority but
//! never raise it back.

use std::{
    panic::AssertUnwindSafe,
    sync::{
        Arc, Mutex,
        mpsc::{self, Receiver, Sender},
    },
};

use crate::error::Error;

/// How much lower than normal the hashing threads run (Linux nice value).
const HASHING_NICENESS: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of low-priority threads; they end when the last clone is dropped.
#[derive(Clone)]
pub struct HashWorkers {
    jobs: Sender<Job>,
}

impl HashWorkers {
    pub fn start(threads: usize) -> Result<Self, Error> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("authd-hash-{index}"))
                .spawn(move || work(&queue))
                .map_err(|e| Error::Internal(format!("starting a hashing thread: {e}")))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `work` on one of the threads and waits for its result.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A panic in one hash fails that request only; the thread lives on.
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(work));
            let _ = done.send(outcome);
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::Internal("the hashing threads have stopped".into()))?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(Error::Internal("a password hash panicked".into())),
            Err(_) => Err(Error::Internal("a hashing thread went away".into())),
        }
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        let next = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match next {
            Ok(job) => job(),
            Err(_) => return, // every sender is gone: the hasher was dropped
        }
    }
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // On Linux a thread id names one thread to setpriority, so this nices only this thread.
    let thread = rustix::thread::gettid();
    if let Err(error) = rustix::process::setpriority_process(Some(thread), HASHING_NICENESS) {
        tracing::warn!(%error, "cannot lower the priority of a hashing thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_and_a_panic_fails_only_its_own_job() {
        let workers = HashWorkers::start(2).unwrap();
        assert_eq!(workers.run(|| 40 + 2).await.unwrap(), 42);
        let failed = workers.run(|| -> u8 { panic!("boom") }).await;
        assert!(matches!(failed, Err(Error::Internal(_))));
        assert_eq!(workers.run(|| "still here").await.unwrap(), "still here");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_a_lower_priority() {
        let workers = HashWorkers::start(1).unwrap();
        let niceness = workers
            .run(|| rustix::process::getpriority_process(Some(rustix::thread::gettid())))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(niceness, HASHING_NICENESS);
    }
}
