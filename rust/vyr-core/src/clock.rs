//! Phase timestamps: unix nanoseconds derived from one monotonic anchor, so phases of one task
//! are ordered even if the wall clock steps, and still line up with OpenTelemetry's epoch times.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn anchor() -> &'static (Instant, u64) {
    static ANCHOR: OnceLock<(Instant, u64)> = OnceLock::new();
    ANCHOR.get_or_init(|| {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
        (Instant::now(), wall)
    })
}

/// Now, as unix nanoseconds on the monotonic timeline.
pub fn now_unix_nanos() -> u64 {
    let (instant, wall) = anchor();
    wall + instant.elapsed().as_nanos() as u64
}
