//! Deterministic runs: what a guest could read from the host that differs between runs (the
//! wall clock, the monotonic clock, random bytes) comes from virtual sources instead, so the same
//! artifact, input and states give byte-identical output on any node. Everything else a guest
//! can observe is listed in docs/receipts.md ("What a deterministic run does not fix").
//!
//! - Wall clock: starts at `WALL_EPOCH_NS` (2025-01-01T00:00:00Z) and advances `STEP_NS` on every
//!   read, so a guest that measures elapsed time sees progress and never a repeat.
//! - Monotonic clock: starts at 0 and advances `STEP_NS` on every read.
//! - Random (`random_get`, secure and insecure): ChaCha-based `StdRng`s seeded from
//!   sha256("vyr-deterministic-v1" NUL artifact-digest input-digest), with a domain byte per use.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use sha2::{Digest as _, Sha256};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtxBuilder};

use crate::digest::Digest;

/// 2025-01-01T00:00:00Z in Unix nanoseconds.
pub const WALL_EPOCH_NS: u64 = 1_735_689_600_000_000_000;
/// How far either virtual clock moves per read: 1 µs.
pub const STEP_NS: u64 = 1_000;

/// The seed of a deterministic run: a function of what ran and on what.
pub fn seed(artifact: &Digest, input: &Digest) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"vyr-deterministic-v1\0");
    hasher.update(artifact.hex().as_bytes());
    hasher.update(input.hex().as_bytes());
    hasher.finalize().into()
}

/// Points the context's clocks and random at the virtual sources derived from `seed`.
pub fn virtualize(builder: &mut WasiCtxBuilder, seed: [u8; 32]) {
    let derived = |domain: u8| -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(seed);
        hasher.update([domain]);
        hasher.finalize().into()
    };
    let insecure_seed = derived(3);
    let mut low = [0u8; 16];
    low.copy_from_slice(&insecure_seed[..16]);
    builder
        .wall_clock(VirtualClock::starting_at(WALL_EPOCH_NS))
        .monotonic_clock(VirtualClock::starting_at(0))
        .secure_random(StdRng::from_seed(derived(1)))
        .insecure_random(StdRng::from_seed(derived(2)))
        .insecure_random_seed(u128::from_le_bytes(low));
}

/// A clock that advances a fixed step per read.
pub struct VirtualClock {
    next_ns: AtomicU64,
}

impl VirtualClock {
    pub fn starting_at(ns: u64) -> Self {
        VirtualClock { next_ns: AtomicU64::new(ns) }
    }

    fn read(&self) -> u64 {
        self.next_ns.fetch_add(STEP_NS, Ordering::Relaxed)
    }
}

impl HostWallClock for VirtualClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(STEP_NS)
    }

    fn now(&self) -> Duration {
        Duration::from_nanos(self.read())
    }
}

impl HostMonotonicClock for VirtualClock {
    fn resolution(&self) -> u64 {
        STEP_NS
    }

    fn now(&self) -> u64 {
        self.read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_depends_on_artifact_and_input() {
        let (a, b) = (Digest::of(b"a"), Digest::of(b"b"));
        assert_eq!(seed(&a, &b), seed(&a, &b));
        assert_ne!(seed(&a, &b), seed(&b, &a));
    }

    #[test]
    fn a_virtual_clock_advances_one_step_per_read() {
        let clock = VirtualClock::starting_at(10);
        assert_eq!(HostMonotonicClock::now(&clock), 10);
        assert_eq!(HostMonotonicClock::now(&clock), 10 + STEP_NS);
    }
}
