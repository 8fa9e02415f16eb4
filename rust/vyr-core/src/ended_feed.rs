//! The node's ended feed: every outcome of a task submitted with `publish_end`, delivered once,
//! in batches, to one consumer (the daemon's journal writer, or the telemetry dispatcher).
//!
//! The consumer blocks in `next_batch` (a binding releases the GIL there), so ending a task
//! never calls into Python from a worker thread. `wake` lets the consumer's other producers
//! (e.g. journal inserts queued in Python) share the same wait.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::outcome::TaskOutcome;

#[derive(Default)]
struct Queue {
    outcomes: VecDeque<Arc<TaskOutcome>>,
    published: u64,
    woken: bool,
    closed: bool,
}

/// Outcomes waiting for the consumer.
#[derive(Default)]
pub struct EndedFeed {
    queue: Mutex<Queue>,
    ready: Condvar,
}

/// What one wait returned.
pub struct Batch {
    pub outcomes: Vec<Arc<TaskOutcome>>,
    /// The feed is closed (the node shut down) and empty: the consumer can stop.
    pub closed: bool,
}

impl EndedFeed {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds an outcome and wakes the consumer.
    pub fn publish(&self, outcome: Arc<TaskOutcome>) {
        let mut queue = self.lock();
        queue.outcomes.push_back(outcome);
        queue.published += 1;
        drop(queue);
        self.ready.notify_one();
    }

    /// Wakes the consumer without an outcome (another of its sources has work).
    pub fn wake(&self) {
        self.lock().woken = true;
        self.ready.notify_one();
    }

    /// No more outcomes will come; the consumer's next wait returns what is left, then closed.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// Waits until outcomes are queued, a wake, the close, or `timeout`; returns up to `max`
    /// outcomes (maybe none).
    pub fn next_batch(&self, max: usize, timeout: Option<Duration>) -> Batch {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut queue = self.lock();
        while queue.outcomes.is_empty() && !queue.woken && !queue.closed {
            match deadline {
                None => queue = self.ready.wait(queue).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    queue = self.ready.wait_timeout(queue, left).unwrap_or_else(|p| p.into_inner()).0;
                }
            }
        }
        queue.woken = false;
        let take = queue.outcomes.len().min(max.max(1));
        let outcomes: Vec<_> = queue.outcomes.drain(..take).collect();
        let closed = queue.closed && queue.outcomes.is_empty();
        Batch { outcomes, closed }
    }

    /// How many outcomes were ever published (a consumer that has taken this many is current).
    pub fn published(&self) -> u64 {
        self.lock().published
    }
}
