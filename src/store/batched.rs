//! A queue that hands every request waiting at one moment to one call of its handler.
//!
//! The store's hot paths pay per statement, not per row: on SQLite each statement is two
//! thread hand-offs to the connection's worker thread, on PostgreSQL one round trip. So
//! the requests that arrive while earlier ones are running wait here, and each free slot
//! takes everything queued (up to [`MAX_BATCH`]) into one handler call, which answers them
//! with a few set-based statements. Under light load a request finds a free slot and goes
//! at once, alone; batches only grow when requests would otherwise queue for a connection.
//!
//! A request is answered by a handler call that *starts after* the request was queued, so
//! it sees every commit made before the request arrived, exactly as its own statement
//! would. A request whose caller gives up still runs with its batch; only its answer is
//! dropped.

use std::{future::Future, sync::Arc};

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::error::Error;

/// Most requests one handler call answers. Large enough that a burst costs a few
/// statements, small enough that one batch stays short.
pub const MAX_BATCH: usize = 64;

/// Requests answered together by one batch, by `queue` (`refresh`, `access_token`,
/// `api_key`): a histogram whose count is the batches and whose sum is the requests.
pub const BATCH_SIZE: &str = "authd_db_batch_size";

type Reply<Resp> = oneshot::Sender<Result<Resp, Error>>;

/// A queue of `Req`s, answered in batches.
pub struct Batches<Req, Resp> {
    queue: mpsc::UnboundedSender<(Req, Reply<Resp>)>,
}

impl<Req: Send + 'static, Resp: Send + 'static> Batches<Req, Resp> {
    /// Starts the task that answers the queue called `name` (its `queue` label on
    /// [`BATCH_SIZE`]), with at most `in_flight` handler calls running at once.
    /// `handle(requests)` returns one answer per request, in their order.
    pub fn start<F, Fut>(name: &'static str, in_flight: usize, handle: F) -> Self
    where
        F: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Result<Resp, Error>>> + Send + 'static,
    {
        let (queue, receiver) = mpsc::unbounded_channel();
        tokio::spawn(answer(name, receiver, in_flight.max(1), Arc::new(handle)));
        Self { queue }
    }

    /// `request`'s answer, from a handler call that starts after this call.
    pub async fn submit(&self, request: Req) -> Result<Resp, Error> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((request, reply))
            .map_err(|_| Error::Internal("the store's request queue has stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("a batched request was dropped".into()))?
    }
}

/// Takes everything queued whenever a slot is free, and hands it to one handler call.
async fn answer<Req, Resp, F, Fut>(
    queue: &'static str,
    mut receiver: mpsc::UnboundedReceiver<(Req, Reply<Resp>)>,
    in_flight: usize,
    handle: Arc<F>,
) where
    Req: Send + 'static,
    Resp: Send + 'static,
    F: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<Result<Resp, Error>>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(in_flight));
    let mut taken = Vec::with_capacity(MAX_BATCH);
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        if receiver.recv_many(&mut taken, MAX_BATCH).await == 0 {
            return; // the store is gone
        }
        let (requests, replies): (Vec<Req>, Vec<Reply<Resp>>) = taken.drain(..).unzip();
        metrics::histogram!(BATCH_SIZE, "queue" => queue).record(requests.len() as f64);
        let handled = handle(requests);
        tokio::spawn(async move {
            let mut answers = handled.await.into_iter();
            for reply in replies {
                let answer = answers.next().unwrap_or_else(|| {
                    Err(Error::Internal(
                        "a batch answered fewer requests than it took".into(),
                    ))
                });
                // A request that gave up waiting has dropped its receiver: nothing to do.
                let _ = reply.send(answer);
            }
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_requests_share_handler_calls_and_each_gets_its_own_answer() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let batches = Arc::new(Batches::start("test", 1, move |requests: Vec<u32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                requests.into_iter().map(|n| Ok(n * 2)).collect()
            }
        }));
        let submitted: Vec<_> = (0..40)
            .map(|n| {
                let batches = batches.clone();
                tokio::spawn(async move { (n, batches.submit(n).await) })
            })
            .collect();
        for request in submitted {
            let (n, answer) = request.await.unwrap();
            assert_eq!(answer.unwrap(), n * 2);
        }
        let calls = calls.load(Ordering::SeqCst);
        assert!(calls < 40, "{calls} handler calls for 40 requests");
    }

    #[tokio::test]
    async fn a_handler_that_answers_too_few_fails_the_rest_not_the_queue() {
        let batches = Batches::start("test", 1, |requests: Vec<u32>| async move {
            requests.into_iter().filter(|n| *n != 0).map(Ok).collect()
        });
        assert!(matches!(batches.submit(0).await, Err(Error::Internal(_))));
        assert_eq!(
            batches.submit(3).await.unwrap(),
            3,
            "the queue still answers"
        );
    }
}
