//! Test fixtures: a node in a temp dir with one trusted key, and WAT guests.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use vyr_core::manifest::Manifest;
use vyr_core::signing::KeyPair;
use vyr_core::task::TaskRecord;
use vyr_core::{Digest, Runtime, RuntimeConfig, TaskSpec};

pub struct Node {
    pub runtime: Runtime,
    pub key: KeyPair,
    pub dir: tempfile::TempDir,
}

pub fn node() -> Node {
    node_with(|_| {})
}

pub fn node_with(configure: impl FnOnce(&mut RuntimeConfig)) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RuntimeConfig::new(dir.path().join("home"));
    config.state_dir = Some(dir.path().join("states"));
    config.state_linger = Duration::from_millis(200);
    configure(&mut config);
    let runtime = Runtime::open(config).unwrap();
    let key = KeyPair::generate();
    runtime.trust().add(&key.public_key()).unwrap();
    Node { runtime, key, dir }
}

/// (digest, manifest bytes, signature) for `module`.
pub fn signed(key: &KeyPair, name: &str, module: &[u8]) -> (String, Vec<u8>, Vec<u8>) {
    let manifest = Manifest::new(name, module, key.public_key().key_id()).unwrap().to_canonical_bytes();
    let signature = key.sign(&manifest).to_vec();
    (Digest::of(module).to_string(), manifest, signature)
}

impl Node {
    /// Puts a WAT guest and returns its digest.
    pub fn put_wat(&self, name: &str, wat_text: &str) -> String {
        let module = wat::parse_str(wat_text).unwrap();
        let (digest, manifest, signature) = signed(&self.key, name, &module);
        self.runtime.put_artifact(&digest, &manifest, &signature, Arc::from(module)).unwrap();
        digest
    }
}

/// A WASI command whose `_start` body is `body`, with helpers: `$write (ptr len)` to stdout,
/// `$exit (code)`, and `$sleep_ns (i64)`. Memory: page 0 bytes 0..1024 are scratch, data at 1024.
pub fn command(body: &str, data: &str) -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{data}")
  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $exit (param $code i32) (call $proc_exit (local.get $code)))
  (func $sleep_ns (param $ns i64)
    ;; one relative clock subscription at 64, event out at 128, count at 192
    (i64.store (i32.const 64) (i64.const 7))
    (i32.store8 (i32.const 72) (i32.const 0))
    (i32.store (i32.const 80) (i32.const 1))
    (i64.store (i32.const 88) (local.get $ns))
    (i64.store (i32.const 96) (i64.const 0))
    (i32.store16 (i32.const 104) (i32.const 0))
    (drop (call $poll_oneoff (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 192))))
  (func (export "_start") {body}))"#
    )
}

/// Submits `spec` for the artifact `digest`.
pub fn submit(runtime: &Runtime, digest: &str, mut spec: TaskSpec) -> vyr_core::Result<Arc<TaskRecord>> {
    spec.artifact = digest.to_owned();
    runtime.submit_task(spec)
}
