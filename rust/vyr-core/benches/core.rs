//! Criterion benches of the core hot path: digest, verification, and a warm trivial task
//! (submit → result) against the same module instantiated directly with wasmtime (the floor).
//!
//! Run: `cargo bench -p vyr-core` (results in target/criterion).

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vyr_core::manifest::Manifest;
use vyr_core::signing::KeyPair;
use vyr_core::TaskSpec;
use vyr_core::{Digest, Runtime, RuntimeConfig};

const TRIVIAL: &str = r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")))"#;

fn digest(c: &mut Criterion) {
    let data = vec![7u8; 10 << 20];
    let mut group = c.benchmark_group("digest");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function(BenchmarkId::new("sha256", "10MiB"), |b| b.iter(|| Digest::of(&data)));
    group.finish();
}

fn verify(c: &mut Criterion) {
    let pair = KeyPair::generate();
    let manifest = Manifest::new("bench", b"\0asm", pair.public_key().key_id()).unwrap().to_canonical_bytes();
    let signature = pair.sign(&manifest);
    let key = pair.public_key();
    c.bench_function("verify_strict/manifest", |b| b.iter(|| key.verify(&manifest, &signature).unwrap()));
}

fn warm_task(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RuntimeConfig::new(dir.path().join("home"));
    config.state_dir = Some(dir.path().join("states"));
    let runtime = Runtime::open(config).unwrap();
    let pair = KeyPair::generate();
    runtime.trust().add(&pair.public_key()).unwrap();
    let module = wat::parse_str(TRIVIAL).unwrap();
    let manifest = Manifest::new("trivial", &module, pair.public_key().key_id()).unwrap().to_canonical_bytes();
    let signature = pair.sign(&manifest);
    let digest = Digest::of(&module).to_string();
    runtime.put_artifact(&digest, &manifest, &signature, Arc::from(module.clone())).unwrap();

    let mut group = c.benchmark_group("warm_task");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("vyr_submit_to_result", |b| {
        b.iter(|| {
            runtime
                .submit_task(TaskSpec { artifact: digest.clone(), ..TaskSpec::default() })
                .unwrap()
                .wait(None)
                .unwrap()
        })
    });
    // The floor: plain wasmtime, no WASI, no limits, no task bookkeeping.
    let engine = wasmtime::Engine::default();
    let floor_module = wasmtime::Module::new(&engine, &module).unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    linker.func_wrap("wasi_snapshot_preview1", "proc_exit", |_: i32| {}).unwrap();
    let pre = linker.instantiate_pre(&floor_module).unwrap();
    group.bench_function("wasmtime_instantiate_and_call", |b| {
        b.iter(|| {
            let mut store = wasmtime::Store::new(&engine, ());
            let instance = pre.instantiate(&mut store).unwrap();
            instance.get_typed_func::<(), ()>(&mut store, "_start").unwrap().call(&mut store, ()).unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, digest, verify, warm_task);
criterion_main!(benches);
