//! Doing something at most once per interval of the core's clock, from whichever request
//! gets there first: pruning, sweeping the per-client limiter, and log lines that a flood
//! would otherwise repeat thousands of times a second.
//!
//! The core has no background tasks of its own; housekeeping rides on requests instead, so
//! it happens exactly as often as there is traffic to clean up after, follows the injected
//! clock in tests, and needs nothing started or stopped beside the server.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Says "due" at most once per `interval` seconds, to one caller.
#[derive(Debug)]
pub struct Periodic {
    interval: i64,
    /// The earliest time (Unix seconds) the next `due` may be true.
    next_at: AtomicI64,
}

impl Periodic {
    /// Due at the first call, then once per `interval` seconds (at least one).
    pub const fn new(interval: i64) -> Self {
        Self {
            interval: if interval < 1 { 1 } else { interval },
            next_at: AtomicI64::new(i64::MIN),
        }
    }

    /// Whether the caller should act now; of callers racing at one instant, one wins.
    pub fn due(&self, now: i64) -> bool {
        let next_at = self.next_at.load(Ordering::Relaxed);
        now >= next_at
            && self
                .next_at
                .compare_exchange(
                    next_at,
                    now.saturating_add(self.interval),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}

/// A log line that a flood of events writes at most once per interval, saying how many
/// events it stood for.
#[derive(Debug)]
pub struct SampledLine {
    periodic: Periodic,
    /// Events since the last line written.
    unwritten: AtomicU64,
}

impl SampledLine {
    pub const fn new(interval: i64) -> Self {
        Self {
            periodic: Periodic::new(interval),
            unwritten: AtomicU64::new(0),
        }
    }

    /// Counts one event; `Some(n)` when a line should be written now, for the `n` events
    /// (this one included) since the last line.
    pub fn sample(&self, now: i64) -> Option<u64> {
        self.unwritten.fetch_add(1, Ordering::Relaxed);
        self.periodic
            .due(now)
            .then(|| self.unwritten.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_once_per_interval() {
        let periodic = Periodic::new(60);
        assert!(periodic.due(1_000));
        assert!(!periodic.due(1_000));
        assert!(!periodic.due(1_059));
        assert!(periodic.due(1_060));
        assert!(!periodic.due(1_060));
        // A clock that jumps far ahead is due once, not once per missed interval.
        assert!(periodic.due(10_000));
        assert!(!periodic.due(10_001));
    }

    #[test]
    fn of_racing_callers_one_is_due() {
        let periodic = std::sync::Arc::new(Periodic::new(60));
        let winners: usize = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..8)
                .map(|_| {
                    let periodic = periodic.clone();
                    scope.spawn(move || usize::from(periodic.due(5)))
                })
                .collect();
            racers.into_iter().map(|racer| racer.join().unwrap()).sum()
        });
        assert_eq!(winners, 1);
    }

    #[test]
    fn a_sampled_line_counts_the_events_it_stands_for() {
        let line = SampledLine::new(60);
        assert_eq!(line.sample(100), Some(1));
        for _ in 0..41 {
            assert_eq!(line.sample(130), None);
        }
        assert_eq!(line.sample(160), Some(42));
        assert_eq!(line.sample(161), None);
    }
}
