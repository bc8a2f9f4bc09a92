//! Log lines written to stderr in batches, not one `write` each.
//!
//! The server logs one line per request. Written one by one, each line is a system call,
//! and those were about a tenth of the CPU a no-op request costs (BENCHMARKS.md). So once
//! the server is up ([`Flushing::batch_from_now`]; everything before, start-up included,
//! is written at once), lines at INFO and below collect in a buffer, which a thread of its own writes out in one call
//! every [`FLUSH_EVERY`]; a line that takes the buffer past [`MAX_PENDING`] writes it at
//! once instead, so the buffer stays small and a flood of lines slows its writers rather
//! than growing memory. A WARN or ERROR line writes what is pending and then itself, at
//! once and in order: a problem reaches the log without delay. Dropping the [`Flushing`]
//! handle (the end of `main`) writes what is left.
//!
//! The price is the one nginx's `access_log … buffer= flush=` asks: if the process is
//! killed outright, the request lines of its last [`FLUSH_EVERY`] can be lost.

use std::{
    io::Write,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// How many bytes may wait: a few hundred request lines.
pub const MAX_PENDING: usize = 64 * 1024;

/// What the writers of lines share.
struct Shared<W> {
    /// Lines waiting. Held only to append a line, or to swap the lines out for writing.
    pending: Mutex<Vec<u8>>,
    /// The output, with the buffer last written from (empty, ready to swap in). Whoever
    /// writes takes it before letting go of `pending`, so batches leave in order, and
    /// the `write` itself happens with `pending` free for the next lines.
    output: Mutex<Output<W>>,
    /// Off until [`Flushing::batch_from_now`]: until then every line is written at once.
    batching: AtomicBool,
}

struct Output<W> {
    out: W,
    spare: Vec<u8>,
}

/// Locks `mutex`, even if a thread panicked holding it: it holds whole lines only.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<W: Write> Shared<W> {
    /// Writes out the lines in `pending`, whose guard it takes.
    fn write_pending(&self, mut pending: MutexGuard<'_, Vec<u8>>) {
        if pending.is_empty() {
            return;
        }
        let mut output = lock(&self.output);
        let output = &mut *output;
        std::mem::swap(&mut *pending, &mut output.spare);
        drop(pending);
        // Nowhere to report a failed write of the log; those lines are dropped.
        let _ = output.out.write_all(&output.spare);
        let _ = output.out.flush();
        output.spare.clear();
    }
}

/// A [`MakeWriter`] whose lines below WARN wait to be written together.
pub struct BatchedLines<W> {
    shared: Arc<Shared<W>>,
}

impl<W> Clone for BatchedLines<W> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<W: Write + Send + 'static> BatchedLines<W> {
    /// Lines for `out`, and the thread that writes them every [`FLUSH_EVERY`] until the
    /// returned handle is dropped.
    pub fn start(out: W) -> (Self, Flushing<W>) {
        Self::start_every(out, FLUSH_EVERY)
    }

    fn start_every(out: W, every: Duration) -> (Self, Flushing<W>) {
        let lines = Self {
            shared: Arc::new(Shared {
                pending: Mutex::new(Vec::with_capacity(MAX_PENDING)),
                output: Mutex::new(Output {
                    out,
                    spare: Vec::with_capacity(MAX_PENDING),
                }),
                batching: AtomicBool::new(false),
            }),
        };
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let flushed = lines.clone();
        let thread = thread::Builder::new()
            .name("authd-log".into())
            .spawn(move || {
                // Woken by the interval, or by the handle going away (a disconnect).
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(every)
                {
                    flushed.write_pending();
                }
            })
            .ok();
        let flushing = Flushing {
            lines: lines.clone(),
            stop: Some(stop),
            thread,
        };
        (lines, flushing)
    }

    fn write_pending(&self) {
        self.shared.write_pending(lock(&self.shared.pending));
    }
}

/// Writes what is pending when dropped, after stopping the flushing thread.
pub struct Flushing<W: Write + Send + 'static> {
    lines: BatchedLines<W>,
    /// Dropped to stop the thread: its `recv_timeout` then sees the channel disconnected.
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl<W: Write + Send + 'static> Flushing<W> {
    /// Lines below WARN wait to be written together from now on. Called once the server
    /// is serving and its signal handlers are in place, so a start-up cut short by a
    /// signal still leaves every line it wrote.
    pub fn batch_from_now(&self) {
        self.lines.shared.batching.store(true, Ordering::Relaxed);
    }
}

impl<W: Write + Send + 'static> Drop for Flushing<W> {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.lines.write_pending();
    }
}

/// One line on its way: kept for later, or (`urgent`) written now with all before it. The
/// fmt layer hands over each line whole, in one `write_all`, and `write` takes all of it,
/// so lines of different threads never interleave.
pub struct Line<'a, W> {
    lines: &'a BatchedLines<W>,
    urgent: bool,
}

impl<W: Write + Send + 'static> Write for Line<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut pending = lock(&self.lines.shared.pending);
        pending.extend_from_slice(bytes);
        let batching = self.lines.shared.batching.load(Ordering::Relaxed);
        if self.urgent || !batching || pending.len() >= MAX_PENDING {
            self.lines.shared.write_pending(pending);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a, W: Write + Send + 'static> MakeWriter<'a> for BatchedLines<W> {
    type Writer = Line<'a, W>;

    /// A line of unknown level is treated as urgent.
    fn make_writer(&'a self) -> Self::Writer {
        Line {
            lines: self,
            urgent: true,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        Line {
            lines: self,
            // tracing orders levels by verbosity: ERROR < WARN < INFO < DEBUG < TRACE.
            urgent: *meta.level() <= Level::WARN,
        }
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::prelude::*;

    use super::*;

    /// An output the test can read: what reached it, write by write.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<String>>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(bytes).into_owned());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn writes(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
        fn text(&self) -> String {
            self.writes().concat()
        }
    }

    /// A subscriber writing to `sink` through lines flushed `every` so long.
    fn logging_to(sink: &Sink, every: Duration) -> (tracing::Dispatch, Flushing<Sink>) {
        let (lines, flushing) = BatchedLines::start_every(sink.clone(), every);
        flushing.batch_from_now();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .without_time()
                .with_writer(lines),
        );
        (tracing::Dispatch::new(subscriber), flushing)
    }

    const NEVER: Duration = Duration::from_secs(3_600);

    #[test]
    fn info_lines_wait_for_the_interval() {
        let sink = Sink::default();
        let (dispatch, _flushing) = logging_to(&sink, NEVER);
        tracing::dispatcher::with_default(&dispatch, || tracing::info!("request"));
        assert!(sink.writes().is_empty(), "{:?}", sink.writes());
    }

    #[test]
    fn the_lines_of_an_interval_reach_the_output_in_one_write() {
        let sink = Sink::default();
        // Long enough that the three lines are in before the first write.
        let (dispatch, _flushing) = logging_to(&sink, Duration::from_millis(500));
        tracing::dispatcher::with_default(&dispatch, || {
            for n in 0..3 {
                tracing::info!(n, "request");
            }
        });
        let waited = std::time::Instant::now();
        while sink.writes().is_empty() && waited.elapsed() < Duration::from_secs(10) {
            thread::sleep(Duration::from_millis(5));
        }
        let writes = sink.writes();
        assert_eq!(writes.len(), 1, "one write for three lines: {writes:?}");
        assert_eq!(writes[0].lines().count(), 3, "{writes:?}");
    }

    #[test]
    fn until_the_server_is_up_every_line_is_written_at_once() {
        let sink = Sink::default();
        let (lines, flushing) = BatchedLines::start_every(sink.clone(), NEVER);
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::registry()
                .with(tracing_subscriber::fmt::layer().with_writer(lines)),
        );
        tracing::dispatcher::with_default(&dispatch, || tracing::info!("listening"));
        assert!(sink.text().contains("listening"), "{:?}", sink.writes());
        flushing.batch_from_now();
        tracing::dispatcher::with_default(&dispatch, || tracing::info!("request"));
        assert!(!sink.text().contains("request"), "{:?}", sink.writes());
    }

    #[test]
    fn a_warning_is_written_at_once_after_the_lines_before_it() {
        let sink = Sink::default();
        let (dispatch, _flushing) = logging_to(&sink, NEVER);
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::info!("first");
            tracing::warn!("second");
            tracing::info!("third");
        });
        let text = sink.text();
        let first = text
            .find("first")
            .expect("the info line before the warning");
        let second = text.find("second").expect("the warning, written at once");
        assert!(first < second, "{text}");
        assert!(!text.contains("third"), "{text}");
    }

    #[test]
    fn dropping_the_handle_writes_what_is_left() {
        let sink = Sink::default();
        let (dispatch, flushing) = logging_to(&sink, NEVER);
        tracing::dispatcher::with_default(&dispatch, || tracing::info!("last words"));
        drop(flushing);
        assert!(sink.text().contains("last words"), "{:?}", sink.writes());
    }

    #[test]
    fn a_full_buffer_is_written_by_the_line_that_fills_it() {
        let sink = Sink::default();
        let (dispatch, _flushing) = logging_to(&sink, NEVER);
        let filler = "x".repeat(1_000);
        tracing::dispatcher::with_default(&dispatch, || {
            for _ in 0..(MAX_PENDING / 1_000 + 1) {
                tracing::info!(%filler, "request");
            }
        });
        let writes = sink.writes();
        assert!(!writes.is_empty(), "the buffer grew past its bound");
        assert!(writes[0].len() >= MAX_PENDING, "{}", writes[0].len());
    }
}
