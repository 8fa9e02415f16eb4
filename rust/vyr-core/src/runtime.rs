//! The single-node runtime: artifacts in, tasks out. Owns the trust and artifact stores, the
//! engine and its epoch ticker, the worker pool, task records and ephemeral states.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Notify, OnceCell, Semaphore};

use crate::artifact::{verify, ArtifactParts, VerifiedArtifact};
use crate::clock::now_unix_nanos;
use crate::digest::Digest;
use crate::engine::{EngineSettings, Prepared, Tier, WasmEngine};
use crate::error::{Result, VyrError};
use crate::exec::{execute, ExecSpec, Outcome, Preopen};
use crate::fsutil::{ensure_private_dir, fill_random};
use crate::manifest::Manifest;
use crate::resources::{NodeLimits, Resources};
use crate::state::{Mode, StateInfo, StateRegistry, Ticket};
use crate::store::{ArtifactInfo, ArtifactStore};
use crate::task::{TaskRecord, TaskState, TaskStatus};
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

/// A task request (the seed's `submit_task`, with input bytes already resolved).
#[derive(Clone, Debug, Default)]
pub struct SubmitRequest {
    pub input: Bytes,
    /// Replaces the manifest's args (after argv[0], which is always the artifact's name).
    pub args: Option<Vec<String>>,
    /// Added to (and overriding) the manifest's env.
    pub env: Vec<(String, String)>,
    /// (state id or name, mode).
    pub bindings: Vec<(String, Mode)>,
    pub resources: Resources,
}

/// The optimiser thread and its queue.
type Optimizer = (mpsc::Sender<Arc<Loaded>>, JoinHandle<()>);

struct Loaded {
    artifact: VerifiedArtifact,
    /// Baseline code until the optimiser thread swaps in Cranelift's.
    code: Mutex<Code>,
    /// Set (and waiters woken) once the optimiser is done with this artifact, whatever came of it.
    optimizer_done: AtomicBool,
    optimized: Notify,
    /// Loading it compiled the module (no optimised code was in the disk cache).
    compiled: bool,
}

#[derive(Clone)]
struct Code {
    instance_pre: wasmtime::InstancePre<crate::limits::TaskCtx>,
    tier: Tier,
}

impl Loaded {
    fn new(artifact: VerifiedArtifact, prepared: Prepared) -> Arc<Self> {
        let done = prepared.tier == Tier::Optimized;
        let code = Code { instance_pre: prepared.instance_pre, tier: prepared.tier };
        Arc::new(Loaded {
            artifact,
            code: Mutex::new(code),
            optimizer_done: AtomicBool::new(done),
            optimized: Notify::new(),
            compiled: !prepared.cache_hit,
        })
    }

    fn code(&self) -> Code {
        self.code.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records the optimiser's result (None: it failed or never ran) and wakes the waiters.
    fn optimizer_finished(&self, optimized: Option<Code>) {
        if let Some(code) = optimized {
            *self.code.lock().unwrap_or_else(|p| p.into_inner()) = code;
        }
        self.optimizer_done.store(true, Ordering::Release);
        self.optimized.notify_waiters();
    }

    /// Returns once Cranelift's code is in (or the optimiser gave up). Tasks with a fuel budget
    /// wait for it: Winch meters fuel differently (several times less for the same work here),
    /// and a budget must mean the same on every run.
    async fn await_optimized(&self) {
        loop {
            let woken = self.optimized.notified();
            if self.code().tier == Tier::Optimized || self.optimizer_done.load(Ordering::Acquire) {
                return;
            }
            woken.await;
        }
    }
}

struct Shared {
    config: RuntimeConfig,
    trust: TrustStore,
    store: ArtifactStore,
    engine: WasmEngine,
    states: StateRegistry,
    loaded: Mutex<HashMap<Digest, Arc<OnceCell<Arc<Loaded>>>>>,
    tasks: Mutex<TaskTable>,
    running: Semaphore,
    active: AtomicUsize,
    stopping: AtomicBool,
    /// Artifacts running baseline code, for the optimiser thread (started on first use).
    optimizer: Mutex<Option<Optimizer>>,
}

#[derive(Default)]
struct TaskTable {
    by_id: HashMap<String, Arc<TaskRecord>>,
    order: VecDeque<String>,
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
        let engine = WasmEngine::new(config.home.join("cache").join("compiled"), settings)?;
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
            engine,
            states,
            loaded: Mutex::new(HashMap::new()),
            tasks: Mutex::new(TaskTable::default()),
            active: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            optimizer: Mutex::new(None),
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
            shared.optimize_later(&loaded);
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
    pub fn submit_task(&self, artifact: &str, request: SubmitRequest) -> Result<Arc<TaskRecord>> {
        let (record, job) = self.accept(artifact, request)?;
        let task = record.clone();
        let worker_shared = self.shared.clone();
        self.handle.spawn(async move { run_task(worker_shared, task, job).await });
        Ok(record)
    }

    /// Accepts a task and runs it to its end on the calling thread: the same queueing, limits
    /// and state ordering as `submit_task`, without the two thread hand-offs (which dominate a
    /// small task's latency on an idle machine). From inside the worker pool it falls back to
    /// `submit_task` + wait, since a worker must not block on itself.
    pub fn run_task(&self, artifact: &str, request: SubmitRequest) -> Result<Arc<TaskRecord>> {
        if tokio::runtime::Handle::try_current().is_ok() {
            let record = self.submit_task(artifact, request)?;
            record.wait(None)?;
            return Ok(record);
        }
        let (record, job) = self.accept(artifact, request)?;
        self.handle.block_on(run_task(self.shared.clone(), record.clone(), job));
        Ok(record)
    }

    /// Validates a request and records the task (queued); the caller decides where it runs.
    fn accept(&self, artifact: &str, request: SubmitRequest) -> Result<(Arc<TaskRecord>, Job)> {
        let shared = &self.shared;
        if shared.stopping.load(Ordering::Acquire) {
            return Err(VyrError::ShuttingDown);
        }
        let digest = Digest::parse(artifact)?;
        let manifest = shared.manifest_of(&digest)?;
        if shared.trust.get(&manifest.signer)?.is_none() {
            return Err(VyrError::UntrustedSigner(manifest.signer.to_string()));
        }
        let limits = &shared.config.limits;
        let granted = limits.grant(request.resources.or(manifest.resources))?;
        if request.input.len() > limits.max_input_bytes {
            return Err(VyrError::InvalidArgument(format!(
                "input is {} bytes, the node's limit is {} bytes",
                request.input.len(),
                limits.max_input_bytes
            )));
        }
        if shared.active.load(Ordering::Acquire) >= limits.max_queued_tasks {
            return Err(VyrError::Capacity(format!("{} tasks are queued or running", limits.max_queued_tasks)));
        }
        let mut tickets = Vec::with_capacity(request.bindings.len());
        for (state, mode) in &request.bindings {
            match shared.acquire_unique(&tickets, state, *mode) {
                Ok(ticket) => tickets.push(ticket),
                Err(error) => {
                    tickets.iter().for_each(|t| shared.states.release(t));
                    return Err(error);
                }
            }
        }
        let record = Arc::new(TaskRecord::new(new_task_id(), digest, granted, tickets));
        shared.remember(record.clone());
        shared.active.fetch_add(1, Ordering::AcqRel);
        let mut args = vec![manifest.name.clone()];
        args.extend(request.args.unwrap_or_else(|| manifest.args.clone()));
        let mut env: Vec<(String, String)> = manifest.env.into_iter().collect();
        for (key, value) in request.env {
            env.retain(|(existing, _)| *existing != key);
            env.push((key, value));
        }
        Ok((record, Job { args, env, input: request.input }))
    }

    /// Cancels a queued or running task. Returns false if it had already ended.
    pub fn cancel_task(&self, id: &str) -> Result<bool> {
        let task = self.task(id)?;
        if task.lock().status.is_terminal() {
            return Ok(false);
        }
        task.cancel.cancel();
        Ok(true)
    }

    /// A task by id.
    pub fn task(&self, id: &str) -> Result<Arc<TaskRecord>> {
        let tasks = self.shared.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.by_id.get(id).cloned().ok_or_else(|| VyrError::TaskNotFound(id.to_owned()))
    }

    /// Tasks still remembered, oldest first.
    pub fn list_tasks(&self) -> Vec<Arc<TaskRecord>> {
        let tasks = self.shared.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.order.iter().filter_map(|id| tasks.by_id.get(id).cloned()).collect()
    }

    /// Creates an ephemeral state.
    pub fn create_state(&self, name: &str, class: &str) -> Result<StateInfo> {
        self.shared.states.create(name, class)
    }

    /// Live states.
    pub fn list_states(&self) -> Vec<StateInfo> {
        self.shared.states.list()
    }

    /// Binds a state to a task that has not started yet.
    pub fn bind_state(&self, task_id: &str, state: &str, mode: Mode) -> Result<()> {
        let task = self.task(task_id)?;
        let shared = &self.shared;
        // Hold the task's state lock so the worker cannot start it between check and bind.
        let status = task.lock();
        if status.status != TaskStatus::Queued || status.phases.started != 0 || status.phases.instantiated != 0 {
            let phase = if status.status.is_terminal() { "ended" } else { "started" };
            return Err(VyrError::TaskAlreadyStarted { task: task_id.to_owned(), phase: phase.to_owned() });
        }
        let mut tickets = task.tickets();
        let ticket = shared.acquire_unique(&tickets, state, mode)?;
        tickets.push(ticket);
        drop(status);
        Ok(())
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
        // Queued compiles are finished (one per artifact first loaded by this process), so
        // the disk cache holds optimised code for the next process, e.g. after `vyr artifact put`.
        let optimizer = self.shared.optimizer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((sender, handle)) = optimizer {
            drop(sender);
            let _ = handle.join();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(Duration::ZERO);
    }
}

impl Shared {
    fn cell_for(&self, digest: Digest) -> Arc<OnceCell<Arc<Loaded>>> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        loaded.entry(digest).or_default().clone()
    }

    fn manifest_of(&self, digest: &Digest) -> Result<Manifest> {
        if let Some(loaded) = self.cell_for(*digest).get() {
            return Ok(loaded.artifact.manifest.clone());
        }
        self.store.read_manifest(digest)
    }

    fn acquire_unique(&self, held: &[Ticket], state: &str, mode: Mode) -> Result<Ticket> {
        let id = self.states.resolve(state)?;
        if held.iter().any(|ticket| ticket.state_id == id) {
            return Err(VyrError::InvalidState(format!("state {state:?} is bound to this task twice")));
        }
        self.states.acquire(&id, mode)
    }

    fn remember(&self, record: Arc<TaskRecord>) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.order.push_back(record.id.clone());
        tasks.by_id.insert(record.id.clone(), record);
        while tasks.order.len() > self.config.max_finished_tasks {
            let Some(oldest) = tasks.order.front().cloned() else { break };
            let ended = tasks.by_id.get(&oldest).is_none_or(|t| t.lock().status.is_terminal());
            if !ended {
                break;
            }
            tasks.order.pop_front();
            tasks.by_id.remove(&oldest);
        }
    }

    /// Queues an artifact running baseline code for a Cranelift compile on the optimiser
    /// thread, which swaps the optimised code in (tasks already running keep theirs).
    fn optimize_later(self: &Arc<Self>, loaded: &Arc<Loaded>) {
        if loaded.code().tier != Tier::Baseline {
            return;
        }
        let mut optimizer = self.optimizer.lock().unwrap_or_else(|p| p.into_inner());
        let queued = match optimizer.as_ref() {
            Some((sender, _)) => sender.send(loaded.clone()).is_ok(),
            None => false,
        };
        if queued {
            return;
        }
        let (sender, receiver) = mpsc::channel::<Arc<Loaded>>();
        let _ = sender.send(loaded.clone());
        let unqueued = loaded.clone();
        let shared = Arc::downgrade(self);
        let spawned = std::thread::Builder::new().name("vyr-optimize".into()).spawn(move || {
            // Ends once the runtime has shut down (dropping the sender) and the queue is empty.
            while let Ok(loaded) = receiver.recv() {
                let Some(shared) = shared.upgrade() else { return };
                // Cranelift refusing what Winch compiled would be a wasmtime bug: keep the baseline code.
                let optimized = shared.engine.optimize(&loaded.artifact).ok();
                loaded.optimizer_finished(optimized.map(|p| Code { instance_pre: p.instance_pre, tier: p.tier }));
            }
        });
        match spawned {
            Ok(handle) => *optimizer = Some((sender, handle)),
            // No thread to spare: the artifact keeps its baseline code, which is correct.
            Err(_) => unqueued.optimizer_finished(None),
        }
    }

    /// The loaded artifact, loading (verify + compile or cache) on first use.
    async fn load(self: &Arc<Self>, digest: Digest) -> Result<(Arc<Loaded>, bool)> {
        let cell = self.cell_for(digest);
        if let Some(loaded) = cell.get() {
            return Ok((loaded.clone(), false));
        }
        let shared = self.clone();
        let loaded = cell
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || {
                    let limit = shared.config.limits.max_artifact_bytes;
                    let artifact = shared.store.load(&digest, &shared.trust, limit)?;
                    let prepared = shared.engine.prepare(&artifact)?;
                    let loaded = Loaded::new(artifact, prepared);
                    shared.optimize_later(&loaded);
                    Ok::<_, VyrError>(loaded)
                })
                .await
                .map_err(|e| VyrError::Internal(format!("loader: {e}")))?
            })
            .await?;
        Ok((loaded.clone(), true))
    }
}

struct Job {
    args: Vec<String>,
    env: Vec<(String, String)>,
    input: Bytes,
}

/// Ends a task whatever happens, releasing its state tickets and its place in the count.
async fn run_task(shared: Arc<Shared>, task: Arc<TaskRecord>, job: Job) {
    run_phases(&shared, &task, job).await;
    for ticket in task.tickets().iter() {
        shared.states.release(ticket);
    }
    shared.active.fetch_sub(1, Ordering::AcqRel);
}

async fn run_phases(shared: &Arc<Shared>, task: &Arc<TaskRecord>, job: Job) {
    let reject = |reason: String| {
        task.finish(|state| {
            state.status = TaskStatus::Rejected;
            state.reason = reason;
        });
    };
    let cancelled = |state: &mut TaskState| {
        state.status = TaskStatus::Cancelled;
        state.reason = "cancelled before it started".into();
    };
    let (loaded, cold) = tokio::select! {
        loaded = shared.load(task.artifact) => match loaded {
            Ok(loaded) => loaded,
            Err(error) => return reject(error.to_string()),
        },
        () = task.cancel.cancelled() => { task.finish(cancelled); return; }
    };
    if task.granted.fuel.is_some() {
        tokio::select! {
            () = loaded.await_optimized() => {},
            () = task.cancel.cancelled() => { task.finish(cancelled); return; }
        }
    }
    task.lock().phases.artifact_ready = now_unix_nanos();
    // Wait for a run slot and for this task's turn on every bound state, or a cancel.
    let tickets: Vec<Ticket> = task.tickets().clone();
    let permit = tokio::select! {
        permit = async {
            shared.states.wait_turn(&tickets).await;
            shared.running.acquire().await
        } => permit,
        () = task.cancel.cancelled() => { task.finish(cancelled); return; }
    };
    let Ok(_permit) = permit else { return reject("the node is shutting down".into()) };
    // Mark running under the task lock; bind_state checks the same lock. Tickets bound since
    // the snapshot above must also get their turn, so re-check.
    let tickets = {
        let mut state = task.lock();
        let now_tickets = task.tickets().clone();
        if now_tickets.len() != tickets.len() {
            drop(state);
            shared.states.wait_turn(&now_tickets).await;
            state = task.lock();
        }
        if state.status.is_terminal() {
            return;
        }
        state.status = TaskStatus::Running;
        state.phases.scheduled = now_unix_nanos();
        now_tickets
    };
    let mut preopens = Vec::with_capacity(tickets.len());
    let mut work_dirs = Vec::new();
    for ticket in &tickets {
        match shared.states.open_for(ticket) {
            Ok(dir) => {
                if ticket.mode == Mode::Rw {
                    work_dirs.push((ticket.clone(), dir.clone()));
                }
                preopens.push(Preopen {
                    host_path: dir,
                    guest_path: format!("/state/{}", ticket.name),
                    writable: ticket.mode == Mode::Rw,
                });
            }
            Err(error) => {
                work_dirs.iter().for_each(|(_, dir)| shared.states.discard(dir));
                return reject(error.to_string());
            }
        }
    }
    let limits = &shared.config.limits;
    let spec = ExecSpec {
        args: job.args,
        env: job.env,
        input: job.input,
        granted: task.granted,
        preopens,
        stdout_cap: limits.max_stdout_bytes,
        stderr_cap: limits.max_stderr_bytes,
    };
    let code = loaded.code(); // the newest: a task that queued may find Cranelift's code in
    let report = execute(&code.instance_pre, spec, task.cancel.clone()).await;
    // Commit writers' changes only on success; anything else leaves the states untouched.
    let mut commit_error = None;
    for (ticket, dir) in &work_dirs {
        if report.outcome == Outcome::Exited(0) && commit_error.is_none() {
            if let Err(error) = shared.states.commit(ticket, dir) {
                commit_error = Some(error);
            }
        } else {
            shared.states.discard(dir);
        }
    }
    let granted = task.granted;
    task.finish(|state| {
        state.phases.instantiated = report.instantiated_ns;
        state.phases.started = report.started_ns;
        state.usage.peak_memory_bytes = report.peak_memory_bytes;
        state.usage.fuel_used = report.fuel_used;
        state.usage.cold = cold;
        state.usage.compiled = cold && loaded.compiled;
        state.usage.tier = Some(code.tier);
        state.stdout = report.stdout.into();
        state.stderr = report.stderr.into();
        let (status, exit_code, trap_code, reason) = match (report.outcome, commit_error) {
            (Outcome::Exited(0), None) => (TaskStatus::Succeeded, Some(0), None, "exited with code 0".to_owned()),
            (Outcome::Exited(0), Some(error)) => {
                (TaskStatus::Trapped, Some(0), Some("state_limit_exceeded".to_owned()), error.to_string())
            }
            (Outcome::Exited(code), _) => (TaskStatus::Failed, Some(code), None, format!("exited with code {code}")),
            (Outcome::Trapped { code, message }, _) => (TaskStatus::Trapped, None, Some(code), message),
            (Outcome::DeadlineExceeded, _) => {
                (TaskStatus::DeadlineExceeded, None, None, format!("deadline of {} ms exceeded", granted.timeout_ms))
            }
            (Outcome::Cancelled, _) => (TaskStatus::Cancelled, None, None, "cancelled while running".to_owned()),
            (Outcome::SetupFailed(message), _) => (TaskStatus::Rejected, None, None, message),
        };
        state.status = status;
        state.exit_code = exit_code;
        state.trap_code = trap_code;
        state.reason = reason;
        let start = if state.phases.instantiated > 0 { state.phases.artifact_ready } else { state.phases.queued };
        state.usage.wall_ns = now_unix_nanos().saturating_sub(start);
    });
}

fn default_state_parent(home: &std::path::Path) -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() && tempfile_ok(&shm) {
        // One directory per home, so two nodes never sweep each other's states.
        let tag = &Digest::of(home.to_string_lossy().as_bytes()).hex()[..16];
        return shm.join(format!("vyr-states-{tag}"));
    }
    home.join("run").join("states")
}

fn tempfile_ok(dir: &std::path::Path) -> bool {
    std::fs::metadata(dir).map(|m| !m.permissions().readonly()).unwrap_or(false)
}

/// `t-` + milliseconds + 40 bits that are unique within this process (a random start plus a
/// counter), so ids sort by time and never repeat, without a getrandom call per task.
fn new_task_id() -> String {
    static NEXT: std::sync::OnceLock<std::sync::atomic::AtomicU64> = std::sync::OnceLock::new();
    let next = NEXT.get_or_init(|| {
        let mut random = [0u8; 8];
        fill_random(&mut random);
        std::sync::atomic::AtomicU64::new(u64::from_le_bytes(random))
    });
    let sequence = next.fetch_add(1, Ordering::Relaxed) & 0xff_ffff_ffff;
    format!("t-{:011x}{:010x}", now_unix_nanos() / 1_000_000, sequence)
}

/// One thread drives every deadline: it advances the engine's epoch each millisecond and
/// sweeps lingering states every 100 ms. It stops when the runtime is dropped.
fn spawn_ticker(shared: std::sync::Weak<Shared>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("vyr-epoch".into())
        .spawn(move || {
            let mut tick: u64 = 0;
            loop {
                std::thread::sleep(Duration::from_millis(1));
                let Some(shared) = shared.upgrade() else { return };
                if shared.stopping.load(Ordering::Acquire) && shared.active.load(Ordering::Acquire) == 0 {
                    return;
                }
                for engine in shared.engine.engines() {
                    engine.increment_epoch();
                }
                tick += 1;
                if tick % 100 == 0 {
                    shared.states.sweep();
                }
            }
        })
        .map_err(|error| VyrError::Internal(format!("cannot start the epoch ticker thread: {error}")))
}
