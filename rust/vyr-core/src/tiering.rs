//! Tiered code for a loaded artifact: Winch's baseline code first, swapped for Cranelift's by
//! the `vyr-optimize` thread once that is compiled (tasks already running keep theirs).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::Notify;

use crate::artifact::VerifiedArtifact;
use crate::engine::{Prepared, Tier, WasmEngine};
use crate::limits::TaskCtx;

/// A verified artifact with its current code.
pub(crate) struct Loaded {
    pub artifact: VerifiedArtifact,
    /// Baseline code until the optimiser thread swaps in Cranelift's.
    code: Mutex<Code>,
    /// Set (and waiters woken) once the optimiser is done with this artifact, whatever came of it.
    optimizer_done: AtomicBool,
    optimized: Notify,
    /// Loading it compiled the module (no optimised code was in the disk cache).
    pub compiled: bool,
}

/// Code ready to instantiate, and which compiler made it.
#[derive(Clone)]
pub(crate) struct Code {
    pub instance_pre: wasmtime::InstancePre<TaskCtx>,
    pub tier: Tier,
}

impl Loaded {
    pub fn new(artifact: VerifiedArtifact, prepared: Prepared) -> Arc<Self> {
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

    /// The newest code: a task that queued may find Cranelift's code in.
    pub fn code(&self) -> Code {
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
    pub async fn await_optimized(&self) {
        loop {
            let woken = self.optimized.notified();
            if self.code().tier == Tier::Optimized || self.optimizer_done.load(Ordering::Acquire) {
                return;
            }
            woken.await;
        }
    }
}

/// The optimiser's queue and its thread.
type OptimizerWorker = (mpsc::Sender<Arc<Loaded>>, JoinHandle<()>);

/// The optimiser thread and its queue, started on first use.
pub(crate) struct Optimizer {
    engine: Arc<WasmEngine>,
    worker: Mutex<Option<OptimizerWorker>>,
}

impl Optimizer {
    pub fn new(engine: Arc<WasmEngine>) -> Self {
        Optimizer { engine, worker: Mutex::new(None) }
    }

    /// Queues an artifact running baseline code for a Cranelift compile.
    pub fn optimize_later(&self, loaded: &Arc<Loaded>) {
        if loaded.code().tier != Tier::Baseline {
            return;
        }
        let mut worker = self.worker.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((sender, _)) = worker.as_ref() {
            if sender.send(loaded.clone()).is_ok() {
                return;
            }
        }
        let (sender, receiver) = mpsc::channel::<Arc<Loaded>>();
        let _ = sender.send(loaded.clone());
        let engine = self.engine.clone();
        let spawned = std::thread::Builder::new().name("vyr-optimize".into()).spawn(move || {
            // Ends once the optimiser is stopped (dropping the sender) and the queue is empty.
            while let Ok(loaded) = receiver.recv() {
                // Cranelift refusing what Winch compiled would be a wasmtime bug: keep the baseline code.
                let optimized = engine.optimize(&loaded.artifact).ok();
                loaded.optimizer_finished(optimized.map(|p| Code { instance_pre: p.instance_pre, tier: p.tier }));
            }
        });
        match spawned {
            Ok(handle) => *worker = Some((sender, handle)),
            // No thread to spare: the artifact keeps its baseline code, which is correct.
            Err(_) => loaded.optimizer_finished(None),
        }
    }

    /// Finishes the queued compiles (so the disk cache holds optimised code for the next
    /// process, e.g. after `vyr artifact put`) and stops the thread.
    pub fn stop(&self) {
        let worker = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((sender, handle)) = worker {
            drop(sender);
            let _ = handle.join();
        }
    }
}
