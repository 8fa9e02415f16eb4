//! Task records: status, result, phase timestamps and usage, and waiting for the end.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cancel::CancelToken;
use crate::digest::Digest;
use crate::engine::Tier;
use crate::error::{Result, VyrError};
use crate::resources::Granted;
use crate::state::{Mode, Ticket};

/// Where a task is in its life. The last six are terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Trapped,
    DeadlineExceeded,
    Cancelled,
    Rejected,
}

impl TaskStatus {
    /// The wire and CLI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Running => "running",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Trapped => "trapped",
            TaskStatus::DeadlineExceeded => "deadline_exceeded",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::Rejected => "rejected",
        }
    }

    /// Whether the task has ended.
    pub fn is_terminal(self) -> bool {
        !matches!(self, TaskStatus::Queued | TaskStatus::Running)
    }
}

/// Unix-nanosecond timestamps of each phase; 0 where a phase was not reached.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Phases {
    pub queued: u64,
    pub artifact_ready: u64,
    /// Got a run slot and its turn on every bound state.
    pub scheduled: u64,
    pub instantiated: u64,
    pub started: u64,
    pub ended: u64,
}

/// What a task consumed.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Usage {
    pub wall_ns: u64,
    pub peak_memory_bytes: u64,
    pub fuel_used: u64,
    /// The artifact had to be compiled (no in-memory or on-disk compiled code).
    pub compiled: bool,
    /// The artifact was loaded for this task (not already in memory): a cold start.
    pub cold: bool,
    /// Which compiler's code ran (None if it never started): baseline (Winch, until
    /// Cranelift's is ready) or optimized.
    pub tier: Option<Tier>,
}

/// The mutable part of a task.
#[derive(Clone, Debug, Serialize)]
pub struct TaskState {
    pub status: TaskStatus,
    pub exit_code: Option<i32>,
    pub trap_code: Option<String>,
    pub reason: String,
    #[serde(skip)]
    pub stdout: Arc<[u8]>,
    #[serde(skip)]
    pub stderr: Arc<[u8]>,
    pub phases: Phases,
    pub usage: Usage,
}

/// A state binding as recorded on a task.
#[derive(Clone, Debug, Serialize)]
pub struct Binding {
    pub state_id: String,
    pub name: String,
    pub mode: Mode,
}

/// One task. Shared between the runtime, its worker and any number of waiters.
pub struct TaskRecord {
    pub id: String,
    pub artifact: Digest,
    pub granted: Granted,
    pub cancel: Arc<CancelToken>,
    tickets: Mutex<Vec<Ticket>>,
    state: Mutex<TaskState>,
    ended: Condvar,
    listeners: Mutex<Vec<Box<dyn FnOnce() + Send>>>,
}

impl std::fmt::Debug for TaskRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRecord").field("id", &self.id).field("artifact", &self.artifact).finish_non_exhaustive()
    }
}

impl TaskRecord {
    pub(crate) fn new(id: String, artifact: Digest, granted: Granted, tickets: Vec<Ticket>) -> Self {
        let state = TaskState {
            status: TaskStatus::Queued,
            exit_code: None,
            trap_code: None,
            reason: String::new(),
            stdout: Arc::from(&[][..]),
            stderr: Arc::from(&[][..]),
            phases: Phases { queued: crate::clock::now_unix_nanos(), ..Phases::default() },
            usage: Usage::default(),
        };
        TaskRecord {
            id,
            artifact,
            granted,
            cancel: Arc::new(CancelToken::default()),
            tickets: Mutex::new(tickets),
            state: Mutex::new(state),
            ended: Condvar::new(),
            listeners: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, TaskState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A snapshot of the task's state.
    pub fn snapshot(&self) -> TaskState {
        self.lock().clone()
    }

    /// The state bindings, in the order they were made.
    pub fn bindings(&self) -> Vec<Binding> {
        self.tickets()
            .iter()
            .map(|t| Binding { state_id: t.state_id.clone(), name: t.name.clone(), mode: t.mode })
            .collect()
    }

    pub(crate) fn tickets(&self) -> MutexGuard<'_, Vec<Ticket>> {
        self.tickets.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Blocks until the task ends or `timeout` passes (`None`: no limit).
    pub fn wait(&self, timeout: Option<Duration>) -> Result<TaskState> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.lock();
        while !state.status.is_terminal() {
            match deadline {
                None => state = self.ended.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(VyrError::WaitTimeout(self.id.clone()));
                    }
                    state = self.ended.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0;
                }
            }
        }
        Ok(state.clone())
    }

    /// Runs `listener` once the task has ended (at once if it already has). Listeners run on
    /// the thread that ends the task, so they must be quick.
    pub fn on_end(&self, listener: Box<dyn FnOnce() + Send>) {
        {
            // Registered under the state lock, so `finish` (which marks the end under that lock
            // before taking the listeners) either sees this listener or we see the end.
            let state = self.lock();
            if !state.status.is_terminal() {
                self.listeners.lock().unwrap_or_else(|p| p.into_inner()).push(listener);
                return;
            }
        }
        listener();
    }

    /// Records the end. Only the first call counts.
    pub(crate) fn finish(&self, update: impl FnOnce(&mut TaskState)) -> bool {
        {
            let mut state = self.lock();
            if state.status.is_terminal() {
                return false;
            }
            update(&mut state);
            debug_assert!(state.status.is_terminal());
            state.phases.ended = crate::clock::now_unix_nanos();
        }
        self.ended.notify_all();
        let listeners = std::mem::take(&mut *self.listeners.lock().unwrap_or_else(|p| p.into_inner()));
        for listener in listeners {
            listener();
        }
        true
    }
}
