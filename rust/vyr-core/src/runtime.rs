//! The single-node runtime's public face: artifacts in, tasks out. The parts live beside it:
//! admission (`admission.rs`), the worker's run of a task (`execution.rs`), tiered code
//! (`tiering.rs`), the epoch ticker (`ticker.rs`), what they share (`node.rs`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::admission::{accept, bind};
use crate::artifact::{verify, ArtifactParts};
use crate::digest::Digest;
use crate::ended_feed::Batch;
use crate::engine::{EngineSettings, WasmEngine};
use crate::error::{Result, VyrError};
use crate::execution::run_task;
use crate::fsutil::ensure_private_dir;
use crate::manifest::Manifest;
use crate::node::{Shared, TaskTable};
use crate::resources::NodeLimits;
use crate::spec::{BindingSpec, TaskSpec};
use crate::state::{Mode, StateInfo, StateRegistry};
use crate::store::{ArtifactInfo, ArtifactStore};
use crate::task::TaskRecord;
use crate::ticker::spawn_ticker;
use crate::tiering::{Loaded, Optimizer};
use crate::trust::TrustStore;

/// How a node is set up.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    pub home: PathBuf,
    pub limits: NodeLimits,
    /// Worker threads executing Wasm (default: one per core).
    pub workers: usize,
    /// Tasks executing at once; the rest wait queued (default 64).
    pub max_running: usize,
    /// How long a state outlives its last task.
    pub state_linger: Duration,
    /// Where state directories live (default: /dev/shm when available, else `home/run`).
    pub state_dir: Option<PathBuf>,
    /// Finished tasks kept in memory for `task`/`wait` (oldest forgotten first).
    pub max_finished_tasks: usize,
}

impl RuntimeConfig {
    /// Defaults for a node at `home`.
    pub fn new(home: PathBuf) -> Self {
        RuntimeConfig {
            home,
            limits: NodeLimits::default(),
            workers: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            max_running: 64,
            state_linger: Duration::from_secs(30),
            state_dir: None,
            max_finished_tasks: 10_000,
        }
    }
}

/// What `put_artifact` did.
#[derive(Clone, Debug)]
pub struct PutOutcome {
    pub digest: Digest,
    pub manifest: Manifest,
}

/// One node. Cheap to share behind an `Arc`; dropping it cancels what still runs.
pub struct Runtime {
    shared: Arc<Shared>,
    executor: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    ticker: Mutex<Option<JoinHandle<()>>>,
}

impl Runtime {
    /// Opens the node at `config.home`, creating its directories.
    pub fn open(config: RuntimeConfig) -> Result<Runtime> {
        ensure_private_dir(&config.home)?;
        let trust = TrustStore::open(config.home.join("trust"))?;
        let store = ArtifactStore::open(config.home.join("artifacts"))?;
        let settings = EngineSettings {
            max_memory_bytes: config.limits.max_memory_bytes,
            pool_slots: (config.max_running as u32).saturating_add(8),
        };
        let engine = Arc::new(WasmEngine::new(config.home.join("cache").join("compiled"), settings)?);
        let state_parent = config.state_dir.clone().unwrap_or_else(|| default_state_parent(&config.home));
        let states = StateRegistry::open(&state_parent, config.state_linger, config.limits.max_state_bytes)?;
        let executor = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.workers.max(1))
            .thread_name("vyr-worker")
            .enable_time()
            .build()
            .map_err(|e| VyrError::Internal(format!("worker pool: {e}")))?;
        let shared = Arc::new(Shared {
            running: Semaphore::new(config.max_running.max(1)),
            config,
            trust,
            store,
            optimizer: Optimizer::new(engine.clone()),
            engine,
            states,
            loaded: Mutex::new(Default::default()),
            tasks: Mutex::new(TaskTable::default()),
            active: AtomicUsize::new(0),
            executing: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            ended: Default::default(),
        });
        let ticker = spawn_ticker(Arc::downgrade(&shared))?;
        let handle = executor.handle().clone();
        Ok(Runtime { shared, executor: Mutex::new(Some(executor)), handle, ticker: Mutex::new(Some(ticker)) })
    }

    /// The node's home directory.
    pub fn home(&self) -> &std::path::Path {
        &self.shared.config.home
    }

    /// The trust store.
    pub fn trust(&self) -> &TrustStore {
        &self.shared.trust
    }

    /// The engine's fingerprint (`WasmEngine::fingerprint`), for receipts.
    pub fn engine_fingerprint(&self) -> &str {
        self.shared.engine.fingerprint()
    }

    /// The node's limits.
    pub fn limits(&self) -> &NodeLimits {
        &self.shared.config.limits
    }

    /// Verifies, compiles (refusing unsupported imports) and stores an artifact. Idempotent.
    pub fn put_artifact(
        &self,
        digest: &str,
        manifest: &[u8],
        signature: &[u8],
        module: Arc<[u8]>,
    ) -> Result<PutOutcome> {
        let shared = &self.shared;
        let parts = ArtifactParts { claimed_digest: digest, manifest, signature, module };
        let artifact = verify(parts, &shared.trust, shared.config.limits.max_artifact_bytes)?;
        let cell = shared.cell_for(artifact.digest);
        if cell.get().is_some() {
            // Loaded (so compiled) already: only the store's same-manifest check is left to do.
            shared.store.put(&artifact)?;
            return Ok(PutOutcome { digest: artifact.digest, manifest: artifact.manifest });
        }
        // Compile and store at once: storing mostly waits on fsync, compiling on the CPU. A
        // module that turns out not to compile is removed again (unless it was stored before).
        let stored_before = shared.store.contains(&artifact.digest);
        let (prepared, stored) = std::thread::scope(|scope| {
            let storing = scope.spawn(|| shared.store.put(&artifact));
            let prepared = shared.engine.prepare(&artifact);
            let stored =
                storing.join().unwrap_or_else(|_| Err(VyrError::Internal("the artifact store thread panicked".into())));
            (prepared, stored)
        });
        let prepared = match (prepared, stored) {
            (Ok(prepared), Ok(())) => prepared,
            (Err(error), Ok(())) => {
                if !stored_before {
                    shared.store.remove(&artifact.digest);
                }
                return Err(error);
            }
            (_, Err(error)) => return Err(error),
        };
        let outcome = PutOutcome { digest: artifact.digest, manifest: artifact.manifest.clone() };
        let loaded = Loaded::new(artifact, prepared);
        if cell.set(loaded.clone()).is_ok() {
            shared.optimizer.optimize_later(&loaded);
        }
        Ok(outcome)
    }

    /// Stored artifacts.
    pub fn list_artifacts(&self) -> Result<Vec<ArtifactInfo>> {
        self.shared.store.list()
    }

    /// The stored (module, manifest, signature) of an artifact, for export.
    pub fn artifact_parts(&self, digest: &Digest) -> Result<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        self.shared.store.read_signed_parts(digest)
    }

    /// Accepts a task and returns at once; it runs on the worker pool.
    pub fn submit_task(&self, spec: TaskSpec) -> Result<Arc<TaskRecord>> {
        let (record, job) = accept(&self.shared, spec)?;
        let task = record.clone();
        let worker_shared = self.shared.clone();
        self.handle.spawn(async move { run_task(worker_shared, task, job).await });
        Ok(record)
    }

    /// Accepts a task and runs it to its end on the calling thread: the same queueing, limits
    /// and state ordering as `submit_task`, without the two thread hand-offs (which dominate a
    /// small task's latency on an idle machine). From inside the worker pool it falls back to
    /// `submit_task` + wait, since a worker must not block on itself.
    pub fn run_task(&self, spec: TaskSpec) -> Result<Arc<TaskRecord>> {
        if tokio::runtime::Handle::try_current().is_ok() {
            let record = self.submit_task(spec)?;
            record.wait(None)?;
            return Ok(record);
        }
        let (record, job) = accept(&self.shared, spec)?;
        self.handle.block_on(run_task(self.shared.clone(), record.clone(), job));
        Ok(record)
    }

    /// Cancels a queued or running task. Returns false if it had already ended.
    pub fn cancel_task(&self, id: &str) -> Result<bool> {
        let task = self.task(id)?;
        if task.status().is_terminal() {
            return Ok(false);
        }
        task.cancel.cancel();
        Ok(true)
    }

    /// A task by id.
    pub fn task(&self, id: &str) -> Result<Arc<TaskRecord>> {
        self.shared.task(id)
    }

    /// Tasks still remembered, oldest first.
    pub fn list_tasks(&self) -> Vec<Arc<TaskRecord>> {
        let tasks = self.shared.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.order.iter().filter_map(|id| tasks.by_id.get(id).cloned()).collect()
    }

    /// Creates an ephemeral state, empty or filled from `source` (a directory, or a tar or
    /// tar.gz file), held to the node's state size cap.
    pub fn create_state(&self, name: &str, class: &str, source: Option<&Path>) -> Result<StateInfo> {
        self.shared.states.create(name, class, source)
    }

    /// Writes a state's committed content to `out` (ending `.tar`: an archive; otherwise a
    /// directory, created if missing, refused if not empty) and returns its info. The export
    /// takes a reader's turn in the state's queue, so it sees one committed version and
    /// orders with writers like a read-only task.
    pub fn export_state(&self, state: &str, out: &Path) -> Result<StateInfo> {
        let states = &self.shared.states;
        let ticket = states.acquire(state, Mode::Ro, None)?;
        let turn = [ticket];
        if tokio::runtime::Handle::try_current().is_ok() {
            // On a worker thread (which must not block on its own pool): wait on a helper.
            std::thread::scope(|scope| {
                scope.spawn(|| self.handle.block_on(states.wait_turn(&turn)));
            });
        } else {
            self.handle.block_on(states.wait_turn(&turn));
        }
        let result = states.export(&turn[0], out);
        states.release(&turn[0]);
        result
    }

    /// Live states.
    pub fn list_states(&self) -> Vec<StateInfo> {
        self.shared.states.list()
    }

    /// Binds a state to a task that has not started yet.
    pub fn bind_state(&self, task_id: &str, binding: &BindingSpec) -> Result<()> {
        bind(&self.shared, task_id, binding)
    }

    /// Waits (up to `timeout`) for outcomes of tasks submitted with `publish_end`; returns up
    /// to `max` of them, or none on a timeout or a `wake_ended`. `closed` once the node has
    /// shut down and every outcome was taken.
    pub fn next_ended(&self, max: usize, timeout: Option<Duration>) -> Batch {
        self.shared.ended.next_batch(max, timeout)
    }

    /// Tasks (queued, running) now.
    pub fn task_counts(&self) -> (usize, usize) {
        let active = self.shared.active.load(Ordering::Acquire);
        let running = self.shared.executing.load(Ordering::Acquire).min(active);
        (active - running, running)
    }

    /// How many outcomes were published on the ended feed so far.
    pub fn ended_published(&self) -> u64 {
        self.shared.ended.published()
    }

    /// Wakes the consumer of `next_ended` without an outcome.
    pub fn wake_ended(&self) {
        self.shared.ended.wake();
    }

    /// Frees states whose linger has passed (also done every 100 ms by the ticker).
    pub fn sweep_states(&self) -> usize {
        self.shared.states.sweep()
    }

    /// Stops accepting tasks, waits up to `grace` for running ones, cancels the rest and waits
    /// for them to record their outcome.
    pub fn shutdown(&self, grace: Duration) {
        self.shared.stopping.store(true, Ordering::Release);
        let deadline = std::time::Instant::now() + grace;
        while self.shared.active.load(Ordering::Acquire) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        for task in self.list_tasks() {
            task.cancel.cancel();
        }
        while self.shared.active.load(Ordering::Acquire) > 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
        let executor = self.executor.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(executor) = executor {
            executor.shutdown_timeout(Duration::from_secs(5));
        }
        let ticker = self.ticker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(ticker) = ticker {
            let _ = ticker.join();
        }
        self.shared.optimizer.stop();
        // Every task has ended (and published its outcome): the feed's consumer may stop.
        self.shared.ended.close();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(Duration::ZERO);
    }
}

fn default_state_parent(home: &std::path::Path) -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() && writable(&shm) {
        // One directory per home, so two nodes never sweep each other's states.
        let tag = &Digest::of(home.to_string_lossy().as_bytes()).hex()[..16];
        return shm.join(format!("vyr-states-{tag}"));
    }
    home.join("run").join("states")
}

fn writable(dir: &std::path::Path) -> bool {
    std::fs::metadata(dir).map(|m| !m.permissions().readonly()).unwrap_or(false)
}
