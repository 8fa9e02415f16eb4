//! Deterministic runs: virtual clocks and seeded random give the same bytes every run, and a
//! seed that follows the input; normal runs see the host's clocks and fresh random.

mod common;

use std::time::Duration;

use bytes::Bytes;
use vyr_core::determinism::{STEP_NS, WALL_EPOCH_NS};
use vyr_core::TaskSpec;

/// Writes 16 random bytes, the realtime and the monotonic clock (8 bytes each, LE) to stdout.
const OBSERVER: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $random_get (i32.const 1024) (i32.const 16)))
    (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 1040)))
    (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 1048)))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 32))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

fn observe(node: &common::Node, digest: &str, input: &'static [u8], deterministic: bool) -> Bytes {
    let spec = TaskSpec { input: Bytes::from_static(input), deterministic, ..TaskSpec::default() };
    let task = common::submit(&node.runtime, digest, spec).unwrap();
    let outcome = task.wait(Some(Duration::from_secs(30))).unwrap();
    assert_eq!(outcome.exit_code, Some(0), "{}", outcome.reason);
    assert_eq!(outcome.invocation.deterministic, deterministic);
    assert_eq!(outcome.stdout.len(), 32);
    outcome.stdout.clone()
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

#[test]
fn a_deterministic_run_gives_the_same_bytes_every_time() {
    let node = common::node();
    let digest = node.put_wat("observer", OBSERVER);
    let first = observe(&node, &digest, b"in", true);
    assert_eq!(observe(&node, &digest, b"in", true), first);
    assert_eq!(u64_at(&first, 16), WALL_EPOCH_NS);
    assert_eq!(u64_at(&first, 24), 0); // the monotonic clock starts at 0
    assert!(STEP_NS > 0);
    // Another input, another seed: the random bytes follow what the task ran on.
    assert_ne!(observe(&node, &digest, b"other", true)[..16], first[..16]);
}

#[test]
fn a_normal_run_sees_the_host_clock_and_fresh_random() {
    let node = common::node();
    let digest = node.put_wat("observer", OBSERVER);
    let (a, b) = (observe(&node, &digest, b"in", false), observe(&node, &digest, b"in", false));
    assert_ne!(a[..16], b[..16]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    assert!(u64_at(&a, 16).abs_diff(now) < 60_000_000_000, "realtime {} vs now {now}", u64_at(&a, 16));
}
