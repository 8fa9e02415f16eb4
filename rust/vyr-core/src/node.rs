//! What a node's parts share: stores, engines, states, loaded artifacts, the task table and the
//! counters admission and the workers use. `Runtime` is the public face over it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};

use tokio::sync::{OnceCell, Semaphore};

use crate::digest::Digest;
use crate::ended_feed::EndedFeed;
use crate::engine::WasmEngine;
use crate::error::{Result, VyrError};
use crate::manifest::Manifest;
use crate::runtime::RuntimeConfig;
use crate::state::StateRegistry;
use crate::store::ArtifactStore;
use crate::task::TaskRecord;
use crate::tiering::{Loaded, Optimizer};
use crate::trust::TrustStore;

pub(crate) struct Shared {
    pub config: RuntimeConfig,
    pub trust: TrustStore,
    pub store: ArtifactStore,
    pub engine: Arc<WasmEngine>,
    pub states: StateRegistry,
    pub loaded: Mutex<HashMap<Digest, Arc<OnceCell<Arc<Loaded>>>>>,
    pub tasks: Mutex<TaskTable>,
    /// Run slots: at most `max_running` tasks execute at once.
    pub running: Semaphore,
    /// Tasks accepted and not yet ended.
    pub active: AtomicUsize,
    /// Of those, the tasks running now.
    pub executing: AtomicUsize,
    pub stopping: AtomicBool,
    pub optimizer: Optimizer,
    pub ended: EndedFeed,
}

/// Tasks remembered for `task`/`wait`, oldest first.
#[derive(Default)]
pub(crate) struct TaskTable {
    pub by_id: HashMap<String, Arc<TaskRecord>>,
    pub order: VecDeque<String>,
}

impl Shared {
    pub fn cell_for(&self, digest: Digest) -> Arc<OnceCell<Arc<Loaded>>> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        loaded.entry(digest).or_default().clone()
    }

    pub fn manifest_of(&self, digest: &Digest) -> Result<Manifest> {
        if let Some(loaded) = self.cell_for(*digest).get() {
            return Ok(loaded.artifact.manifest.clone());
        }
        self.store.read_manifest(digest)
    }

    pub fn task(&self, id: &str) -> Result<Arc<TaskRecord>> {
        let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.by_id.get(id).cloned().ok_or_else(|| VyrError::TaskNotFound(id.to_owned()))
    }

    /// Adds a task to the table, forgetting the oldest ended ones beyond the limit.
    pub fn remember(&self, record: Arc<TaskRecord>) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.order.push_back(record.id.clone());
        tasks.by_id.insert(record.id.clone(), record);
        while tasks.order.len() > self.config.max_finished_tasks {
            let Some(oldest) = tasks.order.front().cloned() else { break };
            let ended = tasks.by_id.get(&oldest).is_none_or(|t| t.status().is_terminal());
            if !ended {
                break;
            }
            tasks.order.pop_front();
            tasks.by_id.remove(&oldest);
        }
    }

    /// The loaded artifact, loading (verify + compile or cache) on first use; the flag says
    /// whether this call loaded it (a cold start).
    pub async fn load(self: &Arc<Self>, digest: Digest) -> Result<(Arc<Loaded>, bool)> {
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
                    shared.optimizer.optimize_later(&loaded);
                    Ok::<_, VyrError>(loaded)
                })
                .await
                .map_err(|e| VyrError::Internal(format!("loader: {e}")))?
            })
            .await?;
        Ok((loaded.clone(), true))
    }
}
