//! The wasmtime engines: configuration, the WASI linkers, tiered compilation and the on-disk
//! cache of optimised code keyed by (artifact digest, engine fingerprint).
//!
//! A never-seen artifact is first compiled by Winch, wasmtime's single-pass baseline compiler
//! (for `hello` about 4 ms here against 20-30 ms for Cranelift; slower code), so its first
//! task starts within milliseconds; Cranelift then compiles it in the background and its code
//! replaces Winch's for later tasks and goes to the disk cache. Cached artifacts load
//! Cranelift code directly. A task keeps the code it started with, so a long task started
//! right after a put runs Winch's code to its end (about 1.5x slower on CPU-bound work here).

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use wasmtime::{
    Config, Engine, ExternType, InstanceAllocationStrategy, InstancePre, Linker, Module, OptLevel,
    PoolingAllocationConfig, RegallocAlgorithm, Strategy,
};

use crate::artifact::VerifiedArtifact;
use crate::error::{Result, VyrError};
use crate::fsutil::{ensure_private_dir, remove_stale_temp_files, write_atomic, WRITE_PREFIX};
use crate::limits::TaskCtx;

/// Engine settings that shape the instance pool.
#[derive(Clone, Copy, Debug)]
pub struct EngineSettings {
    /// The largest linear memory any task may be granted.
    pub max_memory_bytes: u64,
    /// How many instances may exist at once (bounds concurrently running tasks).
    pub pool_slots: u32,
}

/// Which compiler produced a module's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Winch: compiled in one pass, quickly; replaced by optimised code once that is ready.
    Baseline,
    /// Cranelift: compiled with optimisations (or loaded from the disk cache).
    Optimized,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Baseline => "baseline",
            Tier::Optimized => "optimized",
        }
    }
}

/// A compiled module ready to instantiate, which tier compiled it and whether it came from
/// the disk cache.
pub struct Prepared {
    pub instance_pre: InstancePre<TaskCtx>,
    pub tier: Tier,
    pub cache_hit: bool,
}

/// One engine and its WASI linker.
struct Compiler {
    engine: Engine,
    linker: Linker<TaskCtx>,
}

impl Compiler {
    fn new(config: &Config) -> Result<Self> {
        let engine = Engine::new(config).map_err(|e| VyrError::Internal(format!("engine: {e:#}")))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |ctx: &mut TaskCtx| &mut ctx.wasi)
            .map_err(|e| VyrError::Internal(format!("linker: {e:#}")))?;
        Ok(Compiler { engine, linker })
    }

    fn link(&self, module: &Module) -> Result<InstancePre<TaskCtx>> {
        check_command_exports(module)?;
        self.linker.instantiate_pre(module).map_err(|e| {
            VyrError::InvalidModule(format!(
                "{e:#}: VYR provides only the wasi_snapshot_preview1 functions of a WASI preview1 command"
            ))
        })
    }
}

/// The wasmtime release VYR is built with (Cargo.lock pins it; a test checks the two agree).
/// Receipts name it: it is part of what ran a task.
pub const WASMTIME_VERSION: &str = "48.0.8";

/// The node's engines (optimising and baseline), shared by all tasks.
pub struct WasmEngine {
    optimizing: Compiler,
    baseline: Compiler,
    cache_dir: PathBuf,
    /// [`fingerprint`] of the optimising engine, which names `cache_dir` and is sealed in.
    fingerprint: String,
}

/// Ends every compiled-cache file, after its seal (the file is `code || seal || magic`): a
/// trailer, so the code keeps its offsets and the file stays an ELF object one can inspect.
const SEAL_MAGIC: &[u8] = b"VYRSEAL1";
const SEAL_BYTES: usize = 32;

impl WasmEngine {
    /// Builds the engines. `cache_root/<fingerprint>/` holds optimised compiled code.
    pub fn new(cache_root: PathBuf, settings: EngineSettings) -> Result<Self> {
        let optimizing = Compiler::new(&config(settings, Strategy::Cranelift))?;
        let baseline = Compiler::new(&config(settings, Strategy::Winch))?;
        // wasmtime installed its trap handlers with the first engine: remember them.
        crate::signals::record_wasmtime_handlers();
        let fingerprint = fingerprint(&optimizing.engine);
        let cache_dir = cache_root.join(&fingerprint);
        ensure_private_dir(&cache_dir)?;
        remove_cache_leftovers(&cache_root);
        Ok(WasmEngine { optimizing, baseline, cache_dir, fingerprint })
    }

    /// The optimising engine's fingerprint: its wasmtime build and configuration, as one hex
    /// name (that of its compiled-code cache directory). Receipts record it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The wasmtime engines (for epoch ticks).
    pub fn engines(&self) -> [&Engine; 2] {
        [&self.optimizing.engine, &self.baseline.engine]
    }

    /// Links a verified artifact as fast as possible: optimised code from the disk cache, else
    /// a baseline compile (the caller then runs [`WasmEngine::optimize`] in the background),
    /// else (a module Winch cannot compile) an optimised compile. Refuses modules that import
    /// anything VYR does not provide or do not export a command entry point.
    pub fn prepare(&self, artifact: &VerifiedArtifact) -> Result<Prepared> {
        if let Some(module) = self.cached(artifact) {
            return Ok(Prepared {
                instance_pre: self.optimizing.link(&module)?,
                tier: Tier::Optimized,
                cache_hit: true,
            });
        }
        match Module::from_binary(&self.baseline.engine, &artifact.module) {
            Ok(module) => {
                Ok(Prepared { instance_pre: self.baseline.link(&module)?, tier: Tier::Baseline, cache_hit: false })
            }
            // Winch lacks a few proposals Cranelift has: let Cranelift decide (and report).
            Err(_) => self.optimize(artifact),
        }
    }

    /// Compiles an artifact with Cranelift and stores the code in the disk cache.
    pub fn optimize(&self, artifact: &VerifiedArtifact) -> Result<Prepared> {
        let module = Module::from_binary(&self.optimizing.engine, &artifact.module).map_err(compile_error)?;
        if let Ok(mut bytes) = module.serialize() {
            let seal = self.seal(artifact, &bytes);
            bytes.extend_from_slice(&seal);
            bytes.extend_from_slice(SEAL_MAGIC);
            // The cache is an optimisation: failing to write it must not fail the task.
            let _ = write_atomic(&self.cache_path(artifact), &bytes, 0o600);
        }
        Ok(Prepared { instance_pre: self.optimizing.link(&module)?, tier: Tier::Optimized, cache_hit: false })
    }

    fn cache_path(&self, artifact: &VerifiedArtifact) -> PathBuf {
        self.cache_dir.join(format!("{}.cwasm", artifact.digest.hex()))
    }

    /// The seal that binds a cache file's code to its source and engine: sha256 over the
    /// artifact digest, the engine fingerprint and the code.
    fn seal(&self, artifact: &VerifiedArtifact, code: &[u8]) -> [u8; SEAL_BYTES] {
        let mut hasher = Sha256::new();
        hasher.update(SEAL_MAGIC);
        hasher.update(artifact.digest.hex().as_bytes());
        hasher.update(self.fingerprint.as_bytes());
        hasher.update(code);
        hasher.finalize().into()
    }

    /// The artifact's optimised code from the disk cache, if a file is there and its seal
    /// matches. A file that fails the check (a flipped byte, another artifact's code, a torn or
    /// foreign file) is not loaded: the caller compiles again and the optimiser replaces the
    /// file atomically. (Not removed here: another process on this home may have just renamed
    /// a good one into place, and a reader never sees the name missing.)
    fn cached(&self, artifact: &VerifiedArtifact) -> Option<Module> {
        let bytes = std::fs::read(self.cache_path(artifact)).ok()?;
        let (code, seal) = bytes
            .strip_suffix(SEAL_MAGIC)?
            .split_at_checked(bytes.len().checked_sub(SEAL_MAGIC.len() + SEAL_BYTES)?)?;
        if seal != self.seal(artifact, code).as_slice() {
            return None;
        }
        // SAFETY: the seal checked above shows these are the bytes `optimize` wrote for this
        // artifact with this engine: `Module::serialize` of a module compiled from verified
        // bytes by this engine's configuration and wasmtime build (the fingerprint).
        unsafe { Module::deserialize(&self.optimizing.engine, code) }.ok()
    }
}

/// Removes the temp files a writer killed half-way left in every engine's cache directory
/// (an older engine's too: nothing else would ever clean it).
fn remove_cache_leftovers(cache_root: &Path) {
    let started = SystemTime::now();
    let Ok(entries) = std::fs::read_dir(cache_root) else { return };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            remove_stale_temp_files(&entry.path(), WRITE_PREFIX, started);
        }
    }
}

/// A module Cranelift cannot compile. wasmparser files externref under its "gc types" feature
/// (an externref needs a GC heap, which these engines are built without): name what the
/// author wrote instead of the GC proposal, which the module may not use at all.
fn compile_error(error: wasmtime::Error) -> VyrError {
    let text = format!("{error:#}");
    if text.contains("gc types are disallowed") {
        return VyrError::InvalidModule(
            "uses reference types (an externref or other GC-managed reference), which VYR does not \
             support: its engines have no garbage-collected heap"
                .into(),
        );
    }
    VyrError::InvalidModule(format!("does not compile: {text}"))
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

fn config(settings: EngineSettings, strategy: Strategy) -> Config {
    let mut config = Config::new();
    config.strategy(strategy);
    // One thread per compile: Winch's single pass over a small module gains nothing from a
    // thread pool (its hand-offs cost more), and Cranelift runs in the background, where
    // taking every core would slow the tasks running meanwhile.
    config.parallel_compilation(false);
    if matches!(strategy, Strategy::Winch) {
        // Winch still has Cranelift compile the host<->Wasm trampolines (one per exported,
        // imported or table function): at the fastest settings they cost a fraction as much.
        config.cranelift_opt_level(OptLevel::None);
        config.cranelift_regalloc_algorithm(RegallocAlgorithm::SinglePass);
    }
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

#[cfg(test)]
mod tests {
    use super::WASMTIME_VERSION;

    #[test]
    fn wasmtime_version_is_the_locked_one() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock")).expect("Cargo.lock");
        let locked = lock
            .split("[[package]]")
            .find(|package| package.contains("\nname = \"wasmtime\"\n"))
            .and_then(|package| package.lines().find_map(|line| line.strip_prefix("version = \"")))
            .map(|version| version.trim_end_matches('"'))
            .expect("wasmtime in Cargo.lock");
        assert_eq!(WASMTIME_VERSION, locked);
    }
}
