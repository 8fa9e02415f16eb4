//! The wasmtime engine: configuration, the WASI linker, compilation and the on-disk cache of
//! compiled code keyed by (artifact digest, engine fingerprint).

use std::hash::Hasher;
use std::path::PathBuf;

use sha2::{Digest as _, Sha256};
use wasmtime::{Config, Engine, ExternType, InstancePre, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig};

use crate::artifact::VerifiedArtifact;
use crate::error::{Result, VyrError};
use crate::fsutil::{ensure_private_dir, write_atomic};
use crate::limits::TaskCtx;

/// Engine settings that shape the instance pool.
#[derive(Clone, Copy, Debug)]
pub struct EngineSettings {
    /// The largest linear memory any task may be granted.
    pub max_memory_bytes: u64,
    /// How many instances may exist at once (bounds concurrently running tasks).
    pub pool_slots: u32,
}

/// A compiled module ready to instantiate, and whether it came from the disk cache.
pub struct Prepared {
    pub instance_pre: InstancePre<TaskCtx>,
    pub cache_hit: bool,
}

/// One wasmtime engine per node, shared by all tasks.
pub struct WasmEngine {
    engine: Engine,
    linker: Linker<TaskCtx>,
    cache_dir: PathBuf,
}

impl WasmEngine {
    /// Builds the engine. `cache_root/<fingerprint>/` holds compiled code.
    pub fn new(cache_root: PathBuf, settings: EngineSettings) -> Result<Self> {
        let engine = Engine::new(&config(settings)).map_err(|e| VyrError::Internal(format!("engine: {e:#}")))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |ctx: &mut TaskCtx| &mut ctx.wasi)
            .map_err(|e| VyrError::Internal(format!("linker: {e:#}")))?;
        let cache_dir = cache_root.join(fingerprint(&engine));
        ensure_private_dir(&cache_dir)?;
        Ok(WasmEngine { engine, linker, cache_dir })
    }

    /// The wasmtime engine (for epoch ticks and stores).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles (or loads from the cache) and links a verified artifact, refusing modules that
    /// import anything VYR does not provide or do not export a command entry point.
    pub fn prepare(&self, artifact: &VerifiedArtifact) -> Result<Prepared> {
        let cache_path = self.cache_dir.join(format!("{}.cwasm", artifact.digest.hex()));
        let cached = if cache_path.is_file() {
            // SAFETY: files in the cache directory are written only by `prepare` below, from
            // `Module::serialize` of a module compiled from verified bytes, atomically, in a
            // directory private to the node's owner; the engine fingerprint in the path keeps a
            // different wasmtime build or configuration from reading them.
            unsafe { Module::deserialize_file(&self.engine, &cache_path) }.ok()
        } else {
            None
        };
        let cache_hit = cached.is_some();
        let module = match cached {
            Some(module) => module,
            None => {
                let module = Module::from_binary(&self.engine, &artifact.module)
                    .map_err(|e| VyrError::InvalidModule(format!("does not compile: {e:#}")))?;
                if let Ok(bytes) = module.serialize() {
                    // The cache is an optimisation: failing to write it must not fail the task.
                    let _ = write_atomic(&cache_path, &bytes, 0o600);
                }
                module
            }
        };
        check_command_exports(&module)?;
        let instance_pre = self.linker.instantiate_pre(&module).map_err(|e| {
            VyrError::InvalidModule(format!(
                "{e:#}: VYR provides only the wasi_snapshot_preview1 functions of a WASI preview1 command"
            ))
        })?;
        Ok(Prepared { instance_pre, cache_hit })
    }
}

fn check_command_exports(module: &Module) -> Result<()> {
    match module.get_export("_start") {
        Some(ExternType::Func(func)) if func.params().len() == 0 && func.results().len() == 0 => {}
        _ => return Err(VyrError::InvalidModule("no '_start' function of type () -> (): not a WASI command".into())),
    }
    match module.get_export("memory") {
        Some(ExternType::Memory(_)) => Ok(()),
        _ => Err(VyrError::InvalidModule("no exported 'memory': not a WASI command".into())),
    }
}

fn config(settings: EngineSettings) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.consume_fuel(true);
    // Proposals VYR does not need are off: less surface, and compiled code stays portable.
    // (threads, GC, function references and exceptions are already compiled out by features.)
    config.wasm_memory64(false);
    config.wasm_multi_memory(false);
    config.wasm_gc(false);
    config.wasm_relaxed_simd(false);
    config.wasm_component_model(false);
    config.wasm_stack_switching(false);
    config.wasm_wide_arithmetic(false);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(settings.pool_slots);
    pool.total_memories(settings.pool_slots);
    pool.total_tables(settings.pool_slots);
    pool.total_stacks(settings.pool_slots);
    pool.total_component_instances(0);
    pool.max_memory_size(settings.max_memory_bytes as usize);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// A stable name for "code compiled by this engine": sha256 of wasmtime's compatibility hash
/// (std's `DefaultHasher` is not stable across Rust releases, so it cannot name files).
fn fingerprint(engine: &Engine) -> String {
    struct Sha256Hasher(Sha256);
    impl Hasher for Sha256Hasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = Sha256Hasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hex::encode(&hasher.0.finalize()[..16])
}
