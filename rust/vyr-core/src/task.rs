//! Task records: a task's live status and phases while it runs, its outcome once it ended,
//! and waiting for that end.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::cancel::CancelToken;
use crate::clock::now_unix_nanos;
use crate::digest::Digest;
use crate::error::{Result, VyrError};
use crate::outcome::{BoundState, Invocation, Phases, TaskOutcome, TaskStatus, Usage};
use crate::resources::Granted;
use crate::state::Ticket;

/// What changes while a task is queued or running.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Live {
    pub status: TaskStatus,
    pub phases: Phases,
}

/// How a task ended, as the worker reports it; the record turns it into the `TaskOutcome`.
#[derive(Debug)]
pub(crate) struct Ending {
    pub status: TaskStatus,
    pub exit_code: Option<i32>,
    pub trap_code: Option<String>,
    pub reason: String,
    pub stdout: Bytes,
    pub stderr: Bytes,
    pub usage: Usage,
    pub instantiated_ns: u64,
    pub started_ns: u64,
    /// The input, to hash when neither the spec nor the worker has its digest already.
    pub input: Bytes,
    /// The input's digest if the worker computed it (a deterministic run's seed needs it).
    pub input_digest: Option<Digest>,
    /// The state versions each binding saw and left (empty if the guest never started).
    pub versions: Vec<StateVersions>,
}

/// Digests of the state version a binding saw and (for a writer) left behind.
#[derive(Clone, Debug)]
pub(crate) struct StateVersions {
    pub state_id: String,
    pub before: String,
    pub after: Option<String>,
}

impl Ending {
    /// An end before the guest ran (refused, cancelled while queued).
    pub fn before_start(status: TaskStatus, reason: impl Into<String>, input: Bytes) -> Self {
        Ending {
            status,
            exit_code: None,
            trap_code: None,
            reason: reason.into(),
            stdout: Bytes::new(),
            stderr: Bytes::new(),
            usage: Usage::default(),
            instantiated_ns: 0,
            started_ns: 0,
            input,
            input_digest: None,
            versions: Vec::new(),
        }
    }
}

/// One task. Shared between the runtime, its worker and any number of waiters.
pub struct TaskRecord {
    pub id: String,
    pub artifact: Digest,
    pub granted: Granted,
    pub cancel: Arc<CancelToken>,
    pub invocation: Arc<Invocation>,
    /// Whether the outcome goes to the node's ended feed.
    pub publish_end: bool,
    input_digest: Option<Digest>,
    tickets: Mutex<Vec<Ticket>>,
    live: Mutex<Live>,
    outcome: OnceLock<Arc<TaskOutcome>>,
    ended: Condvar,
}

impl std::fmt::Debug for TaskRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRecord").field("id", &self.id).field("artifact", &self.artifact).finish_non_exhaustive()
    }
}

impl TaskRecord {
    pub(crate) fn new(
        id: String,
        artifact: Digest,
        granted: Granted,
        tickets: Vec<Ticket>,
        input_digest: Option<Digest>,
        publish_end: bool,
        invocation: Arc<Invocation>,
    ) -> Self {
        let live =
            Live { status: TaskStatus::Queued, phases: Phases { queued: now_unix_nanos(), ..Phases::default() } };
        TaskRecord {
            id,
            artifact,
            granted,
            cancel: Arc::new(CancelToken::default()),
            invocation,
            publish_end,
            input_digest,
            tickets: Mutex::new(tickets),
            live: Mutex::new(live),
            outcome: OnceLock::new(),
            ended: Condvar::new(),
        }
    }

    pub(crate) fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The input's digest when the submitter gave it.
    pub(crate) fn input_digest(&self) -> Option<Digest> {
        self.input_digest
    }

    /// The current status.
    pub fn status(&self) -> TaskStatus {
        match self.outcome.get() {
            Some(outcome) => outcome.status,
            None => self.live().status,
        }
    }

    /// The outcome once the task has ended.
    pub fn outcome(&self) -> Option<Arc<TaskOutcome>> {
        self.outcome.get().cloned()
    }

    /// The outcome if the task ended, else a snapshot of where it is (no output, no digests).
    pub fn snapshot(&self) -> Arc<TaskOutcome> {
        if let Some(outcome) = self.outcome.get() {
            return outcome.clone();
        }
        let live = *self.live();
        Arc::new(TaskOutcome {
            id: self.id.clone(),
            artifact: self.artifact,
            status: live.status,
            exit_code: None,
            trap_code: None,
            reason: String::new(),
            stdout: Bytes::new(),
            stderr: Bytes::new(),
            stdout_digest: None,
            stderr_digest: None,
            input_digest: self.input_digest,
            phases: live.phases,
            usage: Usage::default(),
            granted: self.granted,
            bindings: self.bindings(),
            invocation: self.invocation.clone(),
        })
    }

    /// The state bindings, in the order they were made.
    pub fn bindings(&self) -> Vec<BoundState> {
        self.tickets().iter().map(Ticket::bound_state).collect()
    }

    pub(crate) fn tickets(&self) -> MutexGuard<'_, Vec<Ticket>> {
        self.tickets.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Blocks until the task ends or `timeout` passes (`None`: no limit).
    pub fn wait(&self, timeout: Option<Duration>) -> Result<Arc<TaskOutcome>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut live = self.live();
        loop {
            if let Some(outcome) = self.outcome.get() {
                return Ok(outcome.clone());
            }
            match deadline {
                None => live = self.ended.wait(live).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(VyrError::WaitTimeout(self.id.clone()));
                    }
                    live = self.ended.wait_timeout(live, left).unwrap_or_else(|p| p.into_inner()).0;
                }
            }
        }
    }

    /// Records the end and wakes the waiters; returns the outcome, or None if the task had
    /// ended already (only the first end counts). Output is hashed here, once. `announce`
    /// sees the outcome before any waiter can: whoever learns of the end can rely on it
    /// having been announced (e.g. published on the ended feed).
    pub(crate) fn finish(&self, ending: Ending, announce: impl FnOnce(&Arc<TaskOutcome>)) -> Option<Arc<TaskOutcome>> {
        let mut live = self.live();
        if self.outcome.get().is_some() {
            return None;
        }
        let mut phases = live.phases;
        phases.instantiated = ending.instantiated_ns;
        phases.started = ending.started_ns;
        phases.ended = now_unix_nanos();
        let start = if phases.instantiated > 0 { phases.artifact_ready } else { phases.queued };
        let mut usage = ending.usage;
        usage.wall_ns = phases.ended.saturating_sub(start);
        let outcome = Arc::new(TaskOutcome {
            id: self.id.clone(),
            artifact: self.artifact,
            status: ending.status,
            exit_code: ending.exit_code,
            trap_code: ending.trap_code,
            reason: ending.reason,
            stdout_digest: Some(Digest::of(&ending.stdout)),
            stderr_digest: Some(Digest::of(&ending.stderr)),
            stdout: ending.stdout,
            stderr: ending.stderr,
            input_digest: Some(self.input_digest.or(ending.input_digest).unwrap_or_else(|| Digest::of(&ending.input))),
            phases,
            usage,
            granted: self.granted,
            bindings: with_versions(self.bindings(), &ending.versions),
            invocation: self.invocation.clone(),
        });
        announce(&outcome);
        live.status = outcome.status;
        live.phases = phases;
        // Set under the live lock: a waiter checks the outcome under the same lock.
        let _ = self.outcome.set(outcome.clone());
        drop(live);
        self.ended.notify_all();
        Some(outcome)
    }
}

/// Adds the digests each binding saw and left to the bindings.
fn with_versions(mut bindings: Vec<BoundState>, versions: &[StateVersions]) -> Vec<BoundState> {
    for binding in &mut bindings {
        if let Some(version) = versions.iter().find(|v| v.state_id == binding.state_id) {
            binding.before = Some(version.before.clone());
            binding.after = version.after.clone();
        }
    }
    bindings
}
