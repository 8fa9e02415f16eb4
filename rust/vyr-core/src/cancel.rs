//! A cancellation signal readable both from the epoch callback (an atomic, no await) and from
//! async code (a watch channel, so a cancel sent before anyone waits is not missed).

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// Cancels one task.
pub struct CancelToken {
    flag: AtomicBool,
    sender: watch::Sender<bool>,
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken { flag: AtomicBool::new(false), sender: watch::channel(false).0 }
    }
}

impl CancelToken {
    /// Requests cancellation; idempotent.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Release);
        self.sender.send_replace(true);
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Resolves once cancellation is requested.
    pub async fn cancelled(&self) {
        let mut receiver = self.sender.subscribe();
        let _ = receiver.wait_for(|cancelled| *cancelled).await;
    }
}
